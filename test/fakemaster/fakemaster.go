// Package fakemaster is a stand-in Mesos master on loopback for tests and the quick
// start. It serves a state document (a real capture or a synthetic cluster) from
// /master/state, /master/state.json and /master/redirect as masters do, and plays
// scripted faults: a non-leader's 307, 503, 500, slow or hanging answers, truncated or
// malformed JSON, a state without leader, a master that is down, and pre-1.0 masters.
package fakemaster

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the master does instead of answering normally.
type Fault string

// Faults a Master can play.
const (
	OK          Fault = ""
	Unavailable Fault = "503"       // no leader / still recovering
	ServerError Fault = "500"       // internal error
	Slow        Fault = "slow"      // answers after Delay
	Hang        Fault = "hang"      // sends headers, then nothing until the client gives up
	Truncated   Fault = "truncated" // the first half of the document, then closes
	Malformed   Fault = "malformed" // not JSON at all
	NoLeader    Fault = "noleader"  // a valid state that names no leader
	Empty       Fault = "empty"     // a 200 with an empty body
)

// Master is one fake master.
type Master struct {
	mu       sync.Mutex
	addr     string
	ln       net.Listener
	srv      *http.Server
	state    []byte
	fault    Fault
	delay    time.Duration
	leader   string // host:port of the leader when this master is not it
	legacy   bool
	hits     map[string]int
	lastAuth string
	// cache of the last rendered body (and its gzip form): a large synthetic state
	// takes seconds to render, far longer than a real master takes to answer.
	version  int
	cacheKey string
	body     []byte
	gzBody   []byte
	ev       streams
	// live is the state once changed at run time (launches, kills, a failover), nil
	// until then; liveDoc its rendering at liveVersion.
	live        *live
	liveDoc     []byte
	liveVersion int
	changeMu    sync.Mutex // one change, and the events it emits, at a time
	id          string     // the master's id, new at each failover
	failovers   int
	reregister  *time.Timer // the agents re-registering after a failover
}

// Start listens on addr (such as 127.0.0.1:0) and serves an empty cluster until
// SetState.
func Start(addr string) (*Master, error) {
	m := &Master{hits: map[string]int{}, id: "fake-0"}
	if err := m.listen(addr); err != nil {
		return nil, err
	}
	m.state = []byte(`{"slaves":[],"frameworks":[]}`)
	return m, nil
}

func (m *Master) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
	m.mu.Lock()
	m.ln, m.srv, m.addr = ln, srv, ln.Addr().String()
	m.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// Handler serves the master's endpoints, for serving them elsewhere (over TLS).
func (m *Master) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/master/redirect", m.redirect)
	mux.HandleFunc("/master/state", m.serveState)
	mux.HandleFunc("/master/state.json", m.serveState)
	mux.HandleFunc("/state.json", m.serveState)
	mux.HandleFunc("/fake/fault", m.control)
	mux.HandleFunc("/fake/churn", m.churn)
	mux.HandleFunc("/fake/launch", m.launchControl)
	mux.HandleFunc("/fake/kill", m.killControl)
	mux.HandleFunc("/fake/follower", m.followerControl)
	mux.HandleFunc("/fake/failover", m.failoverControl)
	mux.HandleFunc("/fake/heartbeats", m.heartbeatsControl)
	mux.HandleFunc("/fake/stream-fault", m.streamFaultControl)
	mux.HandleFunc("/api/v1", m.api)
	mux.HandleFunc("/master/state-summary", m.summary)
	return mux
}

// Advertise makes the master name addr as its own address (in redirects and its pid),
// for a master served from another listener.
func (m *Master) Advertise(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addr = addr
}

// Addr is the master's host:port.
func (m *Master) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// URL is the master's base URL.
func (m *Master) URL() string { return "http://" + m.Addr() }

