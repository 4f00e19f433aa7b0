package mesos

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// While a NOTIFY to a secondary is in flight, any number of rounds make one NOTIFY
// more to it, not one each.
func TestNotifierCollapsesWhileSending(t *testing.T) {
	release := make(chan struct{})
	var sends atomic.Int32
	n := &notifier{kick: make(chan struct{}, 1), sent: func(string, error) {}}
	n.targets = []*notifyTarget{{zone: "mesos.", kick: make(chan struct{}, 1), send: func(context.Context) error {
		if sends.Add(1) == 1 {
			<-release
		}
		return nil
	}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.run(ctx); close(done) }()
	n.changed()
	for sends.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 100 {
		n.changed()
		time.Sleep(100 * time.Microsecond) // let the rounds go out
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for sends.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if r := sends.Load(); r != 2 {
		t.Errorf("%d NOTIFYs, want 2", r)
	}
	cancel()
	<-done
	var nilNotifier *notifier
	nilNotifier.changed() // a block without transfer: nothing to do, no panic
}

// TestSecondariesOfTransfer: the secondaries are read from the transfer plugin as it
// finds them for a zone (the longest match, no "*"), with its source address; a
// zone it does not cover has none, and no notifier.
func TestSecondariesOfTransfer(t *testing.T) {
	setup, err := caddy.DirectiveAction("dns", "transfer")
	if err != nil {
		t.Fatal(err)
	}
	c := caddy.NewTestController("dns", `transfer mesos. {
		to 192.0.2.1 192.0.2.2:5300 *
		source 127.0.0.1
	}
	transfer in-addr.arpa. {
		to 192.0.2.3
	}
	transfer 10.in-addr.arpa. {
		to *
	}`)
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
	x := dnsserver.GetConfig(c).Plugin[0](nil).(*transfer.Transfer)
	for zone, want := range map[string]string{
		"mesos.":             "192.0.2.1:53 192.0.2.2:5300 from 127.0.0.1",
		"marathon.mesos.":    "192.0.2.1:53 192.0.2.2:5300 from 127.0.0.1",
		"in-addr.arpa.":      "192.0.2.3:53",
		"1.in-addr.arpa.":    "192.0.2.3:53",
		"10.in-addr.arpa.":   "", // "*" only: anyone may transfer, no one is notified
		"example.org.":       "",
		"0.10.in-addr.arpa.": "",
	} {
		to, from, ok := secondaries(x, zone)
		got := strings.Join(to, " ")
		if from != nil {
			got += " from " + from.String()
		}
		if !ok || got != want {
			t.Errorf("%s: %q (%v), want %q", zone, got, ok, want)
		}
	}
	if n := newNotifier(x, []string{"example.org.", "10.in-addr.arpa."}, time.Second, nil, nil); n != nil {
		t.Errorf("a notifier with %d targets for zones without secondaries", len(n.targets))
	}
	if n := newNotifier(x, []string{"mesos.", "1.in-addr.arpa.", "example.org."}, time.Second, nil, nil); n == nil || len(n.targets) != 3 || !slices.Equal(n.zones(), []string{"mesos.", "1.in-addr.arpa."}) {
		t.Errorf("notifier targets for mesos. 1.in-addr.arpa. example.org.: %v", n)
	}
}

// secondary is a DNS server on loopback standing in for a zone's secondary: it
// acknowledges the NOTIFYs for the zones it serves, refuses the others, and keeps each
// one it received.
type secondary struct {
	addr  string
	serve []string // the zones it acknowledges; every zone when empty
	mu    sync.Mutex
	got   []notice
}

// notice is one NOTIFY a secondary received: its zone and the serial of the SOA it
// carried (0 without one).
type notice struct {
	zone   string
	serial uint32
}

func startSecondary(t *testing.T, serve ...string) *secondary {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &secondary{addr: pc.LocalAddr().String(), serve: serve}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Opcode != dns.OpcodeNotify || len(r.Question) != 1 {
			m.Rcode = dns.RcodeRefused
			w.WriteMsg(m)
			return
		}
		n := notice{zone: r.Question[0].Name}
		if len(r.Answer) == 1 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok {
				n.serial = soa.Serial
			}
		}
		s.mu.Lock()
		s.got = append(s.got, n)
		s.mu.Unlock()
		if len(s.serve) > 0 && !slices.Contains(s.serve, n.zone) {
			m.Rcode = dns.RcodeRefused
		}
		m.Authoritative = true
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

// received returns the NOTIFYs received so far for zone.
func (s *secondary) received(zone string) []notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notice
	for _, n := range s.got {
		if n.zone == zone {
			out = append(out, n)
		}
	}
	return out
}

// deadSecondary is a loopback address that reads NOTIFYs and never answers: a
// secondary that is down, or a firewall that drops. It counts the packets.
type deadSecondary struct {
	addr string
	n    atomic.Int32
}

func startDeadSecondary(t *testing.T) *deadSecondary {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &deadSecondary{addr: pc.LocalAddr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			d.n.Add(1)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return d
}

// startWithTransfer is startInProcess with CoreDNS's transfer plugin in front of mesos.
func startWithTransfer(t *testing.T, corefile string, args ...any) (addr, server string) {
	t.Helper()
	saved := dnsserver.Directives
	dnsserver.Directives = []string{"bind", "transfer", "mesos"}
	t.Cleanup(func() { dnsserver.Directives = saved })
	caddy.Quiet, dnsserver.Quiet = true, true
	port := freeTCPPort(t)
	inst, err := caddy.Start(corefileInput(fmt.Sprintf(corefile, append([]any{port}, args...)...)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		inst.ShutdownCallbacks()
		inst.Stop()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	return addr, "dns://" + addr
}

// waitUntil polls cond until it holds, failing the test after a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// serialOf is the SOA serial the server at addr gives for zone.
func serialOf(t *testing.T, addr, zone string) uint32 {
	t.Helper()
	r := exchange(t, addr, zone, dns.TypeSOA)
	if len(r.Answer) != 1 {
		t.Fatalf("SOA %s: %v", zone, r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// TestNotifyBurstCoalesced: a burst of changes makes at most one NOTIFY round per
// notify_interval (250 ms by default), not one per change, and the last change of the
// burst is notified: the last NOTIFY carries the final serial.
func TestNotifyBurstCoalesced(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	sec := startSecondary(t)
	addr, _ := startWithTransfer(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n    }\n    transfer mesos {\n        to %s\n    }\n}\n", fm.URL(), sec.addr)
	waitUntil(t, "a NOTIFY for the first records", func() bool { return len(sec.received("mesos.")) > 0 })
	before := len(sec.received("mesos."))

	fw, agent, _ := marathonAndAgents(t)
	const changes = 400
	start := time.Now()
	for i := range changes {
		fm.Emit(fakemaster.TaskRunning(fw, agent, fmt.Sprintf("burst.%d", i), fmt.Sprintf("burst-%d", i)))
		time.Sleep(5 * time.Millisecond) // a burst that lasts, not one publication
	}
	last := fmt.Sprintf("burst-%d.marathon.mesos.", changes-1)
	waitUntil(t, "the last change served", func() bool { return answers(addr, last) == 1 })
	final := serialOf(t, addr, "mesos.")
	lastNotified := func() uint32 {
		got := sec.received("mesos.")
		return got[len(got)-1].serial
	}
	deadline := time.Now().Add(30 * time.Second)
	for lastNotified() != final && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	if s := lastNotified(); s != final {
		t.Errorf("the last NOTIFY carried serial %d, the final serial is %d", s, final)
	}
	// One round at once, then at most one an interval for as long as the burst and
	// its last round took, and one for a round under way at the start.
	n := len(sec.received("mesos.")) - before
	if bound := int(took/defaultNotifyInterval) + 2; n > bound || n == 0 {
		t.Errorf("%d changes in %v made %d NOTIFYs, want 1 to %d", changes, took.Round(time.Millisecond), n, bound)
	}
	t.Logf("%d changes in %v: %d NOTIFYs", changes, took.Round(time.Millisecond), n)
}

// TestNotifyDeadSecondaryDelaysNoOther: a secondary that never answers, listed first,
// does not hold back the NOTIFY of the live one behind it, in the first round or the
// next: the live one gets both while the dead one is still on its first try.
func TestNotifyDeadSecondaryDelaysNoOther(t *testing.T) {
	saved := notifyTimeout
	notifyTimeout = time.Minute // the dead secondary's first try outlasts the test
	t.Cleanup(func() { notifyTimeout = saved })
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	dead, live := startDeadSecondary(t), startSecondary(t)
	addr, _ := startWithTransfer(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n    }\n    transfer mesos {\n        to %s %s\n    }\n}\n", fm.URL(), dead.addr, live.addr)
	waitUntil(t, "a NOTIFY at the live secondary", func() bool { return len(live.received("mesos.")) > 0 })
	if n := dead.n.Load(); n > 1 {
		t.Errorf("the live secondary got its NOTIFY after %d tries at the dead one", n)
	}

	fw, agent, _ := marathonAndAgents(t)
	fm.Emit(fakemaster.TaskRunning(fw, agent, "late.1", "late"))
	waitUntil(t, "the change served", func() bool { return answers(addr, "late.marathon.mesos.") == 1 })
	final := serialOf(t, addr, "mesos.")
	waitUntil(t, "the change notified to the live secondary", func() bool {
		return slices.ContainsFunc(live.received("mesos."), func(n notice) bool { return n.serial == final })
	})
	if n := dead.n.Load(); n > 1 {
		t.Errorf("the dead secondary got %d tries: the next round waited for it", n)
	}
}

// TestNotifyCountedByZone: with an unscoped transfer block, the reverse zone is notified
// too; a secondary that serves only the forward zone refuses it, and the refusal is
// counted under the reverse zone, not under the block's first zone.
func TestNotifyCountedByZone(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	sec := startSecondary(t, "mesos.")
	_, server := startWithTransfer(t, ".:%d {\n    bind 127.0.0.1\n    mesos mesos. in-addr.arpa. {\n        masters %s\n    }\n    transfer {\n        to %s\n    }\n}\n", fm.URL(), sec.addr)
	waitUntil(t, "NOTIFYs for both zones", func() bool {
		return len(sec.received("mesos.")) > 0 && len(sec.received("in-addr.arpa.")) > 0
	})
	fwdOK, revErr := notifies.WithLabelValues(server, "mesos.", "ok"), notifies.WithLabelValues(server, "in-addr.arpa.", "error")
	deadline := time.Now().Add(30 * time.Second)
	for (counter(fwdOK) == 0 || counter(revErr) == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if counter(fwdOK) == 0 || counter(revErr) == 0 {
		t.Errorf("notifies_total: mesos. ok %v, in-addr.arpa. error %v, want both counted", counter(fwdOK), counter(revErr))
	}
	if n := counter(notifies.WithLabelValues(server, "mesos.", "error")); n != 0 {
		t.Errorf("notifies_total{zone=mesos., result=error} = %v: the refusals of another zone", n)
	}
}

// TestNotifyCountsOnlySecondaries: a zone the transfer block does not cover has no
// secondary, and nothing is counted for it: notifies_total counts NOTIFYs a secondary
// was sent.
func TestNotifyCountsOnlySecondaries(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	sec := startSecondary(t)
	// mesos. comes first and has no secondary; in-addr.arpa. has one.
	_, server := startWithTransfer(t, ".:%d {\n    bind 127.0.0.1\n    mesos mesos. in-addr.arpa. {\n        masters %s\n    }\n    transfer in-addr.arpa. {\n        to %s\n    }\n}\n", fm.URL(), sec.addr)
	waitUntil(t, "a NOTIFY for the reverse zone", func() bool { return len(sec.received("in-addr.arpa.")) > 0 })
	// The series exist for the zone with a secondary, and only for it.
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "coredns_mesos_notifies_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["server"] == server {
				series[labels["zone"]+" "+labels["result"]] = true
			}
		}
	}
	if !series["in-addr.arpa. ok"] || !series["in-addr.arpa. error"] || series["mesos. ok"] || series["mesos. error"] {
		t.Errorf("notifies_total series %v, want in-addr.arpa. ok and error only", series)
	}
	total := func() float64 {
		var sum float64
		for _, z := range []string{"mesos.", "in-addr.arpa."} {
			for _, r := range []string{"ok", "error"} {
				sum += counter(notifies.WithLabelValues(server, z, r))
			}
		}
		return sum
	}
	waitUntil(t, "the NOTIFY counted", func() bool { return total() >= float64(len(sec.received("in-addr.arpa."))) })
	if n := counter(notifies.WithLabelValues(server, "mesos.", "ok")); n != 0 {
		t.Errorf("notifies_total{zone=mesos., result=ok} = %v for a zone without secondaries", n)
	}
	if got, sent := total(), len(sec.received("in-addr.arpa.")); got != float64(sent) {
		t.Errorf("notifies_total adds up to %v, the secondary received %d", got, sent)
	}
}

func TestParseNotifyInterval(t *testing.T) {
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\n}")
	if err != nil || m.cfg.notifyInterval != 250*time.Millisecond {
		t.Fatalf("default: %v, %v", m.cfg.notifyInterval, err)
	}
	for in, want := range map[string]time.Duration{"250ms": 250 * time.Millisecond, "5": 5 * time.Second, "1m": time.Minute} {
		m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nnotify_interval "+in+"\n}")
		if err != nil || m.cfg.notifyInterval != want {
			t.Errorf("notify_interval %s: %v, %v", in, m.cfg.notifyInterval, err)
		}
	}
	for in, want := range map[string]string{
		"":      "notify_interval needs one duration",
		"1s 2s": "notify_interval needs one duration",
		"soon":  `notify_interval: "soon" is not a duration`,
		"1ms":   "notify_interval: 1ms is out of range",
		"-1s":   "notify_interval: -1s is out of range",
	} {
		_, err := parseBlock(t, "mesos {\n    masters 10.0.0.1\n    notify_interval "+in+"\n}")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Testfile:3") {
			t.Errorf("notify_interval %q: error %v, want line 3 and %q", in, err, want)
		}
	}
}
