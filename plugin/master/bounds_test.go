package master

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// allocated is what f allocates, garbage included: an upper bound of its peak.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// writeFill writes n copies of c in chunks, never holding them.
func writeFill(w io.Writer, c byte, n int) error {
	chunk := bytes.Repeat([]byte{c}, 64<<10)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// serve starts a master whose answers h writes, gzip-encoded as Mesos does.
func serve(t *testing.T, h func(w io.Writer, r *http.Request)) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/redirect" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		h(gz, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

const agentState = `{"id": "a", "hostname": "h", "pid": "slave(1)@10.0.1.1:5051"}`

// A state holding one long string in a field nothing reads is served, in a few MiB.
func TestFetchLongStringBounded(t *testing.T) {
	const n = 64 << 20
	u := serve(t, func(w io.Writer, _ *http.Request) {
		io.WriteString(w, `{"leader": "master@10.0.0.2:5050", "slaves": [`+agentState+`], "flags": {"x": "`)
		writeFill(w, 'a', n)
		io.WriteString(w, `"}}`)
	})
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: 20 * time.Second})
	var r *Result
	alloc := allocated(func() {
		var err error
		if r, err = c.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if alloc > 12<<20 {
		t.Errorf("a %d-byte string cost %d bytes", n, alloc)
	}
	if len(r.State.Agents) != 1 || r.State.Skipped[state.SkipValueTooLong] != 1 {
		t.Errorf("agents %v skipped %v", r.State.Agents, r.State.Skipped)
	}
}

// /master/state-summary is decoded as it arrives, under the same bounds as the state.
func TestFrameworkPIDsBounded(t *testing.T) {
	const n = 64 << 20
	u := serve(t, func(w io.Writer, _ *http.Request) {
		io.WriteString(w, `{"hostname": "m", "slaves": [`+agentState+`], "frameworks": [{"id": "f", "name": "marathon", "pid": "scheduler@10.0.0.9:25501", "webui_url": "`)
		writeFill(w, 'a', n)
		io.WriteString(w, `"}, {"id": "g", "pid": "scheduler@10.0.0.8:1"}]}`)
	})
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: 20 * time.Second})
	var pids map[string]state.PID
	alloc := allocated(func() {
		var err error
		if pids, err = c.FrameworkPIDs(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	})
	if alloc > 12<<20 {
		t.Errorf("a %d-byte summary cost %d bytes", n, alloc)
	}
	if pids["f"].Port != 25501 || pids["g"].Port != 1 {
		t.Errorf("pids %v", pids)
	}
}

// A master bound to 0.0.0.0 names itself leader by that address: its state is served
// (leader.D left out), not refused as naming no leader.
func TestFetchUnusableSelfLeader(t *testing.T) {
	u := serve(t, func(w io.Writer, _ *http.Request) {
		io.WriteString(w, `{"leader": "master@0.0.0.0:5050", "pid": "master@0.0.0.0:5050", "slaves": [`+agentState+`]}`)
	})
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: 5 * time.Second})
	r, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatalf("the state of a master at 0.0.0.0: %v", err)
	}
	if !r.State.Leader.IsZero() || len(r.State.Agents) != 1 || r.Leader.Host != u.Host {
		t.Errorf("leader %v agents %v from %v", r.State.Leader, r.State.Agents, r.Leader)
	}
	// Naming another master at an unusable address still names no leader to follow.
	u = serve(t, func(w io.Writer, _ *http.Request) {
		io.WriteString(w, `{"leader": "master@0.0.0.0:5050", "pid": "master@10.0.0.3:5050", "slaves": [`+agentState+`]}`)
	})
	c, _ = New(Config{Masters: []*url.URL{u}, Timeout: 5 * time.Second})
	if _, err := c.Fetch(context.Background()); !errors.Is(err, ErrNoLeader) {
		t.Errorf("another leader at 0.0.0.0: %v", err)
	}
}