// Close stops the master.
func (m *Master) Close() error {
	m.mu.Lock()
	srv := m.srv
	m.mu.Unlock()
	if srv == nil {
		return nil
	}
	m.Churn(0)
	m.mu.Lock()
	if m.reregister != nil {
		m.reregister.Stop()
	}
	m.mu.Unlock()
	m.DropStreams()
	return srv.Close()
}

// Down closes the listener and every connection: connections are refused until Up.
func (m *Master) Down() error { return m.Close() }

// Up listens again on the same address after Down.
func (m *Master) Up() error { return m.listen(m.Addr()) }

// SetState serves js (already rewritten: see Rewrite). Its leader and pid fields are
// set to name this master, or the leader given to FollowLeader.
func (m *Master) SetState(js []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = js
	m.version++
	m.live, m.liveDoc = nil, nil
	if m.reregister != nil {
		m.reregister.Stop()
		m.reregister = nil
	}
}

// current is the state document served now; m.mu held.
func (m *Master) current() []byte {
	if m.live == nil {
		return m.state
	}
	if m.liveDoc == nil || m.liveVersion != m.version {
		m.liveDoc, m.liveVersion = m.live.render(), m.version
	}
	return m.liveDoc
}

// SetFault makes the master play f; delay is how long Slow waits.
func (m *Master) SetFault(f Fault, delay time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fault, m.delay = f, delay
}

// FollowLeader makes this master a non-leader that points at leader (host:port);
// "" makes it the leader again.
func (m *Master) FollowLeader(leader string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leader = leader
}

// SetLegacy makes the master behave as one before 1.0: no /master/redirect, no
// /master/state, and a non-leader answers with its own state naming the leader.
func (m *Master) SetLegacy(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.legacy = on
}

// Hits is how often path was requested; Hits("gzip") counts gzip-encoded states.
func (m *Master) Hits(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

// LastAuthorization is the Authorization header of the last request.
func (m *Master) LastAuthorization() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastAuth
}

func (m *Master) snapshot(r *http.Request) (state []byte, fault Fault, delay time.Duration, leader, self string, legacy bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hits[r.URL.Path]++
	m.lastAuth = r.Header.Get("Authorization")
	return m.current(), m.fault, m.delay, m.leader, m.addr, m.legacy
}

