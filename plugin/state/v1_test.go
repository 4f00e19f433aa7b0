package state

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A snapshot with one off-type field in one entity loses that entity, counted, and
// keeps the rest: as /master/state does.
func TestSnapshotSkipsBadEntities(t *testing.T) {
	snap := `{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15,"get_state":{
	"get_agents":{"agents":[
		{"agent_info":{"hostname":"a0","port":5051,"id":{"value":"S0"}},"pid":"slave(1)@10.0.1.1:5051"},
		{"agent_info":{"hostname":"a1","port":"5051","id":{"value":"S1"}},"pid":"slave(1)@10.0.1.2:5051"}]},
	"get_frameworks":{"frameworks":[{"framework_info":{"id":{"value":"F1"},"name":"marathon","hostname":"10.0.0.9"}}]},
	"get_tasks":{"tasks":[
		{"name":"web","task_id":{"value":"web.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING"},
		{"name":"health","task_id":{"value":"health.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING",
		 "statuses":[{"state":"TASK_RUNNING","timestamp":1,"healthy":"true"}]},
		{"name":"ports","task_id":{"value":"ports.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING",
		 "resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":-1,"end":31000}]}}]},
		{"name":["typed"],"task_id":{"value":"typed.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING"}]}}}}`
	ev, err := DecodeEvent([]byte(snap))
	if err != nil {
		t.Fatalf("one bad field failed the snapshot: %v", err)
	}
	var c Cluster
	c.Apply(ev)
	st := c.State()
	// The bad status costs only itself, as in the poll decoder.
	if got := tasks(st); got != "health.1=TASK_RUNNING,web.1=TASK_RUNNING" {
		t.Errorf("tasks %s", got)
	}
	if len(st.Agents) != 1 || st.Agents[0].ID != "S0" {
		t.Errorf("agents %v", st.Agents)
	}
	want := Skips{SkipAgentMalformed: 1, SkipStatusMalformed: 1, SkipTaskBadPorts: 1, SkipTaskMalformed: 1}
	for r, n := range want {
		if c.Skipped[r] != n {
			t.Errorf("skipped[%s] = %d, want %d (%v)", r, c.Skipped[r], n, c.Skipped)
		}
	}
	if c.Skipped.Total() != want.Total() {
		t.Errorf("skipped %v, want %v", c.Skipped, want)
	}
}

// An event with one bad field is left out and counted; it never ends the stream.
func TestEventsSkipBadEntities(t *testing.T) {
	var c Cluster
	apply(t, &c, subscribed)
	events := []struct {
		name, rec string
		reason    string
	}{
		{"port range below 1", `{"type":"TASK_ADDED","task_added":{"task":{"name":"p","task_id":{"value":"p.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_STAGING",
			"resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":-1,"end":5}]}}]}}}`, SkipTaskBadPorts},
		{"health as a string", `{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"F1"},"state":"TASK_RUNNING",
			"status":{"task_id":{"value":"web.1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING","timestamp":5,"healthy":"true"}}}`, SkipStatusMalformed},
		{"agent id a number", `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"a2","port":5051,"id":{"value":7}},"pid":"slave(1)@10.0.1.3:5051"}}}`, SkipAgentMalformed},
		{"framework name an object", `{"type":"FRAMEWORK_ADDED","framework_added":{"framework":{"framework_info":{"id":{"value":"F2"},"name":{}}}}}`, SkipFrameworkMalformed},
	}
	for _, e := range events {
		ev, err := DecodeEvent([]byte(e.rec))
		if err != nil {
			t.Errorf("%s: %v", e.name, err)
			continue
		}
		before := c.Skipped[e.reason]
		c.Apply(ev)
		if c.Skipped[e.reason] != before+1 {
			t.Errorf("%s: skipped %v, want one more %s", e.name, c.Skipped, e.reason)
		}
	}
	if got := tasks(c.State()); got != "api.1=TASK_RUNNING,web.1=TASK_RUNNING" {
		t.Errorf("tasks %s", got)
	}
	// A terminal update whose status is malformed still ends the task: the state is
	// the update's own field.
	apply(t, &c, `{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"F1"},"state":"TASK_KILLED",
		"status":{"task_id":{"value":"web.1"},"agent_id":{"value":"S0"},"state":"TASK_KILLED","healthy":"no"}}}`)
	if got := tasks(c.State()); got != "api.1=TASK_RUNNING" {
		t.Errorf("after a kill with a bad status: %s", got)
	}
}

// A DiscoveryInfo port numbered 0 costs that port, not the task (as in Mesos-DNS).
func TestEventDiscoveryPortZero(t *testing.T) {
	var c Cluster
	apply(t, &c, subscribed, `{"type":"TASK_ADDED","task_added":{"task":{"name":"d","task_id":{"value":"d.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING",
		"discovery":{"name":"d","visibility":"FRAMEWORK","ports":{"ports":[{"number":0,"name":"zero","protocol":"tcp"},{"number":80,"name":"http","protocol":"tcp"}]}}}}}`)
	tk := c.All().Tasks[TaskKey{Framework: "F1", Task: "d.1"}]
	if tk == nil || tk.Discovery == nil || len(tk.Discovery.Ports) != 1 || tk.Discovery.Ports[0].Number != 80 {
		t.Fatalf("task %+v", tk)
	}
	if c.Skipped[SkipTaskBadDiscovery] != 1 {
		t.Errorf("skipped %v", c.Skipped)
	}
}

