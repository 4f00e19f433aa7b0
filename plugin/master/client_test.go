package master

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
)

func capture(t *testing.T) []byte {
	t.Helper()
	js, err := fakemaster.ReadCapture("../../testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func startMaster(t *testing.T, js []byte) *fakemaster.Master {
	t.Helper()
	return fakemaster.StartT(t, js)
}

func client(t *testing.T, cfg Config, masters ...*fakemaster.Master) *Client {
	t.Helper()
	for _, m := range masters {
		u, _ := url.Parse(m.URL())
		cfg.Masters = append(cfg.Masters, u)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFetchFromLeader(t *testing.T) {
	m := startMaster(t, capture(t))
	c := client(t, Config{}, m)
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.State.Frameworks) != 2 || r.State.Leader.String() != "master@"+m.Addr() || r.Bytes < 1000 {
		t.Errorf("result %+v leader %v", r, r.State.Leader)
	}
	if m.Hits("/master/redirect") != 1 || m.Hits("/master/state") != 1 {
		t.Errorf("hits redirect=%d state=%d", m.Hits("/master/redirect"), m.Hits("/master/state"))
	}
	// The state travelled gzip-encoded; Bytes counts it decoded.
	if m.Hits("gzip") != 1 || r.Bytes < 10000 {
		t.Errorf("gzip responses %d, decoded bytes %d", m.Hits("gzip"), r.Bytes)
	}
	// The known leader is asked directly next time.
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m.Hits("/master/redirect") != 1 || m.Hits("/master/state") != 2 {
		t.Errorf("second fetch went through redirect again")
	}
	// Addresses in the capture were rewritten to loopback.
	for _, a := range r.State.Agents {
		if !strings.HasPrefix(a.PID.Host, "127.") {
			t.Errorf("agent %s not rewritten", a.PID)
		}
	}
}

func TestLeaderThroughNonLeader(t *testing.T) {
	js := capture(t)
	leader := startMaster(t, js)
	follower := startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	c := client(t, Config{}, follower)
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Leader.Host != leader.Addr() || c.Leader().Host != leader.Addr() {
		t.Errorf("leader %v, want %s", r.Leader, leader.Addr())
	}
	if follower.Hits("/master/state") != 0 || leader.Hits("/master/state") != 1 {
		t.Errorf("state fetched from the non-leader")
	}
	// Leadership moves: the old leader now redirects with a 307 on /master/state.
	leader.FollowLeader(follower.Addr())
	follower.FollowLeader("")
	r, err = c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Leader.Host != follower.Addr() {
		t.Errorf("after failover leader %v, want %s", r.Leader, follower.Addr())
	}
}

func TestNextMasterOnFailure(t *testing.T) {
	js := capture(t)
	down := startMaster(t, js)
	down.Down()
	unavailable := startMaster(t, js)
	unavailable.SetFault(fakemaster.Unavailable, 0)
	good := startMaster(t, js)
	c := client(t, Config{}, down, unavailable, good)
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Leader.Host != good.Addr() {
		t.Errorf("leader %v", r.Leader)
	}
}

func TestLegacyMaster(t *testing.T) {
	js := capture(t)
	leader := startMaster(t, js)
	leader.SetLegacy(true)
	follower := startMaster(t, js)
	follower.SetLegacy(true)
	follower.FollowLeader(leader.Addr())
	c := client(t, Config{}, follower)
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Leader.Host != leader.Addr() {
		t.Errorf("leader %v, want %s", r.Leader, leader.Addr())
	}
	if follower.Hits("/master/state.json") != 1 || leader.Hits("/master/state.json") != 1 || leader.Hits("/master/state") != 1 {
		t.Errorf("hits: follower state.json=%d leader state=%d state.json=%d",
			follower.Hits("/master/state.json"), leader.Hits("/master/state"), leader.Hits("/master/state.json"))
	}
}

func TestFaults(t *testing.T) {
	js := capture(t)
	cases := []struct {
		fault fakemaster.Fault
		want  error
	}{
		{fakemaster.Unavailable, ErrNoLeader},
		{fakemaster.ServerError, ErrStatus},
		{fakemaster.Malformed, ErrDecode},
		{fakemaster.Truncated, ErrDecode},
		{fakemaster.Empty, ErrDecode},
		{fakemaster.NoLeader, ErrNoLeader},
		{fakemaster.Hang, context.DeadlineExceeded},
		{fakemaster.Slow, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(string(tc.fault), func(t *testing.T) {
			m := startMaster(t, js)
			m.SetFault(tc.fault, time.Minute)
			c := client(t, Config{Timeout: 300 * time.Millisecond}, m)
			start := time.Now()
			r, err := c.Fetch(context.Background())
			if err == nil || r != nil {
				t.Fatalf("fetch succeeded: %+v", r)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if tc.want == ErrStatus && !strings.Contains(err.Error(), "/master/state: "+ErrStatus.Error()+" 500") {
				t.Errorf("error %v does not name the path asked", err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v despite the timeout", time.Since(start))
			}
		})
	}
}

func TestBodyBound(t *testing.T) {
	js := capture(t)
	m := startMaster(t, js)
	// The bound applies to the decoded body: the gzip-encoded state is far smaller.
	c := client(t, Config{MaxBytes: 10000}, m)
	if _, err := c.Fetch(context.Background()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	if m.Hits("gzip") == 0 {
		t.Error("the state was not sent gzip-encoded")
	}
	big := client(t, Config{MaxBytes: 10 << 20}, m)
	if _, err := big.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBasicAuthFollowsRedirect: the credentials go to the configured masters, and to
// a leader that a configured master names over verified TLS; never to a host named over
// plain http, which anyone on the path could have done.
func TestBasicAuthFollowsRedirect(t *testing.T) {
	js := capture(t)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("dns:s3cret"))
	auth := Config{Principal: "dns", Secret: "s3cret"}

	leader, follower := startMaster(t, js), startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	if _, err := client(t, auth, follower).Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if leader.LastAuthorization() != "" || follower.LastAuthorization() != want {
		t.Errorf("http, leader not configured: leader got %q, follower %q", leader.LastAuthorization(), follower.LastAuthorization())
	}
	leader, follower = startMaster(t, js), startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	if _, err := client(t, auth, follower, leader).Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if leader.LastAuthorization() != want {
		t.Errorf("http, leader configured: leader got %q", leader.LastAuthorization())
	}

	leader, follower = startMaster(t, js), startMaster(t, js)
	lt, ft := httptest.NewTLSServer(leader.Handler()), httptest.NewTLSServer(follower.Handler())
	t.Cleanup(lt.Close)
	t.Cleanup(ft.Close)
	leader.Advertise(lt.Listener.Addr().String())
	follower.FollowLeader(lt.Listener.Addr().String())
	roots := x509.NewCertPool()
	roots.AddCert(lt.Certificate())
	u, _ := url.Parse(ft.URL)
	c, _ := New(Config{Masters: []*url.URL{u}, TLS: &tls.Config{RootCAs: roots}, Timeout: 2 * time.Second, Principal: "dns", Secret: "s3cret"})
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if leader.LastAuthorization() != want {
		t.Errorf("https: the leader a configured master named got %q", leader.LastAuthorization())
	}
}

// TestNoDowngrade: an https master that redirects to http is not followed.
func TestNoDowngrade(t *testing.T) {
	js := capture(t)
	plain := startMaster(t, js)
	follower := startMaster(t, js)
	ft := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+plain.Addr()+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(ft.Close)
	_ = follower
	roots := x509.NewCertPool()
	roots.AddCert(ft.Certificate())
	u, _ := url.Parse(ft.URL)
	c, _ := New(Config{Masters: []*url.URL{u}, TLS: &tls.Config{RootCAs: roots}, Timeout: 2 * time.Second, Principal: "dns", Secret: "s3cret"})
	_, err := c.Fetch(context.Background())
	if !errors.Is(err, ErrDowngrade) {
		t.Errorf("error %v, want ErrDowngrade", err)
	}
	if plain.Hits("/master/state") != 0 || plain.LastAuthorization() != "" {
		t.Errorf("the http master was asked")
	}
}

// TestOddMasters: masters that answer oddly end in a clear error or the right state,
// each within the timeout.
func TestOddMasters(t *testing.T) {
	js := capture(t)
	serve := func(h http.HandlerFunc) *url.URL {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		return u
	}
	fetch := func(u *url.URL) error {
		c, _ := New(Config{Masters: []*url.URL{u}, Timeout: time.Second})
		_, err := c.Fetch(context.Background())
		return err
	}
	m := startMaster(t, js)
	// Behind a proxy with a path prefix that routes to the leader itself: the state
	// is fetched through the prefix, never from the address /master/redirect names.
	proxy := serve(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/mesos/") {
			http.NotFound(w, r)
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/mesos")
		m.Handler().ServeHTTP(w, r)
	})
	if err := fetch(proxy.JoinPath("mesos")); err != nil {
		t.Errorf("behind a path prefix: %v", err)
	}
	if m.Hits("/master/redirect") != 0 {
		t.Errorf("asked /master/redirect through a proxy")
	}
	// A redirect loop, a redirect without a Location, an HTML page with 200.
	var loopB *url.URL
	loopA := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "//"+loopB.Host+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	loopB = serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/redirect" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Location", "//"+loopA.Host+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	if err := fetch(loopB); !errors.Is(err, ErrRedirects) || !strings.Contains(err.Error(), "loop") {
		t.Errorf("redirect loop: %v", err)
	}
	noLoc := serve(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTemporaryRedirect) })
	if err := fetch(noLoc); err == nil || !strings.Contains(err.Error(), "Location") {
		t.Errorf("307 without Location: %v", err)
	}
	html := serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/redirect" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
	})
	if err := fetch(html); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "text/html") {
		t.Errorf("HTML page: %v", err)
	}
	// A body that never ends is cut by the timeout.
	endless := serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/redirect" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"slaves": [`))
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte(`{"id": "a", "pid": "slave(1)@10.0.0.1:1"},`)); err != nil {
				return
			}
		}
	})
	start := time.Now()
	if err := fetch(endless); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless body: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("endless body took %v", time.Since(start))
	}
}

