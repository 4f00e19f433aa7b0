package records

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// cluster is a state of agents S0..S(agents-1) with perAgent running tasks each.
func cluster(agents, perAgent int, recovered ...string) *state.State {
	st := &state.State{Leader: state.PID{Host: "10.0.0.2", Port: 5050}}
	f := state.Framework{ID: "F1", Name: "marathon"}
	for a := range agents {
		id := fmt.Sprintf("S%d", a)
		st.Agents = append(st.Agents, state.Agent{ID: id, PID: state.PID{ID: "slave(1)", Host: fmt.Sprintf("10.0.1.%d", a+1), Port: 5051}})
		for i := range perAgent {
			f.Tasks = append(f.Tasks, state.Task{ID: fmt.Sprintf("t%d-%d", a, i), Name: fmt.Sprintf("app%d", i), AgentID: id, State: state.TaskRunning})
		}
	}
	st.Frameworks = []state.Framework{f}
	for _, r := range recovered {
		st.Recovered = append(st.Recovered, state.Agent{ID: r})
	}
	return st
}

// guarded is a failover guard in front of an updater, as the refresh goroutine has it:
// what the guard lets through is what the records are then made of.
type guarded struct {
	f *Failover
	u *Updater
	// expiry is what the last check said of the held tasks' bound.
	expiry time.Duration
}

func guard(f *Failover) *guarded {
	o := DefaultOptions()
	return &guarded{f: f, u: NewUpdater(&o)}
}

func (g *guarded) check(st *state.State, now time.Time) (*state.State, int, time.Duration) {
	out, held, wait, expiry := g.f.Check(st, now, g.u)
	g.expiry = expiry
	if wait == 0 {
		g.u.Update(context.Background(), out)
		g.u.Publish(nil)
	}
	return out, held, wait
}

func TestFailoverHoldsBackRecoveredAgents(t *testing.T) {
	f := guard(&Failover{timeout: 10 * time.Minute, confirm: 3 * time.Second})
	now := clockAt(1700000000)
	if out, _, wait := f.check(cluster(3, 5), now); wait != 0 || out.Running() != 15 {
		t.Fatalf("first state: wait %v", wait)
	}
	// The new leader: every agent recovered, no task known.
	thin := &state.State{Leader: state.PID{Host: "10.0.0.3", Port: 5050}, Recovered: []state.Agent{{ID: "S0"}, {ID: "S1"}, {ID: "S2"}}}
	out, held, wait := f.check(thin, now.Add(time.Second))
	if wait != 0 || held != 15 || out.Running() != 15 || len(out.Agents) != 3 || out.Leader.Host != "10.0.0.3" {
		t.Fatalf("after failover: wait %v held %d tasks %d agents %d leader %v", wait, held, out.Running(), len(out.Agents), out.Leader)
	}
	// S0 re-registers with 2 of its 5 tasks: the master's view wins for S0.
	back := cluster(1, 2, "S1", "S2")
	out, held, _ = f.check(back, now.Add(time.Minute))
	if held != 10 || out.Running() != 12 {
		t.Errorf("one agent back: held %d, tasks %d, want 10 held and 12 in all", held, out.Running())
	}
	// Past the bound the rest goes.
	out, held, wait = f.check(cluster(1, 2, "S1", "S2"), now.Add(11*time.Minute))
	if held != 0 || out.Running() != 2 || wait != 0 {
		t.Errorf("past the bound: held %d tasks %d wait %v", held, out.Running(), wait)
	}
}

func TestFailoverConfirmsLargeDrops(t *testing.T) {
	f := guard(&Failover{timeout: 10 * time.Minute, confirm: 3 * time.Second})
	now := clockAt(1700000000)
	f.check(cluster(4, 10), now)
	// An empty state with no recovered agents: held back, look again in 3 s.
	if out, _, wait := f.check(cluster(0, 0), now.Add(time.Second)); out != nil || wait != 3*time.Second {
		t.Fatalf("empty state published at once: wait %v", wait)
	}
	// The master recovered meanwhile: the drop was a glitch and is forgotten.
	if out, _, wait := f.check(cluster(4, 10), now.Add(2*time.Second)); out == nil || wait != 0 {
		t.Fatalf("good state after a glitch: wait %v", wait)
	}
	if _, _, wait := f.check(cluster(1, 10), now.Add(3*time.Second)); wait != 3*time.Second {
		t.Fatalf("a drop to a quarter: wait %v, want a fresh 3 s", wait)
	}
	// Still so a second look later: published.
	if out, _, wait := f.check(cluster(1, 10), now.Add(4*time.Second)); wait != 2*time.Second || out != nil {
		t.Fatalf("too early: wait %v", wait)
	}
	if out, _, wait := f.check(cluster(1, 10), now.Add(6*time.Second)); wait != 0 || out.Running() != 10 {
		t.Fatalf("confirmed drop: wait %v", wait)
	}
	// Small changes and small clusters publish at once.
	if _, _, wait := f.check(cluster(1, 6), now.Add(7*time.Second)); wait != 0 {
		t.Errorf("a drop from 10 to 6 waited %v", wait)
	}
	f2 := guard(&Failover{timeout: time.Minute, confirm: time.Second})
	f2.check(cluster(1, 5), now)
	if _, _, wait := f2.check(cluster(0, 0), now); wait != 0 {
		t.Errorf("a 5-task cluster emptied waited %v", wait)
	}
}

