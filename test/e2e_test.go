package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

func mesosBlock(masters string, extra string) string {
	return fmt.Sprintf(`    mesos {
        masters %s
        refresh 300ms
        timeout 200ms
%s
    }`, masters, extra)
}

// expected builds, in this process, the records of what master serves: the answers
// the binary must give.
func expected(t *testing.T, m *fakemaster.Master) *records.Set {
	t.Helper()
	resp, err := http.Get(m.URL() + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	st, err := state.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	o := records.DefaultOptions()
	o.Masters = []string{m.Addr()}
	// The server binds 127.0.0.1: the default NS target ns1 answers with it.
	o.NSAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	return records.Build(context.Background(), st, o, nil)
}

// TestCaptures serves every capture and checks every record of it, name by name, over
// UDP, as the binary answers it.
func TestCaptures(t *testing.T) {
	files, _ := filepath.Glob("../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("%d captures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			js, err := fakemaster.ReadCapture(f)
			if err != nil {
				t.Fatal(err)
			}
			m := startMaster(t, js)
			s := startCoreDNS(t, mesosBlock(m.URL(), ""))
			s.waitReady()
			want := expected(t, m)
			type key struct {
				name  string
				qtype uint16
			}
			rrsets := map[key][]string{}
			want.Walk("mesos.", func(rr dns.RR) bool {
				k := key{rr.Header().Name, rr.Header().Rrtype}
				if k.qtype != dns.TypeSOA {
					rrsets[k] = append(rrsets[k], strings.SplitN(rr.String(), "\t", 5)[4])
				}
				return true
			})
			if len(rrsets) < 3 {
				t.Fatalf("only %d rrsets", len(rrsets))
			}
			for k, w := range rrsets {
				r := ask(t, s.addr, "udp", k.name, k.qtype, 1232)
				got := rdatas(r)
				slices.Sort(got)
				slices.Sort(w)
				if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !slices.Equal(got, w) {
					t.Errorf("%s %s: rcode %s answers %q, want %q", k.name, dns.TypeToString[k.qtype], dns.RcodeToString[r.Rcode], got, w)
				}
				if k.qtype == dns.TypeSRV && len(r.Extra) < 2 { // target addresses + OPT
					t.Errorf("%s SRV: no additional records: %v", k.name, r.Extra)
				}
			}
			r := ask(t, s.addr, "udp", "no-such-task.marathon.mesos.", dns.TypeA, 1232)
			if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
				t.Errorf("NXDOMAIN: %v", r)
			}
			// The same through dig.
			if !haveTool(t, "dig", "dnsutils") {
				return
			}
			out, err := digOutput("@127.0.0.1", "-p", portOf(s.addr), "+short", "leader.mesos")
			if err != nil || strings.TrimSpace(string(out)) != "127.0.0.1" && !strings.HasSuffix(f, "1.2.0-dcos-trimmed.json") {
				t.Errorf("dig leader.mesos: %q %v", out, err)
			}
		})
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func readCapture(t *testing.T) []byte {
	t.Helper()
	js, err := fakemaster.ReadCapture("../testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestLeaderThroughNonLeadingMaster(t *testing.T) {
	for _, mode := range []string{"poll", "stream"} {
		t.Run(mode, func(t *testing.T) { leaderThroughNonLeader(t, mode) })
	}
}

func leaderThroughNonLeader(t *testing.T, mode string) {
	t.Helper()
	js := readCapture(t)
	leader := startMaster(t, js)
	follower := startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	s := startCoreDNS(t, mesosBlock(follower.URL()+" "+leader.URL(), "        mode "+mode))
	s.waitReady()
	_, lport, _ := net.SplitHostPort(leader.Addr())
	r := ask(t, s.addr, "udp", "_leader._tcp.mesos.", dns.TypeSRV, 1232)
	if len(r.Answer) != 1 || fmt.Sprint(r.Answer[0].(*dns.SRV).Port) != lport {
		t.Errorf("_leader._tcp: %v, want port %s", r.Answer, lport)
	}
	path := "/master/state"
	if mode == "stream" {
		path = "/api/v1"
		if leader.Streams() != 1 || follower.Streams() != 0 {
			t.Errorf("streams: leader %d, follower %d", leader.Streams(), follower.Streams())
		}
	}
	if follower.Hits("/master/state") != 0 || leader.Hits(path) == 0 {
		t.Errorf("state fetched from the non-leader (%d) or not from the leader (%d)", follower.Hits("/master/state"), leader.Hits(path))
	}
	// master0 is the first configured master, master1 the leader.
	_, fport, _ := net.SplitHostPort(follower.Addr())
	if r := ask(t, s.addr, "udp", "master1.mesos.", dns.TypeA, 1232); len(r.Answer) != 1 {
		t.Errorf("master1: %v (follower port %s)", r.Answer, fport)
	}
	// Failover: the follower takes over, the old leader redirects to it and its
	// streams end, as when it exits.
	follower.FollowLeader("")
	leader.FollowLeader(follower.Addr())
	leader.DropStreams()
	eventually(t, "the new leader in _leader._tcp", 10*time.Second, func() bool {
		r := ask(t, s.addr, "udp", "_leader._tcp.mesos.", dns.TypeSRV, 1232)
		return len(r.Answer) == 1 && fmt.Sprint(r.Answer[0].(*dns.SRV).Port) == fport
	})
	eventually(t, "a leader change counted", 5*time.Second, func() bool {
		return s.metric("coredns_mesos_leader_changes_total") >= 1
	})
}

// TestMasterFaults: while the master misbehaves the old answers keep coming and the
// metrics say why; when it is back, new answers come.
func TestMasterFaults(t *testing.T) {
	js := readCapture(t)
	m := startMaster(t, js)
	// Polling: every fault shows at the next fetch. The stream's faults have tests of
	// their own.
	s := startCoreDNS(t, mesosBlock(m.URL(), "        mode poll"))
	s.waitReady()
	const name = "test123.marathon.mesos."
	check := func(when string) {
		t.Helper()
		r := ask(t, s.addr, "udp", name, dns.TypeA, 1232)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s: %s %v", when, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	check("healthy")
	faults := []struct {
		fault  fakemaster.Fault
		reason string
	}{
		{fakemaster.ServerError, "http_status"},
		{fakemaster.Unavailable, "no_leader"},
		{fakemaster.Malformed, "decode"},
		{fakemaster.Truncated, "decode"},
		{fakemaster.Empty, "decode"},
		{fakemaster.NoLeader, "no_leader"},
		{fakemaster.Hang, "timeout"},
		{fakemaster.Slow, "timeout"},
	}
	for _, f := range faults {
		before := s.metric("coredns_mesos_refreshes_total", `outcome="error"`, `reason="`+f.reason+`"`)
		m.SetFault(f.fault, time.Minute)
		eventually(t, fmt.Sprintf("%s counted as %s", f.fault, f.reason), 15*time.Second, func() bool {
			return s.metric("coredns_mesos_refreshes_total", `outcome="error"`, `reason="`+f.reason+`"`) >= before+2
		})
		check(string(f.fault))
		m.SetFault(fakemaster.OK, 0)
	}
	// Down: connection refused.
	before := s.metric("coredns_mesos_refreshes_total", `outcome="error"`, `reason="connection"`)
	m.Down()
	eventually(t, "a refused connection counted", 15*time.Second, func() bool {
		return s.metric("coredns_mesos_refreshes_total", `outcome="error"`, `reason="connection"`) >= before+2
	})
	check("master down")
	last := s.metric("coredns_mesos_last_success_timestamp_seconds")
	if last == 0 || float64(time.Now().Unix())-last < 1 {
		t.Errorf("last success %v does not show the outage", last)
	}
	// Back, with a changed state: the new answers come.
	changed := strings.ReplaceAll(string(js), `"name":"test123"`, `"name":"renamed"`)
	m.SetState([]byte(changed))
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new state's answers", 15*time.Second, func() bool {
		r := ask(t, s.addr, "udp", "renamed.marathon.mesos.", dns.TypeA, 1232)
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	})
	if r := ask(t, s.addr, "udp", name, dns.TypeA, 1232); r.Rcode != dns.RcodeNameError {
		t.Errorf("old name after the change: %s", dns.RcodeToString[r.Rcode])
	}
	if s.metric("coredns_mesos_refreshes_total", `outcome="success"`) < 2 {
		t.Error("no success counted")
	}
	// The log: a timeout is not a document that "does not decode"; every failure is one
	// line, however many masters failed; a recovery is logged once, not on every refresh.
	eventually(t, "the recovery logged", 5*time.Second, func() bool { return strings.Contains(s.log.String(), "works again") })
	time.Sleep(time.Second)
	var events []string
	for line := range strings.SplitSeq(s.log.String(), "\n") {
		if strings.HasPrefix(line, m.Addr()) {
			t.Errorf("a log message spans lines: %q", line)
		}
		if strings.Contains(line, "refresh failed (timeout)") && strings.Contains(line, "does not decode") {
			t.Errorf("a timeout logged as a decode error: %q", line)
		}
		switch {
		case strings.Contains(line, "refresh failed"):
			events = append(events, "failed")
		case strings.Contains(line, "works again"):
			if len(events) > 0 && events[len(events)-1] == "recovered" {
				t.Errorf("a recovery logged twice: %q", line)
			}
			events = append(events, "recovered")
		}
	}
}

