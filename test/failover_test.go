package e2e

import (
	"testing"
	"time"
)

// TestReregisterTimeoutIsATimer: after a failover whose new leader lists every agent as
// recovered and never sees them come back, their tasks go when
// agent_reregister_timeout passes, though no event comes. Before, they stayed until the
// next unrelated change (a resync, minutes later). (Polling looks again at the bound
// too, or at the next poll if that is sooner: the guard's unit tests cover it.)
func TestReregisterTimeoutIsATimer(t *testing.T) {
	a := startMaster(t, clusterJSON(3, 2, false))
	b := startMaster(t, clusterJSON(3, 2, true))
	b.FollowLeader(a.Addr())
	s := startCoreDNS(t, "    mesos {\n        masters "+a.URL()+" "+b.URL()+"\n        mode stream\n        agent_reregister_timeout 2s\n    }")
	s.waitReady()
	if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 3 {
		t.Fatalf("app-0: %d answers", n)
	}
	a.FollowLeader(b.Addr())
	b.FollowLeader("")
	a.DropStreams()
	eventually(t, "tasks held back for the recovered agents", 15*time.Second, func() bool {
		return s.metric("coredns_mesos_held_tasks") == 6
	})
	eventually(t, "the held tasks gone at the bound", 15*time.Second, func() bool {
		return aCount(t, s.addr, "app-0.marathon.mesos.") == -1 && s.metric("coredns_mesos_held_tasks") == 0
	})
}
