package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func apply(t *testing.T, c *Cluster, records ...string) {
	t.Helper()
	for _, r := range records {
		ev, err := DecodeEvent([]byte(r))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		c.Apply(ev)
	}
}

const subscribed = `{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15,"get_state":{
	"get_agents":{"agents":[
		{"agent_info":{"hostname":"a0","port":5051,"id":{"value":"S0"}},"pid":"slave(1)@10.0.1.1:5051"},
		{"agent_info":{"hostname":"a1","port":5051,"id":{"value":"S1"}},"pid":"slave(1)@10.0.1.2:5051"}]},
	"get_frameworks":{"frameworks":[{"framework_info":{"id":{"value":"F1"},"name":"marathon","hostname":"10.0.0.9"}}]},
	"get_tasks":{"tasks":[
		{"name":"web","task_id":{"value":"web.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING",
		 "resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31001},{"begin":31001,"end":31002}]}}]},
		{"name":"api","task_id":{"value":"api.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"state":"TASK_RUNNING"}]}}}}`

func added(id, name, agent string) string {
	return fmt.Sprintf(`{"type":"TASK_ADDED","task_added":{"task":{"name":%q,"task_id":{"value":%q},"framework_id":{"value":"F1"},"agent_id":{"value":%q},"state":"TASK_STAGING"}}}`, name, id, agent)
}

func updated(framework, id, state, ip string) string {
	return fmt.Sprintf(`{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":%q},"state":%q,"status":{"task_id":{"value":%q},"agent_id":{"value":"S0"},"state":%q,"timestamp":2,
		"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":%q}]}]}}}}`, framework, state, id, state, ip)
}

func tasks(st *State) string {
	var out []string
	for _, f := range st.Frameworks {
		for _, t := range f.Tasks {
			out = append(out, t.ID+"="+t.State.String())
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestClusterEvents(t *testing.T) {
	var c Cluster
	apply(t, &c, subscribed)
	st := c.State()
	if len(st.Agents) != 2 || tasks(st) != "api.1=TASK_RUNNING,web.1=TASK_RUNNING" {
		t.Fatalf("snapshot: agents %v tasks %s", st.Agents, tasks(st))
	}
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if tk.ID == "web.1" && (len(tk.Ports) != 1 || tk.Ports[0] != (PortRange{31000, 31002})) {
				t.Errorf("ports %v, want the ranges merged", tk.Ports)
			}
		}
	}
	// Launch: added, then running with its address merged into the known task.
	apply(t, &c, added("new.1", "new", "S0"), updated("F1", "new.1", "TASK_RUNNING", "10.9.0.7"))
	st = c.State()
	if tasks(st) != "api.1=TASK_RUNNING,new.1=TASK_RUNNING,web.1=TASK_RUNNING" {
		t.Fatalf("after launch: %s", tasks(st))
	}
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if tk.ID == "new.1" {
				s, ok := tk.LatestRunning()
				if !ok || len(s.IPs) != 1 || s.IPs[0].String() != "10.9.0.7" || tk.Name != "new" {
					t.Errorf("merged task %+v", tk)
				}
			}
		}
	}
	// An update for a task never added, or of another framework, changes nothing.
	apply(t, &c, updated("F1", "ghost.1", "TASK_RUNNING", "10.9.0.8"), updated("F9", "web.1", "TASK_KILLED", ""))
	if tasks(c.State()) != "api.1=TASK_RUNNING,new.1=TASK_RUNNING,web.1=TASK_RUNNING" || c.Skipped[SkipEventUnknownTask] != 2 {
		t.Errorf("unknown task updates: %s, skipped %v", tasks(c.State()), c.Skipped)
	}
	// A terminal state removes the task.
	apply(t, &c, updated("F1", "web.1", "TASK_KILLED", ""))
	if tasks(c.State()) != "api.1=TASK_RUNNING,new.1=TASK_RUNNING" {
		t.Errorf("after a kill: %s", tasks(c.State()))
	}
	// An agent removed takes its tasks along.
	apply(t, &c, `{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"S1"}}}`)
	if st := c.State(); len(st.Agents) != 1 || tasks(st) != "new.1=TASK_RUNNING" {
		t.Errorf("after agent removal: %v %s", st.Agents, tasks(st))
	}
	// Unknown event types are counted and ignored.
	if changed := c.Apply(&Event{Type: "TASK_TELEPORTED"}); changed || c.Skipped[SkipEventUnknownType] != 1 {
		t.Errorf("unknown event: changed %v, skipped %v", changed, c.Skipped)
	}
	if c.Apply(&Event{Type: EventHeartbeat}) {
		t.Error("a heartbeat changed the records")
	}
	// A framework removed takes its tasks along.
	apply(t, &c, `{"type":"FRAMEWORK_REMOVED","framework_removed":{"framework_info":{"id":{"value":"F1"},"name":"marathon"}}}`)
	if st := c.State(); len(st.Frameworks) != 0 || tasks(st) != "" {
		t.Errorf("after framework removal: %v", st.Frameworks)
	}
	// A new snapshot replaces everything.
	apply(t, &c, subscribed)
	if tasks(c.State()) != "api.1=TASK_RUNNING,web.1=TASK_RUNNING" || c.Skipped.Total() != 0 {
		t.Errorf("after a new snapshot: %s %v", tasks(c.State()), c.Skipped)
	}
}