// TestNotReadyBeforeFirstState: with no master reachable, SERVFAIL, never NXDOMAIN.
func TestNotReadyBeforeFirstState(t *testing.T) {
	m := startMaster(t, readCapture(t))
	m.SetFault(fakemaster.Unavailable, 0)
	s := startCoreDNS(t, mesosBlock(m.URL(), "")+"\n    whoami")
	// Once the server answers (whoami, below the plugin) it has tried the master.
	eventually(t, "the server's first answer", 5*time.Second, func() bool {
		_, err := exchange(s.addr, "udp", "example.org.", dns.TypeA, 1232)
		return err == nil
	})
	resp, err := http.Get("http://" + s.ready + "/ready")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("ready without a state: %s", body)
		}
	}
	r := ask(t, s.addr, "udp", "test123.marathon.mesos.", dns.TypeA, 1232)
	if r.Rcode != dns.RcodeServerFailure {
		t.Errorf("before the first state: %s", dns.RcodeToString[r.Rcode])
	}
	// Names outside the zone go on to the next plugin.
	if r := ask(t, s.addr, "udp", "example.org.", dns.TypeA, 1232); r.Rcode != dns.RcodeSuccess || len(r.Extra) == 0 {
		t.Errorf("outside the zone: %v", r)
	}
	m.SetFault(fakemaster.OK, 0)
	s.waitReady()
	if r := ask(t, s.addr, "udp", "test123.marathon.mesos.", dns.TypeA, 1232); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after the first state: %s", dns.RcodeToString[r.Rcode])
	}
}

