package mesos

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/rcode"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// notifier sends DNS NOTIFY for the block's zones to the secondaries the transfer
// plugin lists when the serial changes, so that they pull at once instead of at the SOA
// refresh. Rounds are coalesced in time: the first change after a quiet interval is
// notified at once, later ones at most one round an interval, and the last change of a
// burst always has a round after it. Each secondary of each zone has a goroutine of its
// own, so that one that does not answer delays no other; the rounds asked of it while it
// is busy collapse into one.
type notifier struct {
	interval time.Duration
	kick     chan struct{}
	targets  []*notifyTarget
	// soa returns the zone's SOA as served now, sent in the NOTIFY as RFC 1996 §3.7's
	// hint; nil before the first records.
	soa func(zone string) *dns.SOA
	// sent reports the result of one NOTIFY to one secondary (with its retries).
	sent func(zone string, err error)
	// senders are the targets' goroutines; run waits for them.
	senders sync.WaitGroup
}

// notifyTarget is one secondary of one zone.
type notifyTarget struct {
	zone string
	to   string // host:port; "" sends through Transfer.Notify, to every secondary in turn
	from net.IP // the transfer block's source address, if any
	kick chan struct{}
	// send sends one NOTIFY, with retries.
	send func(ctx context.Context) error
}

// NOTIFY is sent as the transfer plugin sends it: over UDP, three tries of 2 s each.
// A secondary that answers, with any rcode, is not asked again.
const notifyTries = 3

// notifyTimeout bounds one try; a variable, so that a test can hold a try open.
var notifyTimeout = 2 * time.Second

// newNotifier prepares the NOTIFYs of zones to the secondaries x lists. It returns nil
// when no zone has a secondary: there is nothing to send, and nothing to count.
func newNotifier(x *transfer.Transfer, zones []string, interval time.Duration, soa func(string) *dns.SOA, sent func(string, error)) *notifier {
	if x == nil {
		return nil
	}
	n := &notifier{interval: interval, kick: make(chan struct{}, 1), soa: soa, sent: sent}
	for _, z := range zones {
		to, from, ok := secondaries(x, z)
		if !ok {
			// Not where this CoreDNS keeps them: the plugin sends, one secondary after
			// the other.
			log.Warningf("cannot read the transfer plugin's secondaries: NOTIFY for %s goes through it, one secondary at a time", z)
			t := &notifyTarget{zone: z, kick: make(chan struct{}, 1)}
			t.send = func(context.Context) error { return x.Notify(z) }
			n.targets = append(n.targets, t)
			continue
		}
		for _, a := range to {
			t := &notifyTarget{zone: z, to: a, from: from, kick: make(chan struct{}, 1)}
			t.send = func(ctx context.Context) error { return n.notify(ctx, t) }
			n.targets = append(n.targets, t)
		}
	}
	if len(n.targets) == 0 {
		return nil
	}
	return n
}

// notifier prepares the block's NOTIFYs to the secondaries of the transfer plugin x,
// nil when there is none, and creates their series: a NOTIFY is counted under the zone
// it was for, on the block's server.
func (m *Mesos) notifier(x *transfer.Transfer) *notifier {
	sent := notifies.MustCurryWith(prometheus.Labels{"server": m.key.server})
	n := newNotifier(x, m.Zones, m.cfg.notifyInterval, m.servedSOA, func(zone string, err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		sent.WithLabelValues(zone, result).Inc()
	})
	for _, z := range n.zones() {
		sent.WithLabelValues(z, "ok")
		sent.WithLabelValues(z, "error")
	}
	return n
}

// servedSOA is zone's SOA as served now, nil before the first records.
func (m *Mesos) servedSOA(zone string) *dns.SOA {
	if s := m.set.Load(); s != nil {
		return s.SOA(zone)
	}
	return nil
}

// zones are the zones that have a secondary, in the block's order.
func (n *notifier) zones() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, t := range n.targets {
		if !slices.Contains(out, t.zone) {
			out = append(out, t.zone)
		}
	}
	return out
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

