package mesos

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// While a NOTIFY round is in flight, any number of changes make one round more, not
// one each.
func TestNotifierCollapsesBursts(t *testing.T) {
	release := make(chan struct{})
	var rounds atomic.Int32
	n := newNotifier(nil, []string{"mesos."}, func(string, error) {
		if rounds.Add(1) == 1 {
			<-release
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.run(ctx); close(done) }()
	n.changed()
	for rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 100 {
		n.changed()
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for rounds.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if r := rounds.Load(); r != 2 {
		t.Errorf("%d rounds, want 2", r)
	}
	cancel()
	<-done
	var nilNotifier *notifier
	nilNotifier.changed() // a block without transfer: nothing to do, no panic
}
