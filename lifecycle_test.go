package mesos

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	neturl "net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/test/fakemaster"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
)

// corefileInput is a Corefile held in memory.
type corefileInput string

func (c corefileInput) Body() []byte       { return []byte(c) }
func (c corefileInput) Path() string       { return "Corefile" }
func (c corefileInput) ServerType() string { return "dns" }

// TestLifecycleInProcess runs the plugin inside a real CoreDNS server in this process,
// so that the race detector sees its poller, the record swaps, the reload hand-off and
// shutdown: reloads under query load lose no query, and stopping leaves no goroutine.
func TestLifecycleInProcess(t *testing.T) {
	saved := dnsserver.Directives
	dnsserver.Directives = []string{"bind", "mesos"}
	t.Cleanup(func() { dnsserver.Directives = saved })
	caddy.Quiet, dnsserver.Quiet = true, true

	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	m := fakemaster.StartT(t, js)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	corefile := func(ttl int) caddy.Input {
		return corefileInput(fmt.Sprintf(".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 100ms\n        ttl %d\n    }\n}\n", port, m.URL(), ttl))
	}
	query := func() (*dns.Msg, error) {
		q := new(dns.Msg)
		q.SetQuestion("test123.marathon.mesos.", dns.TypeA)
		c := &dns.Client{Timeout: 2 * time.Second}
		r, _, err := c.Exchange(q, addr)
		return r, err
	}
	waitTTL := func(ttl uint32) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if r, err := query(); err == nil && len(r.Answer) == 1 && r.Answer[0].Header().Ttl == ttl {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no answer with TTL %d", ttl)
	}

	base := runtime.NumGoroutine()
	inst, err := caddy.Start(corefile(60))
	if err != nil {
		t.Fatal(err)
	}
	waitTTL(60)

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := query()
			sent.Add(1)
			if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				failed.Add(1)
			}
		}
	})
	for ttl := 61; ttl <= 63; ttl++ {
		if inst, err = inst.Restart(corefile(ttl)); err != nil {
			t.Fatal(err)
		}
		waitTTL(uint32(ttl))
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d queries failed across reloads", failed.Load(), sent.Load())
	}
	if errs := inst.ShutdownCallbacks(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	// No stream is left open on the master.
	deadline0 := time.Now().Add(10 * time.Second)
	for m.Streams() != 0 && time.Now().Before(deadline0) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := m.Streams(); n != 0 || m.Subscriptions() < 4 {
		t.Errorf("%d streams open after stop, %d opened across the reloads", n, m.Subscriptions())
	}
	// The block is gone: nothing keeps its records for a later instance.
	handoff.Range(func(k, _ any) bool {
		t.Errorf("hand-off entry %v left after the last instance stopped", k)
		return true
	})
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after stop, %d before start:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// startInProcess starts CoreDNS in this process with corefile (a format with one %d
// for the port) and returns the instance and the server's address.
func startInProcess(t *testing.T, corefile string, args ...any) (*caddy.Instance, string, func(extra ...any) caddy.Input) {
	t.Helper()
	saved := dnsserver.Directives
	dnsserver.Directives = []string{"bind", "mesos"}
	t.Cleanup(func() { dnsserver.Directives = saved })
	caddy.Quiet, dnsserver.Quiet = true, true
	port := freeTCPPort(t)
	input := func(extra ...any) caddy.Input {
		return corefileInput(fmt.Sprintf(corefile, append([]any{port}, extra...)...))
	}
	inst, err := caddy.Start(input(args...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		inst.ShutdownCallbacks()
		inst.Stop()
	})
	return inst, fmt.Sprintf("127.0.0.1:%d", port), input
}

// givenPorts are the ports freeTCPPort handed out: the kernel may offer a closed port
// again at once, and two listeners of one test would then collide.
var givenPorts struct {
	sync.Mutex
	m map[int]bool
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	givenPorts.Lock()
	defer givenPorts.Unlock()
	if givenPorts.m == nil {
		givenPorts.m = map[int]bool{}
	}
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !givenPorts.m[port] {
			givenPorts.m[port] = true
			return port
		}
	}
}