// TestFailoverRecoveredExplainOnlyTheirOwn: a new leader that lists one agent of ten as
// recovered explains the loss of that agent's tasks, not of the other nine's: the rest
// of the drop still waits for a second look.
func TestFailoverRecoveredExplainOnlyTheirOwn(t *testing.T) {
	f := guard(&Failover{timeout: 10 * time.Minute, confirm: 3 * time.Second})
	now := clockAt(1700000000)
	f.check(cluster(10, 5), now)
	thin := &state.State{Leader: state.PID{Host: "10.0.0.3", Port: 5050}, Recovered: []state.Agent{{ID: "S0"}}}
	if out, _, wait := f.check(thin, now.Add(time.Second)); out != nil || wait != 3*time.Second {
		t.Fatalf("45 of 50 tasks gone with one agent recovering: published (wait %v)", wait)
	}
	// All ten recovering: nothing is lost, nothing waits.
	all := &state.State{Leader: thin.Leader}
	for a := range 10 {
		all.Recovered = append(all.Recovered, state.Agent{ID: fmt.Sprintf("S%d", a)})
	}
	if out, held, wait := f.check(all, now.Add(2*time.Second)); wait != 0 || held != 50 || out.Running() != 50 {
		t.Fatalf("every agent recovering: wait %v held %d", wait, held)
	}
}

// TestFailoverBoundIsATimer: the guard says when the held tasks' bound passes, so that
// they go then, not at the next unrelated change; once past it, their loss is
// explained and published at once.
func TestFailoverBoundIsATimer(t *testing.T) {
	f := guard(&Failover{timeout: 10 * time.Minute, confirm: 3 * time.Second})
	now := clockAt(1700000000)
	f.check(cluster(3, 5), now)
	if _, held, wait := f.check(cluster(1, 5, "S1", "S2"), now.Add(time.Second)); held != 10 || wait != 0 || f.expiry != 10*time.Minute {
		t.Fatalf("held %d wait %v expiry %v, want 10 held and the bound in 10m", held, wait, f.expiry)
	}
	if f.check(cluster(1, 5, "S1", "S2"), now.Add(4*time.Minute+time.Second)); f.expiry != 6*time.Minute {
		t.Fatalf("expiry %v four minutes on, want 6m", f.expiry)
	}
	out, held, wait := f.check(cluster(1, 5, "S1", "S2"), now.Add(10*time.Minute+time.Second))
	if held != 0 || wait != 0 || out.Running() != 5 || f.expiry != 0 {
		t.Fatalf("past the bound: held %d wait %v tasks %d expiry %v", held, wait, out.Running(), f.expiry)
	}
}

// TestFailoverConfirmsTheSameDrop: a drop is confirmed only by a second look at the same
// drop. A state that drops half the agents' tasks is held; before the next look the
// master gives an empty state: that is another drop, and it waits its own 3 s. Before,
// the empty state was published 0.3 s after it was first seen, confirmed by the look
// at the first drop.
func TestFailoverConfirmsTheSameDrop(t *testing.T) {
	f := guard(&Failover{timeout: 10 * time.Minute, confirm: 3 * time.Second})
	now := clockAt(1700000000)
	f.check(cluster(10, 5), now)
	if out, _, wait := f.check(cluster(4, 5), now.Add(time.Second)); out != nil || wait != 3*time.Second {
		t.Fatalf("60%% of the tasks gone: wait %v", wait)
	}
	empty := &state.State{Leader: state.PID{Host: "10.0.0.2", Port: 5050}}
	if out, _, wait := f.check(empty, now.Add(3700*time.Millisecond)); out != nil || wait != 3*time.Second {
		t.Fatalf("an empty state after another drop: wait %v, want a fresh 3s", wait)
	}
	if out, _, wait := f.check(empty, now.Add(6700*time.Millisecond)); out == nil || wait != 0 {
		t.Fatalf("the empty state seen again 3 s later: wait %v", wait)
	}
}
