package records

import (
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// Failover keeps DNS whole through a master failover. A new leader lists the agents
// that have not re-registered with it yet as recovered, and knows none of their tasks
// for up to ten minutes: their tasks keep the records they had until the agent is back
// (then the master's view wins) or the bound passes. A state that would drop most
// records at once with no recovered agents to explain it (a wiped registry, a proxy
// answering an empty state) is published only if a second look, confirm later, says
// the same.
type Failover struct {
	timeout time.Duration // agent_reregister_timeout
	confirm time.Duration

	since     map[string]time.Time // recovered agent → when it was first seen so
	dropSince time.Time            // when a large drop was first seen, zero if none
	dropAfter int                  // the running tasks that drop left
}

// NewFailover returns a failover gate that keeps the tasks of recovered agents for up
// to timeout (agent_reregister_timeout), and confirms a large drop by a second look
// confirm later.
func NewFailover(timeout, confirm time.Duration) *Failover {
	return &Failover{timeout: timeout, confirm: confirm}
}

// minDrop is the fewest tasks a drop must take before it needs confirming: a small
// cluster that loses its few tasks is not suspicious.
const minDrop = 10

// Published is what the records were last made of, held-back tasks included: the
// Updater.
type Published interface {
	// Running is the number of running tasks.
	Running() int
	// HeldOn returns the agents among keep, and their tasks grouped by framework.
	HeldOn(keep map[string]bool) ([]state.Agent, []state.Framework)
}

// Check returns the state to publish, st with the tasks of recovered agents put back,
// and how many tasks that put back. A wait above zero means: publish nothing now,
// look again after wait. expiry, above zero, is when the bound of a recovered agent's
// tasks passes: the state must be looked at again then, even if nothing else changes.
// last, nil before the first state, is what is published now.
func (f *Failover) Check(st *state.State, now time.Time, last Published) (out *state.State, held int, wait, expiry time.Duration) {
	held, gone, expiry := f.holdBack(st, now, last)
	if wait := f.Drop(st.Running(), gone, now, last); wait > 0 {
		return nil, 0, wait, 0
	}
	return st, held, 0, expiry
}

// Drop is Check's second half, for a state of after running tasks, where explained of
// the tasks published before are gone for a known reason (their agent did not come
// back in time): above zero, how long to wait before a large drop may be published.
// Recovered agents explain the loss of their own tasks only.
func (f *Failover) Drop(after, explained int, now time.Time, last Published) time.Duration {
	before := 0
	if last != nil {
		before = last.Running() - explained
	}
	if before >= minDrop && after*2 < before {
		// The second look must see the same drop: another (a different count) starts
		// the wait again, so that one drop is never confirmed by a look at another.
		if f.dropSince.IsZero() || after != f.dropAfter {
			f.dropSince, f.dropAfter = now, after
		}
		if left := f.confirm - now.Sub(f.dropSince); left > 0 {
			return left
		}
	}
	f.dropSince = time.Time{}
	return 0
}

// holdBack adds to st the agents it lists as recovered, with the tasks they ran in the
// last state published, until the agent re-registers or the bound passes. It returns
// how many tasks it put back, how many running tasks of the last state it let go
// because their agent's bound passed, and how long until the next bound passes.
func (f *Failover) holdBack(st *state.State, now time.Time, last Published) (held, gone int, expiry time.Duration) {
	if len(st.Recovered) == 0 {
		f.since = nil
		return 0, 0, 0
	}
	if f.since == nil {
		f.since = make(map[string]time.Time)
	}
	present := make(map[string]bool, len(st.Agents))
	for _, a := range st.Agents {
		present[a.ID] = true
	}
	waiting := make(map[string]bool)
	for _, r := range st.Recovered {
		if present[r.ID] {
			continue
		}
		first, ok := f.since[r.ID]
		if !ok {
			first = now
		}
		waiting[r.ID] = true
		f.since[r.ID] = first
	}
	for id := range f.since {
		if !waiting[id] {
			delete(f.since, id)
		}
	}
	if last == nil {
		return 0, 0, 0
	}
	if len(waiting) == 0 {
		return 0, 0, 0
	}
	keep := make(map[string]bool)
	for id := range waiting {
		if left := f.timeout - now.Sub(f.since[id]); left > 0 {
			keep[id] = true
			if expiry == 0 || left < expiry {
				expiry = left
			}
		}
	}
	// One pass over what was published: the agents still kept and their tasks go
	// back into st; the running tasks of those past their bound are gone.
	agents, frameworks := last.HeldOn(waiting)
	kept := make(map[string]bool, len(keep))
	for _, a := range agents {
		if keep[a.ID] {
			kept[a.ID] = true
			st.Agents = append(st.Agents, a)
		}
	}
	index := make(map[string]int, len(st.Frameworks))
	for i := range st.Frameworks {
		index[st.Frameworks[i].ID] = i
	}
	for _, pf := range frameworks {
		for _, t := range pf.Tasks {
			if !keep[t.AgentID] {
				if t.State == state.TaskRunning {
					gone++
				}
				continue
			}
			if !kept[t.AgentID] {
				continue
			}
			i, ok := index[pf.ID]
			if !ok {
				i = len(st.Frameworks)
				index[pf.ID] = i
				st.Frameworks = append(st.Frameworks, state.Framework{ID: pf.ID, Name: pf.Name, Hostname: pf.Hostname, PID: pf.PID})
			}
			st.Frameworks[i].Tasks = append(st.Frameworks[i].Tasks, t)
			held++
		}
	}
	return held, gone, expiry
}