// streamServer answers SUBSCRIBE with one SUBSCRIBED record whose body write gives,
// of the length it announces, then holds the stream open.
func streamServer(t *testing.T, length int, write func(w io.Writer)) *url.URL {
	t.Helper()
	return serve(t, func(w io.Writer, r *http.Request) {
		if r.URL.Path != "/api/v1" {
			return
		}
		io.WriteString(w, strconv.Itoa(length)+"\n")
		write(w)
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
	})
}

// The stream's records are decoded as they arrive, under the poll's bounds: a snapshot
// padded with blanks is refused within the bound, and one with a long string nothing
// reads is applied, neither held whole.
func TestSubscribeBounded(t *testing.T) {
	const n = 64 << 20
	head := `{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15,"get_state":{"get_agents":{"agents":[` +
		`{"agent_info":{"hostname":"a0","port":5051,"id":{"value":"S0"}},"pid":"slave(1)@10.0.1.1:5051"}]}},"x":`
	padded := streamServer(t, len(head)+n+3, func(w io.Writer) {
		io.WriteString(w, head)
		writeFill(w, ' ', n)
		io.WriteString(w, `1}}`)
	})
	c, _ := New(Config{Masters: []*url.URL{padded}, Timeout: 20 * time.Second})
	alloc := allocated(func() {
		if s, _, err := c.Subscribe(context.Background()); err == nil {
			s.Close()
			t.Error("a snapshot padded with blanks was taken")
		} else if !errors.Is(err, state.ErrEvent) {
			t.Errorf("blanks: %v", err)
		}
	})
	if alloc > 12<<20 {
		t.Errorf("%d blanks cost %d bytes", n, alloc)
	}
	long := streamServer(t, len(head)+n+4, func(w io.Writer) {
		io.WriteString(w, head+`"`)
		writeFill(w, 'a', n)
		io.WriteString(w, `"}}`)
	})
	c, _ = New(Config{Masters: []*url.URL{long}, Timeout: 20 * time.Second})
	alloc = allocated(func() {
		s, ev, err := c.Subscribe(context.Background())
		if err != nil {
			t.Fatalf("a long string nothing reads: %v", err)
		}
		s.Close()
		var cl state.Cluster
		cl.Apply(ev)
		if st := cl.State(); len(st.Agents) != 1 {
			t.Errorf("agents %v", st.Agents)
		}
	})
	if alloc > 12<<20 {
		t.Errorf("a %d-byte string cost %d bytes", n, alloc)
	}
}

// RecordIO takes the length a record announces for a bound, not for an allocation: a
// half-gigabyte length and then nothing costs nothing.
func TestRecordIOAnnouncedLength(t *testing.T) {
	alloc := allocated(func() {
		rr := NewRecordReader(strings.NewReader("536870911\n{}"), 1<<30)
		if _, err := rr.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("a record cut short: %v", err)
		}
	})
	if alloc > 1<<20 {
		t.Errorf("an announced length cost %d bytes", alloc)
	}
}

// A stream that ends inside a record has ended, as before: no record that does not
// decode (the reconnect is counted as closed, not decode).
func TestSubscribeCutShort(t *testing.T) {
	u := streamServer(t, 1000, func(w io.Writer) { io.WriteString(w, `{"type":"SUBSCRIBED","subscribed":{`) })
	c, _ := New(Config{Masters: []*url.URL{u}, Timeout: 5 * time.Second})
	_, _, err := c.Subscribe(context.Background())
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, state.ErrEvent) {
		t.Errorf("a record cut short: %v", err)
	}
}

// The heartbeat interval a master announces is held to 1 s to 60 s: a master that
// announces a billion seconds and goes silent is noticed within three minutes.
func TestHeartbeatClamped(t *testing.T) {
	for _, tc := range []struct {
		announce, want time.Duration
	}{
		{1e9 * time.Second, maxHeartbeat},
		{time.Millisecond, minHeartbeat},
		{15 * time.Second, 15 * time.Second},
	} {
		m := startMaster(t, capture(t))
		m.SetHeartbeat(tc.announce)
		s, _, err := client(t, Config{}, m).Subscribe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Heartbeat != tc.want {
			t.Errorf("announced %v: heartbeat %v, want %v", tc.announce, s.Heartbeat, tc.want)
		}
		s.Close()
	}
}