func (m *Master) redirect(w http.ResponseWriter, r *http.Request) {
	_, fault, _, leader, self, legacy := m.snapshot(r)
	switch {
	case legacy:
		http.NotFound(w, r)
	case fault == Unavailable:
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
	default:
		if leader == "" {
			leader = self
		}
		w.Header().Set("Location", "//"+leader)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
}

func (m *Master) serveState(w http.ResponseWriter, r *http.Request) {
	state, fault, delay, leader, self, legacy := m.snapshot(r)
	if legacy && r.URL.Path == "/master/state" {
		http.NotFound(w, r)
		return
	}
	if leader != "" && !legacy {
		w.Header().Set("Location", "//"+leader+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if leader == "" {
		leader = self
	}
	if played(w, r, fault, delay, `{"leader":`) {
		return
	}
	gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && fault != Truncated
	body, err := m.render(state, fault == NoLeader, leader, self, gz)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if fault == Truncated {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		// Hijack to cut the connection short, as a master that died mid-answer.
		if hj, ok := w.(http.Hijacker); ok {
			w.(http.Flusher).Flush()
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	if gz {
		m.mu.Lock()
		m.hits["gzip"]++
		m.mu.Unlock()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Write(body)
}

// played answers as fault f says, for the faults every endpoint plays alike, and
// reports whether it did (Slow waits, then the caller answers). A hanging answer
// sends partial, then nothing.
func played(w http.ResponseWriter, r *http.Request, f Fault, delay time.Duration, partial string) bool {
	switch f {
	case Unavailable:
		http.Error(w, "Master has not finished recovery", http.StatusServiceUnavailable)
	case ServerError:
		http.Error(w, "internal error", http.StatusInternalServerError)
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`<html><body>Service Unavailable</body></html>`))
	case Empty:
		w.WriteHeader(http.StatusOK)
	case Hang:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(partial))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case Slow:
		select {
		case <-time.After(delay):
			return false
		case <-r.Context().Done():
		}
	default:
		return false
	}
	return true
}

// render returns the body to serve (gzip-encoded when gz), from the cache when the
// state and leadership are unchanged.
func (m *Master) render(state []byte, noLeader bool, leader, self string, gz bool) ([]byte, error) {
	m.mu.Lock()
	key := fmt.Sprintf("%d|%v|%s|%s", m.version, noLeader, leader, self)
	if key == m.cacheKey {
		body := m.body
		if gz {
			body = m.gzBody
		}
		m.mu.Unlock()
		return body, nil
	}
	m.mu.Unlock()
	body, err := withLeader(state, noLeader, leader, self)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
	m.mu.Lock()
	m.cacheKey, m.body, m.gzBody = key, body, b.Bytes()
	m.mu.Unlock()
	if gz {
		return b.Bytes(), nil
	}
	return body, nil
}

// withLeader sets the top-level leader, pid and leader_info of a state document. The
// other fields keep the document's order: a master writes its agents before its
// frameworks (masters before 1.0 the other way round), and a client may read the one
// while the other is still coming.
func withLeader(state []byte, noLeader bool, leader, self string) ([]byte, error) {
	fields, err := members(state)
	if err != nil {
		return nil, fmt.Errorf("a state must be a JSON object: %w", err)
	}
	leaderValue, _ := json.Marshal("master@" + leader)
	out := make([]member, 0, len(fields)+2)
	wroteLeader := false
	for _, f := range fields {
		switch f.key {
		case "leader_info", "pid":
		case "leader":
			if !noLeader {
				out = append(out, member{f.key, leaderValue})
				wroteLeader = true
			}
		default:
			out = append(out, f)
		}
	}
	if !noLeader && !wroteLeader {
		out = append(out, member{"leader", leaderValue})
	}
	pid, _ := json.Marshal("master@" + self)
	return object(append(out, member{"pid", pid})), nil
}

// member is one field of a JSON object, as written.
type member struct {
	key   string
	value json.RawMessage
}

// errNotObject is a document that is not a JSON object.
var errNotObject = errors.New("not a JSON object")

// members returns the fields of the JSON object js in their order.
func members(js []byte) ([]member, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, errNotObject
	}
	var out []member
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{t.(string), v})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// object writes fields as a JSON object, in their order.
func object(fields []member) []byte {
	out := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(f.key)
		out = append(append(append(out, k...), ':'), f.value...)
	}
	return append(out, '}')
}

// Faults lists every fault with what it does, for -h and for errors.
var Faults = []struct {
	Fault Fault
	Does  string
}{
	{"ok", "healthy again (clears any fault; so does f= with nothing)"},
	{Unavailable, "503: no leader elected / still recovering"},
	{ServerError, "500: internal error"},
	{Slow, "answers after delay (delay=2s)"},
	{Hang, "sends the headers, then nothing until the client gives up"},
	{Truncated, "the first half of the state, then closes"},
	{Malformed, "an HTML page instead of JSON"},
	{NoLeader, "a valid state that names no leader"},
	{Empty, "200 with an empty body"},
}

// ParseFault returns the named fault; "ok" and "" are OK.
func ParseFault(name string) (Fault, error) {
	if name == "" || name == "ok" {
		return OK, nil
	}
	var names []string
	for _, f := range Faults {
		if f.Fault == Fault(name) {
			return f.Fault, nil
		}
		names = append(names, string(f.Fault))
	}
	return OK, fmt.Errorf("unknown fault %q (one of %s)", name, strings.Join(names, ", "))
}

// churn lets another process start task churn on the event stream:
// GET /fake/churn?per_second=200 (0 stops it).
func (m *Master) churn(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("per_second"))
	if err != nil || n < 0 || n > 100000 {
		http.Error(w, "per_second needs a number of events a second, 0 to stop", http.StatusBadRequest)
		return
	}
	if err := m.Churn(n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "ok: %d task events a second\n", n)
}