func TestClusterRecoveredAgents(t *testing.T) {
	var c Cluster
	apply(t, &c, `{"type":"SUBSCRIBED","subscribed":{"get_state":{"get_agents":{"recovered_agents":[{"hostname":"a0","id":{"value":"S0"},"port":5051}]}}}}`)
	if st := c.State(); len(st.Recovered) != 1 || st.Recovered[0].ID != "S0" || len(st.Agents) != 0 {
		t.Fatalf("recovered %v agents %v", st.Recovered, st.Agents)
	}
	apply(t, &c, `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"a0","port":5051,"id":{"value":"S0"}},"pid":"slave(1)@10.0.1.1:5051"}}}`)
	if st := c.State(); len(st.Recovered) != 0 || len(st.Agents) != 1 {
		t.Errorf("after re-registration: recovered %v agents %v", st.Recovered, st.Agents)
	}
}

func TestDecodeEventErrors(t *testing.T) {
	for _, rec := range []string{`{`, `[]`, `{"type":"TASK_ADDED"}`, `{"type":"SUBSCRIBED"}`, `{}`, `{"type":"TASK_UPDATED","task_updated":"x"}`} {
		if _, err := DecodeEvent([]byte(rec)); err == nil {
			t.Errorf("%s decoded", rec)
		}
	}
	if ev, err := DecodeEvent([]byte(`{"type":"SOMETHING_NEW","something_new":{}}`)); err != nil || ev.Type != "SOMETHING_NEW" {
		t.Errorf("an unknown type is no error: %v %v", ev, err)
	}
}

// TestNeededStatuses checks that the statuses a Cluster keeps of a task give the same
// Latest and LatestRunning as all of them, ties and out-of-order timestamps included.
func TestNeededStatuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := rng.IntN(6)
		ss := make([]Status, 0, n)
		for i := range n {
			ss = append(ss, Status{
				State:     []TaskState{TaskRunning, TaskStaging, TaskKilled}[rng.IntN(3)],
				Timestamp: float64(rng.IntN(4)),
				Healthy:   Health(i % 3),
				Labels:    []Label{{Key: "i", Value: strconv.Itoa(i)}},
			})
		}
		// As the stream keeps them, and as the decoder does, one status at a time.
		var added []Status
		for _, s := range ss {
			if added = append(added, s); len(added) > 2 {
				added = keepNeeded(added)
			}
		}
		all := Task{Statuses: ss}
		for _, kept := range []Task{{Statuses: needed(slices.Clone(ss))}, {Statuses: added}} {
			if len(kept.Statuses) > 2 {
				t.Fatalf("kept %d statuses", len(kept.Statuses))
			}
			for _, running := range []bool{false, true} {
				a, aok := all.latest(running)
				k, kok := kept.latest(running)
				if aok != kok || aok && a.Labels[0] != k.Labels[0] {
					t.Fatalf("running=%v: all %v gives %v, kept %v gives %v", running, ss, a, kept.Statuses, k)
				}
			}
		}
	}
}

// A resync's snapshot keeps the values the cluster had where nothing changed, so that
// the long-lived values stay where they are; what changed takes the new value.
func TestClusterResyncKeepsValues(t *testing.T) {
	var c Cluster
	apply(t, &c, subscribed, updated("F1", "web.1", "TASK_RUNNING", "10.1.1.1"))
	before := c.All().Tasks
	web, api := TaskKey{Framework: "F1", Task: "web.1"}, TaskKey{Framework: "F1", Task: "api.1"}
	// The same snapshot but for api.1, which moved to the other agent.
	again := strings.Replace(subscribed, `"agent_id":{"value":"S1"}`, `"agent_id":{"value":"S0"}`, 1)
	apply(t, &c, again)
	after := c.All().Tasks
	if len(after) != 2 {
		t.Fatalf("tasks after the resync: %v", after)
	}
	// web.1's status from the event is not in the snapshot: a new value.
	if after[web] == before[web] || len(after[web].Statuses) != 0 {
		t.Errorf("web.1 kept a value the snapshot does not hold: %+v", after[web])
	}
	if after[api] == before[api] || after[api].AgentID != "S0" {
		t.Errorf("api.1 kept its old value: %+v", after[api])
	}
	apply(t, &c, again)
	final := c.All().Tasks
	for k, v := range after {
		if final[k] != v {
			t.Errorf("%v: an unchanged task got a new value", k)
		}
		if !SameTask(final[k], v) {
			t.Errorf("%v: the kept value differs from the snapshot's", k)
		}
	}
	if c.agents["S0"].ID != "S0" || len(c.agents) != 2 {
		t.Errorf("agents after resyncs: %v", c.agents)
	}
}

// A task holds one or two statuses, and 100k tasks are held: 72 octets would be 80 in
// the allocator's classes.
func TestStatusSize(t *testing.T) {
	if n := unsafe.Sizeof(Status{}); n != 64 {
		t.Errorf("Status is %d octets, want 64", n)
	}
}

// 100k tasks are held one by one by the stream's cluster: a Task over 128 octets
// would take 144 in the allocator's classes.
func TestTaskSize(t *testing.T) {
	if n := unsafe.Sizeof(Task{}); n > 128 {
		t.Errorf("Task is %d octets, want at most 128", n)
	}
}
