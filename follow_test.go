package mesos

import (
	"testing"
	"time"
)

// TestRetry: a leader change, and the first attempt after a stream that got its
// snapshot, go on at once, whatever came before; a stream that cannot open backs off.
func TestRetry(t *testing.T) {
	refresh := 30 * time.Second
	cases := []struct {
		reason     string
		subscribed bool
		lived      time.Duration
		backoff    time.Duration
		delay      time.Duration
		next       time.Duration
	}{
		{"leader_change", true, 10 * time.Second, 8 * time.Second, 0, time.Second},
		{"leader_change", false, 0, 8 * time.Second, 0, time.Second},
		{"second_look", true, 3 * time.Second, 4 * time.Second, 0, time.Second},
		{"resync", true, 5 * time.Minute, time.Second, 0, time.Second},
		// A master failing over closes the stream: the next one at once, even if the
		// last reconnect was under a minute ago.
		{"closed", true, 20 * time.Second, 4 * time.Second, 0, time.Second},
		// A master that closes every stream soon: no loop of snapshots.
		{"closed", true, 100 * time.Millisecond, time.Second, time.Second, 2 * time.Second},
		{"closed", true, 5 * time.Second, time.Second, time.Second, 2 * time.Second},
		// Streams that cannot open back off up to refresh.
		{"connect", false, 0, time.Second, time.Second, 2 * time.Second},
		{"connect", false, 0, 16 * time.Second, 16 * time.Second, refresh},
		{"connect", false, 0, refresh, refresh, refresh},
	}
	for _, c := range cases {
		d, n := retry(c.reason, c.subscribed, c.lived, c.backoff, refresh)
		if d != c.delay || n != c.next {
			t.Errorf("retry(%s, subscribed %v, lived %v, backoff %v) = %v then %v, want %v then %v",
				c.reason, c.subscribed, c.lived, c.backoff, d, n, c.delay, c.next)
		}
	}
}
