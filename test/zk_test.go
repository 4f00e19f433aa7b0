package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
	"github.com/coredns-mesos/mesos/test/zkserver"

	"github.com/go-zookeeper/zk"
	"github.com/miekg/dns"
)

func needZooKeeper(t *testing.T) {
	t.Helper()
	if m := zkserver.Missing(); m != "" {
		missing(t, m)
	}
}

type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

// elect registers m in ZooKeeper's election as a Mesos master does, with a session of
// its own; it returns the znode.
func elect(t *testing.T, server string, m *fakemaster.Master) (*zk.Conn, string) {
	t.Helper()
	// A session timeout long enough that a busy machine (or ZooKeeper's own restart in
	// TestZooKeeper) does not expire it: the tests end leadership by deleting the znode.
	conn, events, err := zk.Connect([]string{server}, 15*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	timeout := time.After(2 * time.Minute)
	for session := false; !session; {
		select {
		case ev := <-events:
			session = ev.State == zk.StateHasSession
		case <-timeout:
			t.Fatalf("no ZooKeeper session from %s", server)
		}
	}
	host, port, _ := net.SplitHostPort(m.Addr())
	p, _ := strconv.Atoi(port)
	info := fmt.Sprintf(`{"id":"m-%s","pid":"master@%s","hostname":%q,"port":%d,"address":{"ip":%q,"port":%d}}`, port, m.Addr(), host, p, host, p)
	if _, err := conn.Create("/mesos", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		t.Fatal(err)
	}
	path, err := conn.Create("/mesos/json.info_", []byte(info), zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	return conn, path
}

func leaderPort(t *testing.T, addr string) string {
	t.Helper()
	r, err := exchange(addr, "udp", "_leader._tcp.mesos.", dns.TypeSRV, 1232)
	if err != nil || len(r.Answer) != 1 {
		return ""
	}
	return strconv.Itoa(int(r.Answer[0].(*dns.SRV).Port))
}

// TestZooKeeper: the masters come from ZooKeeper's election, in both modes; the next
// master leads when the leader's znode goes; ZooKeeper stopped and restarted while
// serving costs no answer.
func TestZooKeeper(t *testing.T) {
	needZooKeeper(t)
	for _, mode := range []string{"stream", "poll"} {
		t.Run(mode, func(t *testing.T) {
			srv := zkserver.Start(t)
			js := clusterJSON(2, 2, false)
			a, b := startMaster(t, js), startMaster(t, js)
			connA, pathA := elect(t, srv.Addr, a)
			elect(t, srv.Addr, b)
			a.SetHeartbeat(500 * time.Millisecond)
			s := startCoreDNS(t, mesosBlock("zk://127.0.0.1:1,"+srv.Addr+"/mesos", "        mode "+mode))
			s.waitReady()
			_, portA, _ := net.SplitHostPort(a.Addr())
			_, portB, _ := net.SplitHostPort(b.Addr())
			if got := leaderPort(t, s.addr); got != portA {
				t.Fatalf("_leader._tcp port %s, want A's %s", got, portA)
			}
			if r := ask(t, s.addr, "udp", "master1.mesos.", dns.TypeA, 1232); len(r.Answer) != 1 {
				t.Errorf("master1 (B, second in the election): %v", r.Answer)
			}
			if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 2 {
				t.Fatalf("app-0: %d", n)
			}
			lost := keepAsking(t, s.addr, "app-0.marathon.mesos.", 2)
			// ZooKeeper goes away and comes back: the last leader and records stay.
			srv.Down()
			eventually(t, "the lost session reported", 60*time.Second, func() bool { return s.metric("coredns_mesos_zookeeper_connected") == 0 })
			time.Sleep(time.Second)
			srv.Up()
			eventually(t, "the session back", 60*time.Second, func() bool { return s.metric("coredns_mesos_zookeeper_connected") == 1 })
			// A gives up leadership: its znode goes, B leads.
			if err := connA.Delete(pathA, -1); err != nil {
				t.Fatal(err)
			}
			a.FollowLeader(b.Addr())
			eventually(t, "B leading", 60*time.Second, func() bool { return leaderPort(t, s.addr) == portB })
			if s.metric("coredns_mesos_zookeeper_leader_changes_total") < 1 {
				t.Error("no leader change counted")
			}
			if n := lost(); n != 0 {
				t.Errorf("%d answers lost through ZooKeeper's restart and the leader change", n)
			}
		})
	}
}

// TestZooKeeperLeaderChangePolling: polling with an hour between polls, the records
// follow ZooKeeper's new leader at once, not at the next poll.
func TestZooKeeperLeaderChangePolling(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	js := clusterJSON(2, 2, false)
	a, b := startMaster(t, js), startMaster(t, js)
	connA, pathA := elect(t, srv.Addr, a)
	elect(t, srv.Addr, b)
	s := startCoreDNS(t, "    mesos {\n        masters zk://"+srv.Addr+"/mesos\n        mode poll\n        refresh 1h\n    }")
	s.waitReady()
	_, portA, _ := net.SplitHostPort(a.Addr())
	_, portB, _ := net.SplitHostPort(b.Addr())
	if got := leaderPort(t, s.addr); got != portA {
		t.Fatalf("_leader._tcp port %s, want A's %s", got, portA)
	}
	a.FollowLeader(b.Addr())
	if err := connA.Delete(pathA, -1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B leading, long before the next poll", 20*time.Second, func() bool { return leaderPort(t, s.addr) == portB })
}

// TestZooKeeperDownAtStart: SERVFAIL (never NXDOMAIN) until ZooKeeper names a leader,
// then answers; the plugin never gives up.
func TestZooKeeperDownAtStart(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	srv.Down()
	m := startMaster(t, clusterJSON(1, 1, false))
	s := startCoreDNS(t, mesosBlock("zk://"+srv.Addr+"/mesos", ""))
	// Once the server answers at all, and as long as ZooKeeper is down, it answers
	// SERVFAIL.
	var r *dns.Msg
	eventually(t, "an answer of any kind", time.Minute, func() bool {
		var err error
		r, err = exchange(s.addr, "udp", "app-0.marathon.mesos.", dns.TypeA, 1232)
		return err == nil
	})
	if r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("before ZooKeeper: %v", r)
	}
	srv.Up()
	elect(t, srv.Addr, m)
	eventually(t, "answers once ZooKeeper names the leader", 30*time.Second, func() bool { return aCount(t, s.addr, "app-0.marathon.mesos.") == 1 })
}

// TestZooKeeperHealthyStartLogsNoError: a start with ZooKeeper up and a master elected
// logs no ERROR and no failed refresh while the session is being set up.
func TestZooKeeperHealthyStartLogsNoError(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	m := startMaster(t, clusterJSON(1, 1, false))
	elect(t, srv.Addr, m)
	for _, mode := range []string{"stream", "poll"} {
		t.Run(mode, func(t *testing.T) {
			s := startCoreDNS(t, mesosBlock("zk://"+srv.Addr+"/mesos", "        mode "+mode))
			s.waitReady()
			eventually(t, "answers", 10*time.Second, func() bool { return aCount(t, s.addr, "app-0.marathon.mesos.") == 1 })
			log := s.log.String()
			var said []string
			for _, bad := range []string{"[ERROR]", "refresh failed", "event stream ended"} {
				if strings.Contains(log, bad) {
					said = append(said, bad)
				}
			}
			if len(said) > 0 {
				t.Errorf("a healthy start logged %q:\n%s", said, log)
			}
		})
	}
}

// TestZooKeeperReloadedAway: a reload that takes ZooKeeper out of the block leaves no
// zookeeper_* series behind (a 0 there reads as a lost session), and the session the
// reload ended is not logged as lost.
func TestZooKeeperReloadedAway(t *testing.T) {
	needZooKeeper(t)
	srv := zkserver.Start(t)
	m := startMaster(t, clusterJSON(1, 1, false))
	elect(t, srv.Addr, m)
	s := startCoreDNS(t, mesosBlock("zk://"+srv.Addr+"/mesos", ""))
	s.waitReady()
	eventually(t, "the session up", 10*time.Second, func() bool { return s.metric("coredns_mesos_zookeeper_connected") == 1 })
	s.writeConf(mesosBlock(m.URL(), ""))
	s.cmd.Process.Signal(syscall.SIGUSR1)
	eventually(t, "the reload", 15*time.Second, func() bool { return strings.Contains(s.log.String(), "Reloading complete") })
	for _, name := range []string{"coredns_mesos_zookeeper_connected", "coredns_mesos_zookeeper_leader_changes_total"} {
		if s.hasMetric(name) {
			t.Errorf("%s still exported after ZooKeeper left the block", name)
		}
	}
	if strings.Contains(s.log.String(), "session lost") {
		t.Errorf("the reload logged a lost session:\n%s", s.log.String())
	}
	if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 1 {
		t.Errorf("app-0 after the reload: %d", n)
	}
}
