package master

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
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

func startMaster(t *testing.T, js []byte) *fakemaster.Master { return fakemaster.StartT(t, js) }

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

func TestBasicAuthFollowsRedirect(t *testing.T) {
	js := capture(t)
	leader := startMaster(t, js)
	follower := startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	c := client(t, Config{Principal: "dns", Secret: "s3cret"}, follower)
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("dns:s3cret"))
	if leader.LastAuthorization() != want || follower.LastAuthorization() != want {
		t.Errorf("authorization: leader %q follower %q", leader.LastAuthorization(), follower.LastAuthorization())
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
		OnResult:   func(*Result, time.Duration) { good.Add(1) },
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
