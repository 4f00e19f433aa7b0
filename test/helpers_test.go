// Package e2e runs the real CoreDNS binary with the mesos plugin against fake Mesos
// masters on loopback, and asks it questions with real DNS clients (miekg/dns, dig).
package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

var corednsBin, watchBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mesos-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corednsBin = filepath.Join(dir, "coredns")
	build := exec.Command("go", "build", "-o", corednsBin, "../cmd/coredns")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building coredns:", err)
		os.Exit(1)
	}
	watchBin = filepath.Join(dir, "mesos-watch")
	build = exec.Command("go", "build", "-o", watchBin, "../cmd/mesos-watch")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building mesos-watch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testAll is set by README's test command (and CI): a test that lacks what it needs
// then fails instead of skipping, so that nothing skipped passes for tested.
var testAll = os.Getenv("MESOS_TEST_ALL") != ""

// missing skips t, or fails it under MESOS_TEST_ALL, for want of what.
func missing(tb testing.TB, what string) {
	tb.Helper()
	if testAll {
		tb.Fatalf("needs %s (MESOS_TEST_ALL is set)", what)
	}
	tb.Skipf("SKIPPED, not passed: needs %s; MESOS_TEST_ALL=1 makes this a failure", what)
}

// haveTool reports whether the command is on PATH; when it is not, t is skipped (or
// failed under MESOS_TEST_ALL) and haveTool returns false.
func haveTool(tb testing.TB, cmd, pkg string) bool {
	tb.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		missing(tb, cmd+" (Debian: apt-get install "+pkg+")")
		return false
	}
	return true
}

// digOutput runs dig with args and returns its standard output, less the warnings
// dig prints about a datagram it set aside: one whose ID is not its query's (";;
// Warning: ID mismatch", then ";; Warning: query response not set" when that datagram
// was itself a query). dig goes on waiting for its answer then. The servers of tests
// running beside this one, in this package or another, send to loopback ports the
// kernel handed out, which a dig may hold by then: a NOTIFY retried after its test's
// secondary stopped is such a datagram. Every other warning stays, for the caller to
// see: a reply to dig's own query without the QR bit is a fault of the server's.
func digOutput(args ...string) ([]byte, error) {
	out, err := exec.Command("dig", args...).Output()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	var kept []byte
	setAside := false
	for line := range bytes.Lines(out) {
		switch {
		case bytes.HasPrefix(line, []byte(";; Warning: ID mismatch")):
			setAside = true
			continue
		case setAside && bytes.HasPrefix(line, []byte(";; Warning: query response not set")):
			continue
		}
		setAside = false
		kept = append(kept, line...)
	}
	return kept, err
}

// TestDigOutputSetsAsideStrays: a query of another's that reaches dig's port before
// its answer leaves no trace in digOutput; an answer to dig's own query without the QR
// bit still shows its warning.
func TestDigOutputSetsAsideStrays(t *testing.T) {
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			reply := new(dns.Msg)
			reply.SetReply(q)
			reply.Answer = []dns.RR{&dns.A{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
				A:   net.IPv4(127, 0, 0, 9),
			}}
			if q.Question[0].Name == "stray.test." {
				// A NOTIFY, as a server retrying it to a port dig now holds sends.
				stray := new(dns.Msg)
				stray.SetNotify("test.")
				stray.Id = q.Id + 1
				b, _ := stray.Pack()
				pc.WriteTo(b, from)
			} else {
				reply.Response = false
			}
			b, _ := reply.Pack()
			pc.WriteTo(b, from)
		}
	}()
	args := func(name string) []string {
		return []string{"@127.0.0.1", "-p", portOf(pc.LocalAddr().String()), "+short", "+tries=1", "+time=2", name}
	}

	raw, err := exec.Command("dig", args("stray.test")...).Output()
	if err != nil || !bytes.Contains(raw, []byte(";; Warning: ID mismatch")) {
		t.Fatalf("dig said nothing of the stray query: %q %v", raw, err)
	}
	if out, err := digOutput(args("stray.test")...); err != nil || string(out) != "127.0.0.9\n" {
		t.Errorf("digOutput with a stray query before the answer: %q %v, want the answer alone", out, err)
	}
	if out, err := digOutput(args("noqr.test")...); err != nil || !bytes.Contains(out, []byte(";; Warning: query response not set")) ||
		!bytes.Contains(out, []byte("127.0.0.9")) {
		t.Errorf("digOutput with an answer without QR: %q %v, want the warning and the answer", out, err)
	}
}

// givenPorts are the ports freePort handed out: the kernel may offer a closed port
// again at once, and two listeners of one test would then collide.
var givenPorts struct {
	sync.Mutex
	m map[int]bool
}

func freePort(tb testing.TB) int {
	tb.Helper()
	givenPorts.Lock()
	defer givenPorts.Unlock()
	if givenPorts.m == nil {
		givenPorts.m = map[int]bool{}
	}
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !givenPorts.m[port] {
			givenPorts.m[port] = true
			return port
		}
	}
}

