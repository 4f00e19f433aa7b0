package mesos

import (
	"context"
	"errors"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/test/fakemaster"
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

// TestFollowWaitsForItsHelpers: when follow returns, the stream's reader and pids
// fetcher have ended; neither outlives the stream it served.
func TestFollowWaitsForItsHelpers(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	u, err := masterURL(fm.URL())
	if err != nil {
		t.Fatal(err)
	}
	client, err := master.New(master.Config{Masters: []*url.URL{u}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := &Mesos{Zones: []string{"mesos."}, cfg: &config{opts: records.DefaultOptions(), resync: time.Hour}}
	m.key.server = "test://" + t.Name()
	m.follower.updater = records.NewUpdater(&m.cfg.opts)
	m.follower.guard = records.NewFailover(time.Minute, time.Second)
	m.follower.handOn = &handed{lastOK: &m.lastOK}
	m.follower.metrics = initMetrics(m.key.server, m.Zones[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		_, err := m.follow(ctx, client)
		ended <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); m.set.Load() == nil || fm.Streams() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream gave no records")
		}
	}
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("follow ended with %v, want context.Canceled", err)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, helper := range []string{"mesos.readEvents", "mesos.fetchPIDs"} {
		if strings.Contains(stacks, helper) {
			t.Errorf("%s outlives follow:\n%s", helper, stacks)
		}
	}
}
