package mesos

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
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
	wg.Add(1)
	go func() {
		defer wg.Done()
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
	}()
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
