package mesos

import (
	"context"

	"github.com/coredns/coredns/plugin/transfer"
)

// notifier sends DNS NOTIFY for the block's zones through the transfer plugin when the
// serial changes, so that secondaries pull at once instead of at the SOA refresh. One
// notification is in flight at a time, and the changes made meanwhile collapse into
// the next one.
type notifier struct {
	xfer  *transfer.Transfer
	zones []string
	kick  chan struct{}
	sent  func(zone string, err error)
}

func newNotifier(x *transfer.Transfer, zones []string, sent func(string, error)) *notifier {
	return &notifier{xfer: x, zones: zones, kick: make(chan struct{}, 1), sent: sent}
}

// changed asks for a notification; it never blocks.
func (n *notifier) changed() {
	if n == nil {
		return
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run sends the notifications asked for until ctx ends. Transfer.Notify tries each
// secondary three times, synchronously: here, never on the refresh goroutine.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		for _, z := range n.zones {
			if ctx.Err() != nil {
				return
			}
			n.sent(z, n.xfer.Notify(z))
		}
	}
}
