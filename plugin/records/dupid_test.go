package records

import (
	"context"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

// A framework's tasks[] may list two entries with one task id (naming.md): Mesos-DNS
// served both, and so must a poll, a snapshot and the events after it.
const dupIDTasks = `
	{"id": "dup.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
	 "discovery": {"name": "web", "ports": {"ports": [{"number": 80, "name": "http", "protocol": "tcp"}]}}},
	{"id": "dup.1", "name": "api", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING",
	 "discovery": {"name": "api", "ports": {"ports": [{"number": 81, "name": "http", "protocol": "tcp"}]}}}`

func TestTasksSharingAnIDPoll(t *testing.T) {
	s := build(t, stateWith(dupIDTasks), nil)
	h := TaskHash("dup.1")
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	want(t, s, "web-"+h+"-s0.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "api-"+h+"-s1.marathon.mesos.", dns.TypeA, "10.0.1.2")
	want(t, s, "_api._tcp.marathon.mesos.", dns.TypeSRV, "0 1 81 api-"+h+"-s1.marathon.mesos.")
	if st := s.Stats(); st.Tasks != 2 {
		t.Errorf("tasks = %d, want 2", st.Tasks)
	}
}

func TestTasksSharingAnIDStream(t *testing.T) {
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	snapshot := `{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15,"get_state":{
		"get_agents":{"agents":[
			{"agent_info":{"hostname":"a0","id":{"value":"S0"},"port":5051},"pid":"slave(1)@10.0.1.1:5051"},
			{"agent_info":{"hostname":"a1","id":{"value":"S1"},"port":5051},"pid":"slave(1)@10.0.1.2:5051"}]},
		"get_frameworks":{"frameworks":[{"framework_info":{"id":{"value":"fw"},"name":"marathon","user":"root"}}]},
		"get_tasks":{"tasks":[
			{"name":"web","task_id":{"value":"dup.1"},"framework_id":{"value":"fw"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING","resources":[]},
			{"name":"api","task_id":{"value":"dup.1"},"framework_id":{"value":"fw"},"agent_id":{"value":"S1"},"state":"TASK_RUNNING","resources":[]},
			{"name":"gone","task_id":{"value":"dup.1"},"framework_id":{"value":"fw"},"agent_id":{"value":"S1"},"state":"TASK_KILLED","resources":[]}]}}}}`
	update := func(st string) string {
		return `{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"fw"},"state":"` + st +
			`","status":{"task_id":{"value":"dup.1"},"state":"` + st + `","timestamp":2}}}`
	}
	var c state.Cluster
	c.Leader = state.PID{ID: "master", Host: "10.0.0.2", Port: 5050}
	u := NewUpdater(&o)
	var s *Set
	step := func(rec string) {
		t.Helper()
		ev, err := state.DecodeEvent([]byte(rec))
		if err != nil {
			t.Fatal(err)
		}
		c.Apply(ev)
		ch, all := c.Changes()
		if all {
			u.Update(context.Background(), c.State())
		} else {
			u.apply(context.Background(), &changes{agents: ch.Agents, fws: ch.Frameworks, tasks: ch.Tasks},
				&state.State{Leader: c.Leader, Skipped: c.Skipped})
		}
		s = u.Publish(s)
		sameSets(t, "after "+ev.Type, s, Build(context.Background(), c.State(), o, nil))
	}
	step(snapshot)
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	exists(t, s, "gone.marathon.mesos.", false)

	// An update names the task by its id: it applies to both entries.
	step(update("TASK_STAGING"))
	exists(t, s, "web.marathon.mesos.", false)
	exists(t, s, "api.marathon.mesos.", false)
	step(update("TASK_RUNNING"))
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	// The first entry's agent goes: the other entry stays, and is still the one the
	// events apply to, whichever way the updater was given the snapshot.
	step(`{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"S0"}}}`)
	exists(t, s, "web.marathon.mesos.", false)
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	// A whole state made of the cluster (as the failover guard takes it) numbers the
	// entries as the cluster does.
	u.Update(context.Background(), c.State())
	s = u.Publish(s)
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	step(update("TASK_STAGING"))
	exists(t, s, "api.marathon.mesos.", false)
	step(update("TASK_RUNNING"))
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.0.1.2")
	step(update("TASK_KILLED"))
	exists(t, s, "web.marathon.mesos.", false)
	exists(t, s, "api.marathon.mesos.", false)
	if st := s.Stats(); st.Tasks != 0 {
		t.Errorf("tasks = %d after the kill, want 0", st.Tasks)
	}
}