func answers(addr, name string) int {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return -1
	}
	return len(r.Answer)
}

// TestReloadChangingMasters: a reload that points the block at other masters keeps
// serving the old records until the new instance has its own.
func TestReloadChangingMasters(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakemaster.StartT(t, js), fakemaster.StartT(t, js)
	b.SetFault(fakemaster.Slow, 500*time.Millisecond) // the new instance's first state comes late
	conf := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 100ms\n    }\n}\n"
	inst, addr, input := startInProcess(t, conf, a.URL())
	deadline := time.Now().Add(10 * time.Second)
	for answers(addr, "test123.marathon.mesos.") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			if answers(addr, "test123.marathon.mesos.") != 1 {
				failed.Add(1)
			}
		}
	}()
	next, err := inst.Restart(input(b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { next.ShutdownCallbacks(); next.Stop() })
	for b.Hits("/master/state") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	<-done
	if failed.Load() != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d queries failed across a reload that changed the masters", failed.Load(), sent.Load())
	}
}

// TestFailedReloadStopsNewInstances: caddy runs the new instance's OnStartup and then
// fails to start its servers (a port in use); that instance must not keep polling, and
// the live instance's records stay the ones handed on.
func TestFailedReloadStopsNewInstances(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	m := fakemaster.StartT(t, js)
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.LocalAddr().(*net.UDPAddr).Port
	block := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 100ms\n    }\n}\n"
	inst, addr, input := startInProcess(t, block+"%s", m.URL(), "")
	deadline := time.Now().Add(10 * time.Second)
	for answers(addr, "test123.marathon.mesos.") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	live := liveInstances()
	if len(live) != 1 {
		t.Fatalf("%d instances running, want 1", len(live))
	}
	box := live[0].life.handOn
	bad := fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n    }\n}\n", busyPort, m.URL())
	for range 3 {
		if _, err := inst.Restart(input(m.URL(), bad)); err == nil {
			t.Fatal("restart onto a port in use succeeded")
		}
	}
	if got := liveInstances(); len(got) != 1 || got[0] != live[0] {
		t.Errorf("after 3 failed reloads %d instances run, want the 1 live one", len(got))
	}
	if v, ok := handoff.Load(live[0].key); !ok || v.(*handed) != box {
		t.Errorf("the hand-off entry is not the live instance's box")
	}
	before := m.Hits("/master/state")
	time.Sleep(time.Second)
	// One instance polling every 100ms (±10%) makes about 10 requests a second.
	if n := m.Hits("/master/state") - before; n > 15 {
		t.Errorf("%d polls in a second after failed reloads: the new instances still poll", n)
	}
	if answers(addr, "test123.marathon.mesos.") != 1 {
		t.Errorf("the live instance stopped answering")
	}
}

func liveInstances() []*Mesos {
	running.Lock()
	defer running.Unlock()
	out := make([]*Mesos, 0, len(running.list))
	for m := range running.list {
		out = append(out, m)
	}
	return out
}

