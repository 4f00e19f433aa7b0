package zk

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/test/zkserver"

	"github.com/go-json-experiment/json"
	"github.com/go-zookeeper/zk"
)

func needZooKeeper(t *testing.T) {
	t.Helper()
	if m := zkserver.Missing(); m != "" {
		if os.Getenv("MESOS_TEST_ALL") != "" {
			t.Fatalf("needs %s (MESOS_TEST_ALL is set)", m)
		}
		t.Skipf("SKIPPED, not passed: needs %s; MESOS_TEST_ALL=1 makes this a failure", m)
	}
}

// watcher records what a Detector reports.
type watcher struct {
	mu      sync.Mutex
	lists   [][]state.PID
	session bool
}

func (w *watcher) last() ([]state.PID, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lists) == 0 {
		return nil, w.session
	}
	return w.lists[len(w.lists)-1], w.session
}

func (w *watcher) leader() string {
	l, _ := w.last()
	if len(l) == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d", l[0].Host, l[0].Port)
}

func detect(t *testing.T, servers ...string) *watcher {
	t.Helper()
	w := &watcher{}
	d := &Detector{
		Servers: servers, Path: "/mesos", SessionTimeout: 4 * time.Second,
		OnChange:  func(l []state.PID) { w.mu.Lock(); w.lists = append(w.lists, l); w.mu.Unlock() },
		OnSession: func(c bool) { w.mu.Lock(); w.session = c; w.mu.Unlock() },
		Logf:      t.Logf,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// register is a master taking part in the election: an ephemeral sequential znode
// with its MasterInfo, held by a session of its own.
func register(t *testing.T, server, info string) (*zk.Conn, string) {
	t.Helper()
	conn := connect(t, server)
	if _, err := conn.Create("/mesos", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		t.Fatal(err)
	}
	path, err := conn.Create("/mesos/json.info_", []byte(info), zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	return conn, path
}

// connect opens a session of its own, waiting until ZooKeeper has granted it.
func connect(t *testing.T, server string) *zk.Conn {
	t.Helper()
	// Long enough that a busy machine does not expire it: the tests end a master's
	// leadership by deleting its znode.
	conn, events, err := zk.Connect([]string{server}, 15*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-timeout:
			t.Fatal("no ZooKeeper session")
		}
	}
}

func masterInfo(ip string, port int) string {
	return fmt.Sprintf(`{"id":"m-%s","pid":"master@%s:%d","hostname":"m","port":%d,"address":{"hostname":"m","ip":%q,"port":%d}}`, ip, ip, port, port, ip, port)
}

func TestDetectorFollowsTheElection(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	w := detect(t, "127.0.0.1:1", srv.Addr) // one ensemble member down must not matter
	first, firstPath := register(t, srv.Addr, masterInfo("127.0.0.11", 5050))
	register(t, srv.Addr, masterInfo("127.0.0.12", 5050))
	// Not masters: other children, and protobuf info_ nodes of old masters.
	other := connect(t, srv.Addr)
	other.Create("/mesos/log_replicas", nil, 0, zk.WorldACL(zk.PermAll))
	other.Create("/mesos/info_0000000099", []byte{8, 1}, 0, zk.WorldACL(zk.PermAll))
	eventually(t, "both masters, the first leading", func() bool {
		l, _ := w.last()
		return len(l) == 2 && w.leader() == "127.0.0.11:5050" && l[1].Host == "127.0.0.12"
	})
	// The leader's znode goes: the next one leads.
	if err := first.Delete(firstPath, -1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the next master leading", func() bool { return w.leader() == "127.0.0.12:5050" })
	// A third master joins behind it.
	register(t, srv.Addr, masterInfo("127.0.0.13", 5051))
	eventually(t, "three in order", func() bool {
		l, _ := w.last()
		return len(l) == 2 && l[1].Host == "127.0.0.13" && l[1].Port == 5051
	})
}

func TestDetectorThroughZooKeeperOutages(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	srv.Down()
	// Down at start: it keeps trying.
	w := detect(t, srv.Addr)
	time.Sleep(2 * time.Second)
	if l, _ := w.last(); l != nil {
		t.Fatalf("masters %v with ZooKeeper down", l)
	}
	srv.Up()
	register(t, srv.Addr, masterInfo("127.0.0.11", 5050))
	eventually(t, "the leader after ZooKeeper came up", func() bool { return w.leader() == "127.0.0.11:5050" })
	// Stopped while serving: the last list stands, the session is reported lost.
	srv.Down()
	eventually(t, "the session reported lost", func() bool { _, s := w.last(); return !s })
	if w.leader() != "127.0.0.11:5050" {
		t.Errorf("the leader was forgotten while ZooKeeper was down")
	}
	// Back: the session comes back and the election is read again.
	srv.Up()
	eventually(t, "the session back", func() bool { _, s := w.last(); return s })
	register(t, srv.Addr, masterInfo("127.0.0.14", 5050))
	eventually(t, "changes seen after the restart", func() bool {
		l, _ := w.last()
		return len(l) >= 1 && l[len(l)-1].Host == "127.0.0.14"
	})
}

func TestMasterInfoFallbacks(t *testing.T) {
	cases := map[string]string{
		`{"address":{"ip":"10.0.0.2","hostname":"m1","port":5050},"ip":16777343,"port":5051}`: "10.0.0.2:5050",
		`{"ip":16777343,"port":5051,"hostname":"m1"}`:                                         "127.0.0.1:5051",
		`{"address":{"hostname":"m1","port":5050}}`:                                           "m1:5050",
		`{"pid":"master@10.0.0.3:5050"}`:                                                      "10.0.0.3:5050",
		`{"hostname":"m4","port":5050}`:                                                       "m4:5050",
	}
	for in, want := range cases {
		var info state.MasterInfo
		if err := json.Unmarshal([]byte(in), &info); err != nil {
			t.Fatal(err)
		}
		p, ok := info.PID()
		if got := fmt.Sprintf("%s:%d", p.Host, p.Port); !ok || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, ok, want)
		}
	}
	var none state.MasterInfo
	if _, ok := none.PID(); ok {
		t.Error("an empty MasterInfo has an address")
	}
}