// syncBuffer collects a process's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	addr    string // DNS host:port
	metrics string
	ready   string
	pprof   string
	log     *syncBuffer
	conf    string
	// extra server blocks appended to the Corefile
	extra string
}

// startCoreDNS runs the binary with one server block holding block (the mesos block
// and anything else) plus prometheus, ready and pprof on free loopback ports.
func startCoreDNS(tb testing.TB, block string) *server {
	tb.Helper()
	return startCoreDNSWith(tb, block, "")
}

// startCoreDNSWith is startCoreDNS with extra server blocks in the Corefile.
func startCoreDNSWith(tb testing.TB, block, extra string) *server {
	tb.Helper()
	return startCoreDNSAt(tb, fmt.Sprintf("127.0.0.1:%d", freePort(tb)), block, extra)
}

// startCoreDNSOn is startCoreDNS with its DNS listener on addr.
func startCoreDNSOn(tb testing.TB, addr, block string) *server {
	tb.Helper()
	return startCoreDNSAt(tb, addr, block, "")
}

func startCoreDNSAt(tb testing.TB, addr, block, extra string) *server {
	tb.Helper()
	s := &server{t: tb, dir: tb.TempDir(), log: &syncBuffer{}, extra: extra}
	s.addr = addr
	s.metrics = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
	s.ready = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
	s.pprof = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
	s.writeConf(block)
	s.cmd = exec.Command(corednsBin, "-conf", s.conf)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
		}
		if tb.Failed() {
			tb.Logf("coredns log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) writeConf(block string) {
	_, port, _ := net.SplitHostPort(s.addr)
	conf := fmt.Sprintf(`.:%s {
    bind 127.0.0.1
    prometheus %s
    ready %s
    pprof %s
    errors
%s
}
%s
`, port, s.metrics, s.ready, s.pprof, block, s.extra)
	s.conf = filepath.Join(s.dir, "Corefile")
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// waitReady waits for the ready plugin to report every plugin ready.
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(2 * minWait)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.ready + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("coredns not ready; log:\n%s", s.log.String())
}

// metric returns the sum of the samples of name whose labels contain every want.
func (s *server) metric(name string, want ...string) float64 {
	s.t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// hasMetric reports whether name has any series.
func (s *server) hasMetric(name string) bool {
	s.t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return true
		}
	}
	return false
}

func (s *server) goroutines() int {
	s.t.Helper()
	resp, err := http.Get("http://" + s.pprof + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	first, _ := bufio.NewReader(resp.Body).ReadString('\n')
	// "goroutine profile: total 42"
	n, err := strconv.Atoi(strings.TrimSpace(first[strings.LastIndexByte(first, ' ')+1:]))
	if err != nil {
		s.t.Fatalf("goroutine profile header %q", first)
	}
	io.Copy(io.Discard, resp.Body)
	return n
}

// ask sends one query and fails t without an answer; bufsize 0 means no EDNS0. A query
// that times out is sent again, as resolvers do, twice at most: on a busy machine a
// reply can take longer than the client's 2 s.
func ask(t *testing.T, addr, net_, name string, qtype uint16, bufsize uint16) *dns.Msg {
	t.Helper()
	r, err := exchange(addr, net_, name, qtype, bufsize)
	for try := 0; try < 2 && timedOut(err); try++ {
		r, err = exchange(addr, net_, name, qtype, bufsize)
	}
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], net_, err)
	}
	return r
}

func exchange(addr, net_, name string, qtype uint16, bufsize uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	c := &dns.Client{Net: net_, Timeout: 2 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// timedOut reports whether err is a client's timeout (no reply in time), not a reply
// or a refusal.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// minWait is the least time eventually waits before it fails a test.
const minWait = time.Minute

// eventually polls cond until it holds, and fails t if it never does. d is how long
// cond should take on an idle machine; eventually waits at least minWait all the same,
// so that a machine busy with other work (another suite on the same cores) does not
// fail a test whose point is that cond comes to hold: a wait past d is only logged.
// Tests that assert how fast something happens measure it themselves.
func eventually(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	start := time.Now()
	deadline := start.Add(max(d, minWait))
	for {
		if cond() {
			if took := time.Since(start); took > d {
				tb.Logf("waiting for %s took %v, more than the %v expected", what, took.Round(time.Millisecond), d)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", time.Since(start).Round(time.Millisecond), what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startMaster(tb testing.TB, js []byte) *fakemaster.Master {
	tb.Helper()
	return fakemaster.StartT(tb, js)
}

func rdatas(m *dns.Msg) []string {
	out := make([]string, 0, len(m.Answer))
	for _, rr := range m.Answer {
		out = append(out, strings.SplitN(rr.String(), "\t", 5)[4])
	}
	return out
}