// TestRefreshReasons: each failure is counted under the reason an operator would look
// for; a certificate the client does not trust is "tls", not "other".
func TestRefreshReasons(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	srv := httptest.NewTLSServer(fm.Handler())
	t.Cleanup(srv.Close)
	fetch := func(url string, timeout time.Duration) error {
		t.Helper()
		u, _ := masterURL(url)
		c, err := master.New(master.Config{Masters: []*neturl.URL{u}, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Fetch(context.Background())
		if err == nil {
			t.Fatalf("%s: fetch succeeded", url)
		}
		return err
	}
	if err := fetch(srv.URL, 2*time.Second); refreshReason(err) != "tls" {
		t.Errorf("untrusted certificate: reason %s (%v)", refreshReason(err), err)
	}
	// Plain http to a TLS port.
	if err := fetch("http://"+srv.Listener.Addr().String(), 2*time.Second); refreshReason(err) != "http_status" && refreshReason(err) != "tls" {
		t.Errorf("http to a TLS port: reason %s (%v)", refreshReason(err), err)
	}
	// https to a plain http master.
	if err := fetch("https://"+strings.TrimPrefix(fm.URL(), "http://"), 2*time.Second); refreshReason(err) != "tls" {
		t.Errorf("https to a plain http master: reason %s (%v)", refreshReason(err), err)
	}
	fm.SetFault(fakemaster.Hang, 0)
	err = fetch(fm.URL(), 300*time.Millisecond)
	if refreshReason(err) != "timeout" || strings.Contains(err.Error(), "does not decode") {
		t.Errorf("hang: reason %s, error %v", refreshReason(err), err)
	}
	fm.SetFault(fakemaster.Malformed, 0)
	if err := fetch(fm.URL(), time.Second); refreshReason(err) != "decode" {
		t.Errorf("malformed: reason %s (%v)", refreshReason(err), err)
	}
	fm.Close()
	if err := fetch(fm.URL(), time.Second); refreshReason(err) != "connection" {
		t.Errorf("closed: reason %s (%v)", refreshReason(err), err)
	}
}

// TestMetricsPerServer: two blocks of the same zone on different servers count their
// refreshes apart.
func TestMetricsPerServer(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakemaster.StartT(t, js), fakemaster.StartT(t, js)
	b.SetFault(fakemaster.ServerError, 0)
	other := freeTCPPort(t)
	block := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 100ms\n    }\n}\n"
	_, addr, _ := startInProcess(t, block+".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 100ms\n    }\n}\n", a.URL(), other, b.URL())
	good := "dns://" + addr
	bad := fmt.Sprintf("dns://127.0.0.1:%d", other)
	value := func(c interface{ Write(*dto.Metric) error }) float64 {
		var m dto.Metric
		c.Write(&m)
		return m.GetCounter().GetValue()
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if value(refreshCount.WithLabelValues(good, "mesos.", "success", "ok")) > 0 && value(refreshCount.WithLabelValues(bad, "mesos.", "error", "http_status")) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := value(refreshCount.WithLabelValues(good, "mesos.", "success", "ok")); v == 0 {
		t.Errorf("%s: no successful refresh counted", good)
	}
	if v := value(refreshCount.WithLabelValues(good, "mesos.", "error", "http_status")); v != 0 {
		t.Errorf("%s: the other server's failures counted here (%v)", good, v)
	}
	if v := value(refreshCount.WithLabelValues(bad, "mesos.", "error", "http_status")); v == 0 {
		t.Errorf("%s: its failures not counted", bad)
	}
	if v := value(refreshCount.WithLabelValues(bad, "mesos.", "success", "ok")); v != 0 {
		t.Errorf("%s: the other server's successes counted here (%v)", bad, v)
	}
}

// TestEventsAndLookupsConcurrently: events applied and published while queries run, under
// the race detector; a name no event touches never fails.
func TestEventsAndLookupsConcurrently(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	m := fakemaster.StartT(t, js)
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n    }\n}\n", m.URL())
	deadline := time.Now().Add(10 * time.Second)
	for answers(addr, "test123.marathon.mesos.") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	fw, agent, _ := marathonAndAgents(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("churn.%d", i)
			m.Emit(fakemaster.TaskRunning(fw, agent, id, "churn"))
			if i >= 5 {
				m.Emit(fakemaster.TaskKilled(fw, fmt.Sprintf("churn.%d", i-5)))
			}
			time.Sleep(time.Millisecond)
		}
	})
	var bad, sent atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if answers(addr, "test123.marathon.mesos.") != 1 {
					bad.Add(1)
				}
				answers(addr, "churn.marathon.mesos.")
			}
		})
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if bad.Load() != 0 || sent.Load() < 50 {
		t.Errorf("%d of %d lookups of an untouched name failed during churn", bad.Load(), sent.Load())
	}
	if n := answers(addr, "churn.marathon.mesos."); n < 1 || n > 6 {
		t.Errorf("churn.marathon.mesos: %d answers, want the last few tasks", n)
	}
}