// control lets a test in another process script faults: GET /fake/fault?f=503&delay=2s;
// f=ok clears it. A fault also ends the open streams, as a master that starts failing
// (one that lost leadership, or restarts) has ended them: the clients then meet the
// fault when they subscribe again, as they do when they poll.
func (m *Master) control(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFault(r.URL.Query().Get("f"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var d time.Duration
	if v := r.URL.Query().Get("delay"); v != "" {
		if d, err = time.ParseDuration(v); err != nil {
			http.Error(w, fmt.Sprintf("delay %q is not a duration such as 2s", v), http.StatusBadRequest)
			return
		}
	}
	m.SetFault(f, d)
	if f == OK {
		fmt.Fprintln(w, "ok: healthy")
		return
	}
	m.ev.mu.Lock()
	n := len(m.ev.subs)
	m.ev.mu.Unlock()
	m.DropStreams()
	fmt.Fprintf(w, "ok: playing %s (%d open stream(s) ended); /fake/fault?f=ok clears it\n", f, n)
}

// Rewrite replaces the addresses of a captured state with loopback ones, so that
// nothing served from it can send traffic to the captured cluster: every IPv4
// a.b.c.d in a pid, hostname or IP field becomes 127.b.c.d, every host name in those
// fields 127.0.0.1. IPv6 addresses are left alone: only container addresses carry
// them, and nothing is ever sent to those.
// The top-level fields keep their order (see withLeader).
func Rewrite(js []byte) ([]byte, error) {
	fields, err := members(js)
	if errors.Is(err, errNotObject) {
		var v any
		if err := decodeNumbers(js, &v); err != nil {
			return nil, err
		}
		return json.Marshal(rewrite(v, ""))
	}
	if err != nil {
		return nil, err
	}
	for i, f := range fields {
		var v any
		if err := decodeNumbers(f.value, &v); err != nil {
			return nil, err
		}
		if fields[i].value, err = json.Marshal(rewrite(v, f.key)); err != nil {
			return nil, err
		}
	}
	return object(fields), nil
}

// decodeNumbers decodes js into v, numbers as json.Number: exact however large.
func decodeNumbers(js []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	return d.Decode(v)
}

func rewrite(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = rewrite(e, k)
		}
	case []any:
		for i, e := range x {
			x[i] = rewrite(e, key)
		}
	case string:
		switch key {
		case "pid", "leader":
			if at := strings.LastIndexByte(x, '@'); at >= 0 {
				if h, p, err := net.SplitHostPort(x[at+1:]); err == nil {
					return x[:at+1] + net.JoinHostPort(loopback(h), p)
				}
			}
		case "hostname", "ip_address", "ip", "value":
			if key == "value" && net.ParseIP(x) == nil {
				return x
			}
			return loopback(x)
		}
	}
	return v
}

func loopback(h string) string {
	ip := net.ParseIP(h)
	if ip == nil {
		if h == "" {
			return h
		}
		return "127.0.0.1"
	}
	if v4 := ip.To4(); v4 != nil {
		return fmt.Sprintf("127.%d.%d.%d", v4[1], v4[2], v4[3])
	}
	return h
}

// ErrNotLoopback is returned by CheckLoopback.
var ErrNotLoopback = errors.New("address outside loopback")

// CheckLoopback refuses to serve on anything but loopback.
func CheckLoopback(addr string) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %s", ErrNotLoopback, addr)
	}
	return nil
}

// ReadCapture reads a captured state file and rewrites its addresses (see Rewrite).
func ReadCapture(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Rewrite(raw)
}

// StartT starts a master on a free loopback port serving js, closed when t ends.
func StartT(tb testing.TB, js []byte) *Master {
	tb.Helper()
	m, err := Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	m.SetState(js)
	tb.Cleanup(func() { m.Close() })
	return m
}