// TestLeaderSpelledTwoWays: a legacy master whose pid names it by address and whose
// leader field names it by host name is the leader, not a redirect loop.
func TestLeaderSpelledTwoWays(t *testing.T) {
	js := capture(t)
	m := startMaster(t, js)
	m.SetLegacy(true)
	_, port, _ := net.SplitHostPort(m.Addr())
	// The state names the leader "localhost:port", the pid 127.0.0.1:port.
	m.FollowLeader(net.JoinHostPort("localhost", port))
	u, _ := url.Parse("http://127.0.0.1:" + port)
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: 2 * time.Second})
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if r.State.Leader.Host != "localhost" {
		t.Errorf("leader %v", r.State.Leader)
	}
}

func TestErrorsDoNotLeakSecrets(t *testing.T) {
	m := startMaster(t, capture(t))
	m.Down()
	u, _ := url.Parse("http://dns:topsecret@" + m.Addr())
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: time.Second, Secret: "topsecret", Principal: "dns"})
	_, err := c.Fetch(context.Background())
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("error %v", err)
	}
}

func TestPollerBacksOffAndRecovers(t *testing.T) {
	m := startMaster(t, capture(t))
	m.SetFault(fakemaster.ServerError, 0)
	c := client(t, Config{}, m)
	var good, bad atomic.Int32
	p := &Poller{
		Client:     c,
		Interval:   time.Hour,
		MinBackoff: 20 * time.Millisecond,
		OnResult:   func(*Result, time.Duration) time.Duration { good.Add(1); return 0 },
		OnError:    func(error, time.Duration) { bad.Add(1) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for bad.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	m.SetFault(fakemaster.OK, 0)
	for good.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if good.Load() != 1 || bad.Load() < 3 {
		t.Errorf("good %d bad %d", good.Load(), bad.Load())
	}
	// After a success the poller waits the full interval: no further fetch.
	n := m.Hits("/master/state")
	time.Sleep(100 * time.Millisecond)
	if m.Hits("/master/state") != n {
		t.Error("poller fetched again before the interval")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("poller did not stop")
	}
}

// A wake-up polls at once, whatever the interval.
func TestPollerWake(t *testing.T) {
	m := startMaster(t, capture(t))
	c := client(t, Config{}, m)
	var good atomic.Int32
	wake := make(chan struct{}, 1)
	p := &Poller{
		Client:   c,
		Interval: time.Hour,
		OnResult: func(*Result, time.Duration) time.Duration { good.Add(1); return 0 },
		Wake:     wake,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for good.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	wake <- struct{}{}
	for good.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if good.Load() != 2 {
		t.Errorf("%d polls, want 2: the wake-up did not poll", good.Load())
	}
	cancel()
	<-done
}

func TestTLS(t *testing.T) {
	m := startMaster(t, capture(t))
	ts := httptest.NewTLSServer(m.Handler())
	t.Cleanup(ts.Close)
	m.Advertise(ts.Listener.Addr().String())
	u, _ := url.Parse(ts.URL)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	// Verified against the right CA: works, and the redirect stays on https.
	c, _ := New(Config{Masters: []*url.URL{u}, TLS: &tls.Config{RootCAs: roots}, Timeout: 2 * time.Second})
	r, err := c.Fetch(context.Background())
	if err != nil || r.Leader.Scheme != "https" {
		t.Fatalf("verified TLS: %v %v", r, err)
	}
	// Default: the system roots do not know this CA, so the fetch fails.
	c, _ = New(Config{Masters: []*url.URL{u}, Timeout: 2 * time.Second})
	if _, err := c.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unverified certificate accepted: %v", err)
	}
	// Only an explicit skip accepts it.
	c, _ = New(Config{Masters: []*url.URL{u}, TLS: &tls.Config{InsecureSkipVerify: true}, Timeout: 2 * time.Second})
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatalf("insecure_skip_verify: %v", err)
	}
}

// TestGzipBombMemory: a gzip-encoded state that inflates to a gigabyte of blanks is
// refused within a small multiple of the bound in memory, however far it inflates.
func TestGzipBombMemory(t *testing.T) {
	u := serve(t, func(w io.Writer, _ *http.Request) {
		w.Write([]byte(`{"slaves": [`))
		chunk := bytes.Repeat([]byte(" \n\t"), 1<<18)
		for range 1400 { // about a gigabyte
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	for _, bound := range []int64{1 << 20, 16 << 20} {
		c, err := New(Config{Masters: []*url.URL{u}, Timeout: 20 * time.Second, MaxBytes: bound})
		if err != nil {
			t.Fatal(err)
		}
		// Everything allocated, garbage included, is an upper bound of the peak.
		if alloc := allocated(func() { _, err = c.Fetch(context.Background()) }); alloc > uint64(bound)+4<<20 {
			t.Errorf("bound %d: %d bytes allocated", bound, alloc)
		}
		if !errors.Is(err, ErrDecode) {
			t.Errorf("bound %d: error %v, want a decode error", bound, err)
		}
	}
}

// TestZooKeeperLeaderFirst: when ZooKeeper names a new leader while the old one still
// answers as leader (cut off from ZooKeeper until its session expires), the client asks
// the master ZooKeeper names, not the last leader it used: for a poll and a stream.
func TestZooKeeperLeaderFirst(t *testing.T) {
	old, next := startMaster(t, capture(t)), startMaster(t, capture(t))
	named := old
	discover := func() []*url.URL {
		u, _ := url.Parse(named.URL())
		return []*url.URL{u}
	}
	c := client(t, Config{Discover: discover})
	if r, err := c.Fetch(context.Background()); err != nil || r.Leader.Host != old.Addr() {
		t.Fatalf("first fetch: %v %v", r, err)
	}
	named = next
	r, err := c.Fetch(context.Background())
	if err != nil || r.Leader.Host != next.Addr() {
		t.Fatalf("after ZooKeeper named %s: fetched from %v (%v)", next.Addr(), r.Leader, err)
	}
	named = old
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	named = next
	s, _, err := c.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL.Host != next.Addr() {
		t.Errorf("subscribed to %s, ZooKeeper names %s", s.URL.Host, next.Addr())
	}
	if n := old.Subscriptions(); n != 0 {
		t.Errorf("the deposed master was asked to SUBSCRIBE %d times", n)
	}
}
