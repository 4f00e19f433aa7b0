package e2e

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

// A cluster of agents a-S0.. on 127.0.0.(2+N), framework "f" (marathon), perAgent tasks
// app-I on each with container address 127.1.N.I; recovered lists every agent as not
// yet re-registered, with no agents or tasks known, as a new leader right after a
// failover.
func clusterJSON(agents, perAgent int, recovered bool) []byte {
	var slaves, rec, tasks []string
	for a := range agents {
		id := fmt.Sprintf("a-S%d", a)
		if recovered {
			rec = append(rec, fmt.Sprintf(`{"id":%q,"hostname":"127.0.0.%d","port":5051}`, id, 2+a))
			continue
		}
		slaves = append(slaves, fmt.Sprintf(`{"id":%q,"pid":"slave(1)@127.0.0.%d:5051"}`, id, 2+a))
		for i := range perAgent {
			tasks = append(tasks, taskJSON(fmt.Sprintf("app-%d.%d", i, a), fmt.Sprintf("app-%d", i), id, fmt.Sprintf("127.1.%d.%d", a, i+1)))
		}
	}
	return []byte(`{"leader":"master@127.0.0.1:5050","slaves":[` + strings.Join(slaves, ",") + `],"recovered_slaves":[` + strings.Join(rec, ",") +
		`],"frameworks":[{"id":"f","name":"marathon","pid":"scheduler@127.0.0.9:7000","tasks":[` + strings.Join(tasks, ",") + `]}]}`)
}

func taskJSON(id, name, agent, ip string) string {
	return fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_RUNNING","resources":{"ports":"[31000-31000]"},`+
		`"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":%q}]}]}}]}`, id, name, agent, ip)
}