// The stream's records are decoded as they arrive: a SUBSCRIBED record padded with
// blanks is refused at the bound, a string no record reads is passed over, and
// neither is ever held whole.
func TestEventMemoryBounded(t *testing.T) {
	head := `{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15,"get_state":{"get_agents":{"agents":[` +
		`{"agent_info":{"hostname":"a0","port":5051,"id":{"value":"S0"}},"pid":"slave(1)@10.0.1.1:5051"}]}},"x":`
	const n = 64 << 20
	var ev *Event
	alloc := allocated(func() {
		var err error
		ev, err = new(EventDecoder).Decode(stream(head+`"`, 'a', n, `"}}`))
		if err != nil {
			t.Errorf("a long string nothing reads: %v", err)
		}
	})
	if alloc > 8<<20 {
		t.Errorf("a %d-byte string cost %d bytes", n, alloc)
	}
	if ev != nil && (ev.Snapshot == nil || len(ev.Snapshot.Agents) != 1 || ev.Skipped[SkipValueTooLong] != 1) {
		t.Errorf("event %+v", ev)
	}
	alloc = allocated(func() {
		_, err := new(EventDecoder).Decode(stream(head, ' ', n, `1}}`))
		if err == nil || !strings.Contains(err.Error(), "blank") {
			t.Errorf("a record padded with blanks: %v", err)
		}
	})
	if alloc > 8<<20 {
		t.Errorf("%d blanks cost %d bytes", n, alloc)
	}
}

// FuzzDecodeEvent: any record gives an event or an error, never both or neither, and
// what an event keeps is whole: no task, agent or framework without its id.
func FuzzDecodeEvent(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/mesos/events-*.jsonl")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for rec := range bytes.SplitSeq(b, []byte("\n")) {
			f.Add(rec)
		}
	}
	f.Add([]byte(subscribed))
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := DecodeEvent(in)
		if (ev == nil) == (err == nil) {
			t.Fatalf("event %v with error %v", ev, err)
		}
		if err != nil {
			return
		}
		var tasks []FrameworkTask
		if ev.Snapshot != nil {
			tasks = ev.Snapshot.Tasks
			for _, a := range ev.Snapshot.Agents {
				if a.ID == "" {
					t.Fatalf("agent kept without id: %+v", a)
				}
			}
			for _, fw := range ev.Snapshot.Frameworks {
				if fw.ID == "" {
					t.Fatalf("framework kept without id: %+v", fw)
				}
			}
		}
		if ev.Task != nil {
			tasks = append(tasks, FrameworkTask{ev.FrameworkID, ev.Task})
		}
		for _, tk := range tasks {
			if tk.ID == "" || tk.Framework == "" {
				t.Fatalf("task kept without id: %+v", tk)
			}
			for i, p := range tk.Ports {
				if p.Begin == 0 || p.Begin > p.End || i > 0 && p.Begin <= tk.Ports[i-1].End {
					t.Fatalf("bad or overlapping range kept: %+v", tk.Ports)
				}
			}
			if tk.Discovery != nil {
				for _, p := range tk.Discovery.Ports {
					if p.Number == 0 {
						t.Fatalf("discovery port 0 kept: %+v", tk.Discovery)
					}
				}
			}
		}
		// Whatever decoded applies without a panic, after a snapshot as on a stream.
		var c Cluster
		first, _ := DecodeEvent([]byte(subscribed))
		c.Apply(first)
		c.Apply(ev)
		c.State()
	})
}

// A task added by the stream carries its network as /master/state does.
func TestEventNetwork(t *testing.T) {
	var c Cluster
	apply(t, &c, subscribed, `{"type":"TASK_ADDED","task_added":{"task":{"name":"web","task_id":{"value":"web.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},"state":"TASK_STAGING",
		"discovery":{"name":"web","ports":{"ports":[{"labels":{"labels":[{"key":"network-scope","value":"host"}]},"number":2160,"protocol":"tcp"}]}},
		"container":{"type":"MESOS","network_infos":[{"name":"mesos-bridge","port_mappings":[{"container_port":10080,"host_port":2160,"protocol":"tcp"}]}]}}}}`,
		`{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"F1"},"state":"TASK_RUNNING","status":{"task_id":{"value":"web.1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING","timestamp":2}}}`)
	tk := c.All().Tasks[TaskKey{Framework: "F1", Task: "web.1"}]
	if tk == nil || tk.State != TaskRunning || tk.Net == nil || !tk.ViaAgent() || len(tk.Net.Mappings) != 1 ||
		tk.Net.Mappings[0] != (PortMapping{Host: 2160, Container: 10080}) || !tk.HostPort(&tk.Discovery.Ports[0]) {
		t.Fatalf("task %+v, network %+v", tk, tk.Net)
	}
}

// An agent added, then added again in another fault domain: the cluster holds the
// last, and reports the agent changed.
func TestEventAgentDomain(t *testing.T) {
	var c Cluster
	added := func(zone string) string {
		return `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"id":{"value":"S9"},"hostname":"a9","port":5051,
			"domain":{"fault_domain":{"region":{"name":"aws/us-west-2"},"zone":{"name":"` + zone + `"}}}},"pid":"slave(1)@10.0.9.9:5051"}}}`
	}
	apply(t, &c, subscribed, added("aws/us-west-2a"))
	c.Changes()
	apply(t, &c, added("aws/us-west-2b"))
	ch, _ := c.Changes()
	a := c.All().Agents["S9"]
	if a == nil || a.Region != "aws/us-west-2" || a.Zone != "aws/us-west-2b" || ch.Agents["S9"] == nil {
		t.Fatalf("agent %+v, changes %+v", a, ch.Agents)
	}
}