// bigState is a cluster with one app of n instances, each with its own address.
func bigState(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"leader":"master@127.0.0.1:5050","slaves":[{"id":"a-S0","pid":"slave(1)@127.0.0.2:5051"}],"frameworks":[{"id":"f","name":"marathon","tasks":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"big.%d","name":"big","slave_id":"a-S0","state":"TASK_RUNNING","resources":{"ports":"[%d-%d]"},`+
			`"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":"127.1.%d.%d"}]}]}}]}`,
			i, 31000+i, 31000+i, i/250, 1+i%250)
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

// wireLen is the size the reply had on the wire: received messages unpack with
// compression off, so Len alone would count them uncompressed.
func wireLen(m *dns.Msg) int {
	c := m.Copy()
	c.Compress = true
	return c.Len()
}

func TestTruncation(t *testing.T) {
	m := startMaster(t, bigState(120))
	s := startCoreDNS(t, mesosBlock(m.URL(), ""))
	s.waitReady()
	const name = "big.marathon.mesos."
	// No EDNS0: 512 octets at most, TC set.
	r := ask(t, s.addr, "udp", name, dns.TypeA, 0)
	if !r.Truncated || wireLen(r) > 512 || len(r.Answer) >= 120 {
		t.Errorf("no EDNS0: tc=%v %d octets %d answers", r.Truncated, wireLen(r), len(r.Answer))
	}
	// EDNS0 1232 (dig's default): cut to 1232, TC set.
	r = ask(t, s.addr, "udp", name, dns.TypeA, 1232)
	if !r.Truncated || wireLen(r) > 1232 || len(r.Answer) >= 120 || r.IsEdns0() == nil {
		t.Errorf("EDNS0 1232: tc=%v %d octets %d answers", r.Truncated, wireLen(r), len(r.Answer))
	}
	// A buffer that fits: everything, no TC.
	r = ask(t, s.addr, "udp", name, dns.TypeA, 4096)
	if r.Truncated || len(r.Answer) != 120 {
		t.Errorf("EDNS0 4096: tc=%v %d answers", r.Truncated, len(r.Answer))
	}
	// TCP: everything, the same answer.
	tcp := ask(t, s.addr, "tcp", name, dns.TypeA, 0)
	if tcp.Truncated || len(tcp.Answer) != 120 || !slices.Equal(rdatas(tcp), rdatas(r)) {
		t.Errorf("TCP: tc=%v %d answers", tcp.Truncated, len(tcp.Answer))
	}
	// SRV with 120 targets over UDP without EDNS0 also fits 512 with TC, and in full over TCP.
	r = ask(t, s.addr, "udp", "_big._tcp.marathon.mesos.", dns.TypeSRV, 0)
	if !r.Truncated || wireLen(r) > 512 {
		t.Errorf("SRV no EDNS0: tc=%v %d octets", r.Truncated, wireLen(r))
	}
	tcp = ask(t, s.addr, "tcp", "_big._tcp.marathon.mesos.", dns.TypeSRV, 0)
	if tcp.Truncated || len(tcp.Answer) != 120 {
		t.Errorf("SRV TCP: tc=%v %d answers", tcp.Truncated, len(tcp.Answer))
	}
	// dig falls back to TCP by itself on TC and gets all of them.
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	out, err := digOutput("@127.0.0.1", "-p", portOf(s.addr), "+short", name)
	if err != nil || len(strings.Fields(string(out))) != 120 {
		t.Errorf("dig: %d addresses, %v", len(strings.Fields(string(out))), err)
	}
	// ANY is answered small (RFC 8482), not with all 120 records.
	r = ask(t, s.addr, "udp", name, dns.TypeANY, 0)
	if r.Truncated || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeHINFO {
		t.Errorf("ANY: %v", r.Answer)
	}
}

// TestReloadUnderLoad reloads the Corefile (SIGUSR1) several times while queries run:
// not one may fail, and no goroutine may be left behind.
func TestReloadUnderLoad(t *testing.T) {
	m := startMaster(t, readCapture(t))
	block := func(ttl int) string { return mesosBlock(m.URL(), fmt.Sprintf("        ttl %d", ttl)) }
	s := startCoreDNS(t, block(60))
	s.waitReady()
	// Let the first refreshes and connections settle before counting goroutines: the
	// baseline is a count that held for half a second.
	base := s.goroutines()
	eventually(t, "a steady goroutine count", 2*time.Second, func() bool {
		time.Sleep(500 * time.Millisecond)
		n := s.goroutines()
		steady := n == base
		base = n
		return steady
	})

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			patient := &dns.Client{Net: "udp", Timeout: 10 * time.Second, UDPSize: 65535}
			q := new(dns.Msg)
			q.SetQuestion("test123.marathon.mesos.", dns.TypeA)
			q.SetEdns0(1232, false)
			deadline := time.Now().Add(10 * time.Minute) // a bound in case stop never comes
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				// A query lost in a reload is never answered; one only slow on a
				// busy machine is, within a timeout this long.
				r, _, err := patient.Exchange(q, s.addr)
				sent.Add(1)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %v", err, r))
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	for i, ttl := range []int{61, 62, 63, 64, 65} {
		s.writeConf(block(ttl))
		s.cmd.Process.Signal(syscall.SIGUSR1)
		want := uint32(ttl)
		eventually(t, fmt.Sprintf("reload %d (ttl %d)", i, ttl), 15*time.Second, func() bool {
			r, err := exchange(s.addr, "udp", "test123.marathon.mesos.", dns.TypeA, 1232)
			return err == nil && len(r.Answer) == 1 && r.Answer[0].Header().Ttl == want
		})
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if sent.Load() < 100 || failed.Load() != 0 {
		t.Errorf("%d of %d queries failed across reloads; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	// Goroutines return to where they were: the old instances' pollers are gone.
	eventually(t, "goroutines back to the baseline", 15*time.Second, func() bool {
		return s.goroutines() <= base+2
	})
}

func TestTransferAXFR(t *testing.T) {
	m := startMaster(t, readCapture(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "")+"\n    transfer {\n        to *\n    }")
	s.waitReady()
	tr := new(dns.Transfer)
	q := new(dns.Msg)
	q.SetAxfr("mesos.")
	ch, err := tr.In(q, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		rrs = append(rrs, env.RR...)
	}
	want := expected(t, m)
	if len(rrs) != want.Len()+3 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Errorf("AXFR: %d records, want %d", len(rrs), want.Len()+3)
	}
}

// TestMalformedPackets: hostile packets get what CoreDNS gives (FORMERR, or nothing),
// never a crash; NOTIFY is not taken for a query; the server answers on afterwards.
func TestMalformedPackets(t *testing.T) {
	m := startMaster(t, readCapture(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), ""))
	s.waitReady()
	q := new(dns.Msg)
	q.SetQuestion("test123.marathon.mesos.", dns.TypeA)
	good, _ := q.Pack()
	two := new(dns.Msg)
	two.Question = []dns.Question{q.Question[0], q.Question[0]}
	twoQ, _ := two.Pack()
	zero := append([]byte(nil), good[:12]...)
	zero[5] = 0 // qdcount 0
	loop := append([]byte(nil), good[:12]...)
	loop = append(loop, 0xc0, 12, 0, 1, 0, 1) // a name that points at itself
	packets := map[string][]byte{
		"qdcount 0":        zero,
		"qdcount 2":        twoQ,
		"compression loop": loop,
		"truncated header": good[:7],
		"truncated name":   good[:20],
		"empty":            {},
	}
	for name, p := range packets {
		c, err := net.Dial("udp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write(p)
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		c.Close()
		if err == nil {
			r := new(dns.Msg)
			if uerr := r.Unpack(buf[:n]); uerr == nil && r.Rcode != dns.RcodeFormatError && r.Rcode != dns.RcodeServerFailure {
				t.Errorf("%s: answered %s, want FORMERR or nothing", name, dns.RcodeToString[r.Rcode])
			}
		}
	}
	// Odd class: answered as CoreDNS's file plugin does, without a crash.
	ch := new(dns.Msg)
	ch.SetQuestion("test123.marathon.mesos.", dns.TypeA)
	ch.Question[0].Qclass = dns.ClassCHAOS
	if _, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(ch, s.addr); err != nil {
		t.Errorf("CHAOS class: %v", err)
	}
	// NOTIFY is not a query.
	n := new(dns.Msg)
	n.SetNotify("mesos.")
	if r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(n, s.addr); err != nil || r.Rcode != dns.RcodeNotImplemented || len(r.Answer) != 0 {
		t.Errorf("NOTIFY: %v %v", r, err)
	}
	if r := ask(t, s.addr, "udp", "test123.marathon.mesos.", dns.TypeA, 1232); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("after the hostile packets: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
}
