package e2e

import (
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/zkserver"
)

// TestZooKeeperLeaderLeads: ZooKeeper names a new leader while the old one still
// answers as leader (a master cut off from ZooKeeper leads until its session expires).
// The plugin follows ZooKeeper's leader, in both modes: the new leader's tasks are
// served. Before, it went back to the last leader it had used, and never asked the new
// one.
func TestZooKeeperLeaderLeads(t *testing.T) {
	needZooKeeper(t)
	for _, mode := range []string{"stream", "poll"} {
		t.Run(mode, func(t *testing.T) {
			srv := zkserver.Start(t)
			old, next := startMaster(t, clusterJSON(2, 2, false)), startMaster(t, clusterJSON(3, 2, false))
			connOld, pathOld := elect(t, srv.Addr, old)
			elect(t, srv.Addr, next)
			s := startCoreDNS(t, "    mesos {\n        masters zk://"+srv.Addr+"/mesos\n        mode "+mode+"\n        refresh 1h\n    }")
			s.waitReady()
			if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 2 {
				t.Fatalf("app-0 from the first leader: %d answers", n)
			}
			// The old leader's znode goes; the old master answers as leader all the same.
			if err := connOld.Delete(pathOld, -1); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the new leader's tasks served", 15*time.Second, func() bool {
				return aCount(t, s.addr, "app-0.marathon.mesos.") == 3
			})
			if next.Hits("/master/state")+next.Subscriptions() == 0 {
				t.Error("the new leader was never asked")
			}
		})
	}
}
