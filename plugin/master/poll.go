package master

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// Poller fetches the state on an interval. After a failure it retries sooner, backing
// off exponentially up to the interval, so a master outage is noticed and recovered
// from quickly without hammering the masters.
type Poller struct {
	Client   *Client
	Interval time.Duration
	// MinBackoff is the first retry delay after a failure (1s when zero).
	MinBackoff time.Duration
	// Jitter spreads polls of several replicas: each delay is scaled by a random
	// factor in [1-Jitter, 1+Jitter].
	Jitter float64
	// OnResult is called with every good state, and returns how soon to poll again
	// (0: after Interval; never later than Interval); OnError is called with every failed fetch.
	OnResult func(*Result, time.Duration) time.Duration
	OnError  func(error, time.Duration)
	// Decoder, when set, gives the decoder of each poll's state (nil: state.Decode).
	Decoder func() Decoder
	// Wake, when it yields, ends the wait for the next poll: ZooKeeper naming another
	// leader is worth a poll now, not at the next interval.
	Wake <-chan struct{}
}

// Run polls until ctx is done. The first fetch happens at once.
func (p *Poller) Run(ctx context.Context) {
	minB := p.MinBackoff
	if minB <= 0 {
		minB = time.Second
	}
	backoff := minB
	for {
		start := time.Now()
		decode := Decoder(state.Decode)
		if p.Decoder != nil {
			if d := p.Decoder(); d != nil {
				decode = d
			}
		}
		r, err := p.Client.FetchWith(ctx, decode)
		took := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		delay := p.Interval
		if err != nil {
			if p.OnError != nil {
				p.OnError(err, took)
			}
			delay = min(backoff, p.Interval)
			backoff = min(backoff*2, p.Interval)
		} else {
			backoff = minB
			if p.OnResult != nil {
				if soon := p.OnResult(r, took); soon > 0 && soon < delay {
					delay = soon
				}
			}
		}
		if p.Jitter > 0 {
			delay = time.Duration(float64(delay) * (1 + p.Jitter*(2*rand.Float64()-1))) // #nosec G404 -- jitter, not a secret
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-p.Wake:
			t.Stop()
		}
	}
}