func taskAdded(t *testing.T, id, name, agent string) string {
	t.Helper()
	v1, err := fakemaster.TaskToV1([]byte(fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_STAGING","resources":{"ports":"[31000-31000]"}}`, id, name, agent)), "f")
	if err != nil {
		t.Fatal(err)
	}
	return `{"type":"TASK_ADDED","task_added":{"task":` + v1 + `}}`
}

func taskUpdated(id, agent, state, ip, healthy string) string {
	extra := ""
	if healthy != "" {
		extra = `,"healthy":` + healthy
	}
	return fmt.Sprintf(`{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"f"},"state":%q,"status":{"task_id":{"value":%q},"agent_id":{"value":%q},"state":%q,"timestamp":%d%s,`+
		`"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":%q}]}]}}}}`, state, id, agent, state, time.Now().UnixNano(), extra, ip)
}

func aCount(t *testing.T, addr, name string) int {
	t.Helper()
	r, err := exchange(addr, "udp", name, dns.TypeA, 1232)
	if err != nil {
		return -2
	}
	if r.Rcode == dns.RcodeNameError {
		return -1
	}
	return len(r.Answer)
}

// TestStreamFollowsChanges: with the event stream (the default) a launch, a kill, a
// health flip and an agent's removal show in DNS as they happen, without polling.
func TestStreamFollowsChanges(t *testing.T) {
	m := startMaster(t, clusterJSON(2, 2, false))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        healthy_only"))
	s.waitReady()
	if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 2 {
		t.Fatalf("app-0: %d answers", n)
	}
	if s.metric("coredns_mesos_mode", `mode="stream"`) != 1 || s.metric("coredns_mesos_stream_connected") != 1 {
		t.Fatalf("not streaming")
	}
	polls := m.Hits("/master/state")
	m.Emit(taskAdded(t, "new.1", "new", "a-S0"))
	m.Emit(taskUpdated("new.1", "a-S0", "TASK_RUNNING", "127.1.0.99", ""))
	eventually(t, "the launched task", 5*time.Second, func() bool { return aCount(t, s.addr, "new.marathon.mesos.") == 1 })
	// A failed health check takes it out (healthy_only), a good one puts it back.
	m.Emit(taskUpdated("new.1", "a-S0", "TASK_RUNNING", "127.1.0.99", "false"))
	eventually(t, "the unhealthy task gone", 5*time.Second, func() bool { return aCount(t, s.addr, "new.marathon.mesos.") == -1 })
	m.Emit(taskUpdated("new.1", "a-S0", "TASK_RUNNING", "127.1.0.99", "true"))
	eventually(t, "the healthy task back", 5*time.Second, func() bool { return aCount(t, s.addr, "new.marathon.mesos.") == 1 })
	// A kill.
	m.Emit(taskUpdated("app-1.0", "a-S0", "TASK_KILLED", "", ""))
	eventually(t, "the killed task gone", 5*time.Second, func() bool { return aCount(t, s.addr, "app-1.marathon.mesos.") == 1 })
	// An agent removed takes its tasks along.
	m.Emit(`{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"a-S1"}}}`)
	eventually(t, "the agent's tasks gone", 5*time.Second, func() bool { return aCount(t, s.addr, "app-0.marathon.mesos.") == 1 })
	if got := m.Hits("/master/state"); got != polls {
		t.Errorf("the state was polled %d times while streaming", got-polls)
	}
	if s.metric("coredns_mesos_events_total", `type="TASK_UPDATED"`) < 4 || s.metric("coredns_mesos_event_publish_duration_seconds_count") < 4 {
		t.Errorf("events or their publication not counted")
	}
}

// TestStreamDropsAndStalls: a stream that closes or falls silent is reopened, with the
// old answers served meanwhile, and what comes after is applied.
func TestStreamDropsAndStalls(t *testing.T) {
	m := startMaster(t, clusterJSON(2, 2, false))
	m.SetHeartbeat(200 * time.Millisecond)
	s := startCoreDNS(t, mesosBlock(m.URL(), ""))
	s.waitReady()
	lost := keepAsking(t, s.addr, "app-0.marathon.mesos.", 2)
	m.DropStreams()
	eventually(t, "a new stream", 10*time.Second, func() bool { return m.Subscriptions() >= 2 && m.Streams() == 1 })
	eventually(t, "the close counted", 5*time.Second, func() bool {
		return s.metric("coredns_mesos_stream_reconnects_total", `reason="closed"`) >= 1
	})
	m.Emit(taskAdded(t, "late.1", "late", "a-S0"))
	m.Emit(taskUpdated("late.1", "a-S0", "TASK_RUNNING", "127.1.0.77", ""))
	eventually(t, "an event after the reconnect", 5*time.Second, func() bool { return aCount(t, s.addr, "late.marathon.mesos.") == 1 })
	// Heartbeats stop: three intervals later the stream counts as dead.
	subs := m.Subscriptions()
	m.PauseHeartbeats(true)
	eventually(t, "the stall noticed", 10*time.Second, func() bool {
		return s.metric("coredns_mesos_stream_reconnects_total", `reason="stalled"`) >= 1
	})
	m.PauseHeartbeats(false)
	eventually(t, "a stream again", 10*time.Second, func() bool { return m.Subscriptions() > subs && m.Streams() == 1 })
	if n := lost(); n != 0 {
		t.Errorf("%d answers lost while the stream was down", n)
	}
}

// keepAsking queries name until the test ends and returns a function that tells how
// many answers did not have want records. A query that got no answer at all (a client
// timeout on a loaded machine) is no wrong answer; most must get one.
func keepAsking(t *testing.T, addr, name string, want int) func() int64 {
	t.Helper()
	var bad, sent, unanswered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			switch n := aCount(t, addr, name); {
			case n == -2:
				unanswered.Add(1)
			case n != want:
				bad.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	var once sync.Once
	finish := func() { once.Do(func() { close(stop); wg.Wait() }) }
	t.Cleanup(finish)
	return func() int64 {
		finish()
		if sent.Load() < 10 || unanswered.Load()*2 > sent.Load() {
			t.Errorf("%d queries sent, %d unanswered", sent.Load(), unanswered.Load())
		}
		return bad.Load()
	}
}

// TestFailoverKeepsAnswers: a second master takes over whose state lists every agent as
// recovered and knows no task (as a real one does for minutes): no answer is lost while
// the agents re-register, in stream and in poll mode, and then the new master's view wins.
func TestFailoverKeepsAnswers(t *testing.T) {
	for _, mode := range []string{"stream", "poll"} {
		t.Run(mode, func(t *testing.T) {
			a := startMaster(t, clusterJSON(3, 2, false))
			b := startMaster(t, clusterJSON(3, 2, true))
			b.FollowLeader(a.Addr())
			s := startCoreDNS(t, mesosBlock(a.URL()+" "+b.URL(), "        mode "+mode))
			s.waitReady()
			lost := keepAsking(t, s.addr, "app-0.marathon.mesos.", 3)
			a.FollowLeader(b.Addr())
			b.FollowLeader("")
			a.DropStreams()
			eventually(t, "tasks held back for the recovered agents", 10*time.Second, func() bool {
				return s.metric("coredns_mesos_held_tasks") == 6
			})
			r := ask(t, s.addr, "udp", "leader.mesos.", dns.TypeA, 1232)
			if len(r.Answer) != 1 {
				t.Errorf("leader: %v", r.Answer)
			}
			time.Sleep(time.Second)
			if n := lost(); n != 0 {
				t.Errorf("%d answers lost after the failover", n)
			}
			// The agents re-register; one task is gone meanwhile.
			back := strings.Replace(string(clusterJSON(3, 2, false)), taskJSON("app-0.2", "app-0", "a-S2", "127.1.2.1")+",", "", 1)
			b.SetState([]byte(back))
			b.DropStreams()
			eventually(t, "the new master's view", 10*time.Second, func() bool {
				return aCount(t, s.addr, "app-0.marathon.mesos.") == 2 && s.metric("coredns_mesos_held_tasks") == 0
			})
		})
	}
}

// TestMasterThatOnlyPolls: a master without the event stream (before 1.5) is polled,
// with no option needed, and its changes show at the next refresh.
func TestMasterThatOnlyPolls(t *testing.T) {
	m := startMaster(t, clusterJSON(2, 2, false))
	m.SetStream(false)
	s := startCoreDNS(t, mesosBlock(m.URL(), ""))
	s.waitReady()
	eventually(t, "poll mode", 5*time.Second, func() bool {
		return s.metric("coredns_mesos_mode", `mode="poll"`) == 1 && s.metric("coredns_mesos_mode", `mode="stream"`) == 0
	})
	m.SetState(clusterJSON(2, 3, false))
	eventually(t, "a change by polling", 5*time.Second, func() bool { return aCount(t, s.addr, "app-2.marathon.mesos.") == 2 })
}

// TestLargeDropConfirmed: a state that would empty the zone with no agent recovering
// (a wiped registry, a proxy's empty answer) is served only after a second look.
func TestLargeDropConfirmed(t *testing.T) {
	m := startMaster(t, clusterJSON(3, 4, false))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        mode poll"))
	s.waitReady()
	m.SetState([]byte(`{"leader":"master@127.0.0.1:5050","slaves":[{"id":"a-S0","pid":"slave(1)@127.0.0.2:5051"}],"frameworks":[]}`))
	eventually(t, "the drop held back", 5*time.Second, func() bool { return s.metric("coredns_mesos_drops_held_total") >= 1 })
	if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 3 {
		t.Errorf("answers went at once: %d", n)
	}
	eventually(t, "the drop served after a second look", 10*time.Second, func() bool { return aCount(t, s.addr, "app-0.marathon.mesos.") == -1 })
	if !strings.Contains(s.log.String(), "confirmed by a second look") {
		t.Error("the confirmation was not logged")
	}
}

// TestSecondLookAsksTheMaster: one SUBSCRIBED snapshot lists nothing, while GET_STATE,
// /master/state and every later SUBSCRIBE list the tasks. The drop guard holds that
// snapshot back, and its second look asks the master again: no name ever goes
// NXDOMAIN. Before, the second look re-read the empty copy and every name went.
func TestSecondLookAsksTheMaster(t *testing.T) {
	m := startMaster(t, clusterJSON(4, 4, false))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        mode stream"))
	s.waitReady()
	if n := aCount(t, s.addr, "app-0.marathon.mesos."); n != 4 {
		t.Fatalf("app-0: %d answers", n)
	}
	lost := keepAsking(t, s.addr, "app-0.marathon.mesos.", 4)
	subs := m.Subscriptions()
	m.SnapshotOnce([]byte(`{"slaves":[],"frameworks":[]}`))
	m.DropStreams()
	eventually(t, "the empty snapshot held back", 10*time.Second, func() bool {
		return s.metric("coredns_mesos_drops_held_total") >= 1
	})
	eventually(t, "a second look at the master", 15*time.Second, func() bool {
		return s.metric("coredns_mesos_stream_reconnects_total", `reason="second_look"`) >= 1 && m.Subscriptions() >= subs+2 && m.Streams() == 1
	})
	// The snapshot of the second look is published: the drop is forgotten.
	eventually(t, "the second look's snapshot served", 10*time.Second, func() bool {
		return s.metric("coredns_mesos_drops_held_total") >= 1 && aCount(t, s.addr, "app-1.marathon.mesos.") == 4
	})
	if bad := lost(); bad > 0 {
		t.Errorf("%d answers for app-0 were not its 4 instances during the held drop", bad)
	}
}
