package master

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

func TestSubscribe(t *testing.T) {
	js := capture(t)
	leader, follower := startMaster(t, js), startMaster(t, js)
	follower.FollowLeader(leader.Addr())
	c := client(t, Config{}, follower)
	s, ev, err := c.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL.Host != leader.Addr() || s.Leader.String() != "master@"+leader.Addr() || s.Heartbeat != 15*time.Second {
		t.Errorf("stream from %s, leader %v, heartbeat %v", s.URL.Host, s.Leader, s.Heartbeat)
	}
	var cl state.Cluster
	cl.Apply(ev)
	if st := cl.State(); len(st.Agents) == 0 || len(st.Frameworks) != 2 {
		t.Errorf("snapshot: %d agents, %d frameworks", len(st.Agents), len(st.Frameworks))
	}
	// The heartbeat that follows SUBSCRIBED, then what the master emits, in order.
	if ev, err := s.Next(); err != nil || ev.Type != state.EventHeartbeat {
		t.Fatalf("after SUBSCRIBED: %v %v", ev, err)
	}
	leader.Emit(`{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"x"}}}`)
	leader.Emit(`{"type":"FRAMEWORK_REMOVED","framework_removed":{"framework_info":{"id":{"value":"y"}}}}`)
	for _, want := range []string{state.EventAgentRemoved, state.EventFrameworkRemoved} {
		if ev, err := s.Next(); err != nil || ev.Type != want {
			t.Fatalf("want %s: %v %v", want, ev, err)
		}
	}
	// A master that exits ends the stream.
	leader.DropStreams()
	if _, err := s.Next(); err == nil {
		t.Error("the stream outlived its master")
	}
}

func TestSubscribeFallsBackToPolling(t *testing.T) {
	js := capture(t)
	old := startMaster(t, js)
	old.SetStream(false)
	if _, _, err := client(t, Config{}, old).Subscribe(context.Background()); !errors.Is(err, ErrNoStream) {
		t.Errorf("master without the v1 API: %v", err)
	}
	quiet := startMaster(t, js)
	quiet.SetHeartbeat(0)
	if _, _, err := client(t, Config{}, quiet).Subscribe(context.Background()); !errors.Is(err, ErrNoStream) {
		t.Errorf("master without heartbeats: %v", err)
	}
	// One master down, one without the stream: not a reason to give up streaming.
	down := startMaster(t, js)
	down.Down()
	if _, _, err := client(t, Config{}, down, old).Subscribe(context.Background()); err == nil || errors.Is(err, ErrNoStream) {
		t.Errorf("a master down and one old: %v", err)
	}
	busy := startMaster(t, js)
	busy.SetFault("503", 0)
	if _, _, err := client(t, Config{}, busy).Subscribe(context.Background()); !errors.Is(err, ErrNoLeader) {
		t.Errorf("503: %v", err)
	}
}

func TestStreamStalls(t *testing.T) {
	m := startMaster(t, capture(t))
	m.SetHeartbeat(100 * time.Millisecond)
	s, _, err := client(t, Config{}, m).Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Heartbeats keep it alive.
	for range 5 {
		if ev, err := s.Next(); err != nil || ev.Type != state.EventHeartbeat {
			t.Fatalf("heartbeat: %v %v", ev, err)
		}
	}
	m.PauseHeartbeats(true)
	start := time.Now()
	var err2 error
	for err2 == nil {
		_, err2 = s.Next()
	}
	// Three intervals, of at least a second each (the announced 100 ms is held to it).
	if !errors.Is(err2, ErrStalled) || time.Since(start) > 10*time.Second {
		t.Errorf("after heartbeats stopped: %v after %v", err2, time.Since(start))
	}
}

func TestSubscribeSendsCredentials(t *testing.T) {
	m := startMaster(t, capture(t))
	s, _, err := client(t, Config{Principal: "dns", Secret: "s3cret"}, m).Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.HasPrefix(m.LastAuthorization(), "Basic ") {
		t.Errorf("authorization %q", m.LastAuthorization())
	}
}

func TestStreamBadRecordEndsIt(t *testing.T) {
	m := startMaster(t, capture(t))
	s, _, err := client(t, Config{}, m).Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Next() // heartbeat
	m.Emit(`{"type":"TASK_ADDED","task_added":"not a task"}`)
	if _, err := s.Next(); !errors.Is(err, state.ErrEvent) {
		t.Errorf("a record that does not decode: %v", err)
	}
}

// TestSnapshotDeadline: a SUBSCRIBED snapshot that trickles in, a byte at a time, feeds
// the watchdog for ever; the snapshot as a whole is bounded by two timeouts.
func TestSnapshotDeadline(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "1000000\n")
		w.(http.Flusher).Flush()
		// Long past the bound, then a record that does not decode.
		for range 250 {
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "x")
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c, err := New(Config{Masters: []*url.URL{u}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Subscribe(context.Background())
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "snapshot") {
		t.Fatalf("Subscribe: %v, want the snapshot's bound (ErrStalled)", err)
	}
}