// run starts a round when a change asks for one, at most one per interval, until ctx
// ends; then it waits for the senders.
func (n *notifier) run(ctx context.Context) {
	for _, t := range n.targets {
		n.senders.Go(func() { n.follow(ctx, t) })
	}
	defer n.senders.Wait()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		if wait := time.Until(last.Add(n.interval)); !last.IsZero() && wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			// The changes made meanwhile are in this round: each NOTIFY carries the
			// SOA as it is when it is sent.
			select {
			case <-n.kick:
			default:
			}
		}
		last = time.Now()
		for _, t := range n.targets {
			select {
			case t.kick <- struct{}{}:
			default:
			}
		}
	}
}

// follow sends t's NOTIFYs until ctx ends. A failure is logged when it starts and when
// it ends, not each round: a secondary that refuses a zone would log every second.
func (n *notifier) follow(ctx context.Context, t *notifyTarget) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		}
		err := t.send(ctx)
		if ctx.Err() != nil {
			return
		}
		n.sent(t.zone, err)
		switch {
		case err != nil && !failing:
			log.Warningf("NOTIFY for %s: %v (logged again when it is accepted)", t.zone, err)
		case err == nil && failing:
			to := t.to
			if to == "" {
				to = "its secondaries"
			}
			log.Infof("NOTIFY for %s is accepted again by %s", t.zone, to)
		}
		failing = err != nil
	}
}

// notify sends the NOTIFY of t's zone to t's secondary, with the SOA as it is now.
func (n *notifier) notify(ctx context.Context, t *notifyTarget) error {
	m := new(dns.Msg)
	m.SetNotify(t.zone)
	if soa := n.soa(t.zone); soa != nil {
		m.Answer = []dns.RR{soa}
	}
	var err error
	for range notifyTries {
		var r *dns.Msg
		if r, err = exchangeNotify(ctx, m, t.to, t.from); ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			continue
		}
		if r.Rcode != dns.RcodeSuccess {
			return fmt.Errorf("%s refused it: %s", t.to, rcode.ToString(r.Rcode))
		}
		return nil
	}
	return fmt.Errorf("%s did not answer %d tries: %w", t.to, notifyTries, err)
}

// exchangeNotify sends m to addr over UDP from source (any when nil) and reads the
// answer; ctx's end cuts the wait short.
func exchangeNotify(ctx context.Context, m *dns.Msg, addr string, source net.IP) (*dns.Msg, error) {
	d := net.Dialer{Timeout: notifyTimeout}
	if source != nil {
		d.LocalAddr = &net.UDPAddr{IP: source}
	}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := &dns.Client{Timeout: notifyTimeout}
	r, _, err := c.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn})
	return r, err
}

// secondaries are the addresses the transfer plugin sends zone's NOTIFY to, and the
// source address it sends from, found as Transfer.Notify finds them: the transfer
// block whose zone is the longest match, its "to" hosts but "*". The plugin keeps them
// unexported (in CoreDNS v1.15.0, Transfer.xfrs, each with Zones, to and source) and
// sends to one after the other; they are read here, never changed. ok is false when
// they are not where this looks for them.
func secondaries(x *transfer.Transfer, zone string) (to []string, source net.IP, ok bool) {
	xfrs := reflect.ValueOf(x).Elem().FieldByName("xfrs")
	if xfrs.Kind() != reflect.Slice {
		return nil, nil, false
	}
	best := ""
	for i := range xfrs.Len() {
		p := xfrs.Index(i)
		if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
			return nil, nil, false
		}
		b := p.Elem()
		zones, ok1 := stringsOf(b.FieldByName("Zones"))
		hosts, ok2 := stringsOf(b.FieldByName("to"))
		src := b.FieldByName("source")
		if !ok1 || !ok2 || src.Kind() != reflect.Slice || src.Type().Elem().Kind() != reflect.Uint8 {
			return nil, nil, false
		}
		z := plugin.Zones(zones).Matches(zone)
		if z == "" || len(z) < len(best) || (len(z) == len(best) && z <= best) {
			continue
		}
		best, to, source = z, nil, nil
		for _, h := range hosts {
			if h != "*" {
				to = append(to, h)
			}
		}
		if src.Len() > 0 {
			source = net.IP(slices.Clone(src.Bytes()))
		}
	}
	return to, source, true
}

// stringsOf reads a []string field, exported or not.
func stringsOf(v reflect.Value) ([]string, bool) {
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.String {
		return nil, false
	}
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out, true
}
