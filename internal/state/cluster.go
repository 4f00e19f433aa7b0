package state

import (
	"maps"
	"slices"
)

// Cluster is a master's view of the cluster kept up to date by the event stream: a
// SUBSCRIBED snapshot replaces it, and each event after it changes it. State turns it
// into the same State the /master/state decoder gives, for the same record builder.
type Cluster struct {
	// Leader is the master the stream comes from.
	Leader     PID
	agents     map[string]Agent
	recovered  map[string]Agent
	frameworks map[string]Framework
	tasks      map[taskKey]*Task
	pids       map[string]PID
	// Skipped counts what the snapshot and the events left out, by reason.
	Skipped Skips
}

// Task ids repeat across frameworks: a task is known by both.
type taskKey struct{ framework, task string }

// Reasons an event is left out.
const (
	SkipEventUnknownTask = "event_unknown_task"
	SkipEventUnknownType = "event_unknown_type"
)

// maxStatuses bounds the statuses kept per task: each TASK_UPDATED adds one, and the
// records need only the latest running one and the latest one.
const maxStatuses = 8

// Apply changes c by one event; it reports whether the records may have changed. An
// unknown event type is counted and ignored.
func (c *Cluster) Apply(ev *Event) bool {
	switch ev.Type {
	case EventSubscribed:
		c.reset(&ev.Subscribed.GetState)
	case EventGetState:
		c.reset(ev.GetState)
	case EventHeartbeat:
		return false
	case EventTaskAdded:
		t, ok := ev.TaskAdded.Task.task(&c.Skipped)
		if !ok {
			return false
		}
		k := taskKey{t.FrameworkID, t.ID}
		if old, ok := c.tasks[k]; ok && len(t.Statuses) == 0 {
			// A failed-over leader adds again the tasks it learns from an agent.
			t.Statuses = old.Statuses
		}
		c.putTask(&t)
	case EventTaskUpdated:
		u := ev.TaskUpdated
		k := taskKey{u.FrameworkID.Value, u.Status.TaskID.Value}
		t, ok := c.tasks[k]
		if !ok {
			// The update carries no name, ports or discovery: nothing to publish.
			c.Skipped.Add(SkipEventUnknownTask)
			return false
		}
		st, ok := ParseTaskState(u.State)
		if !ok {
			st, _ = ParseTaskState(u.Status.State)
		}
		if terminal(st) {
			delete(c.tasks, k)
			return true
		}
		t.State = st
		if u.Status.AgentID.Value != "" {
			t.AgentID = u.Status.AgentID.Value
		}
		s := u.Status.status(&c.Skipped)
		if len(t.Statuses) >= maxStatuses {
			t.Statuses = slices.Delete(t.Statuses, 0, len(t.Statuses)-maxStatuses+1)
		}
		t.Statuses = append(t.Statuses, s)
	case EventAgentAdded:
		a, ok := ev.AgentAdded.Agent.agent(&c.Skipped)
		if !ok {
			return false
		}
		c.agents[a.ID] = a
		delete(c.recovered, a.ID)
	case EventAgentRemoved:
		id := ev.AgentRemoved.AgentID.Value
		delete(c.agents, id)
		delete(c.recovered, id)
		for k, t := range c.tasks {
			if t.AgentID == id {
				delete(c.tasks, k)
			}
		}
	case EventFrameworkAdded, EventFrameworkUpdated:
		var info *v1FrameworkInfo
		if ev.Type == EventFrameworkAdded {
			info = &ev.FrameworkAdded.Framework.FrameworkInfo
		} else {
			info = &ev.FrameworkUpdated.Framework.FrameworkInfo
		}
		f, ok := info.framework(&c.Skipped)
		if !ok {
			return false
		}
		c.frameworks[f.ID] = f
	case EventFrameworkRemoved:
		id := ev.FrameworkRemoved.FrameworkInfo.ID.Value
		delete(c.frameworks, id)
		for k := range c.tasks {
			if k.framework == id {
				delete(c.tasks, k)
			}
		}
	default:
		c.Skipped.Add(SkipEventUnknownType)
		return false
	}
	return true
}

func (c *Cluster) reset(gs *v1GetState) {
	c.agents = make(map[string]Agent, len(gs.GetAgents.Agents))
	c.recovered = make(map[string]Agent)
	c.frameworks = make(map[string]Framework, len(gs.GetFrameworks.Frameworks))
	c.tasks = make(map[taskKey]*Task, len(gs.GetTasks.Tasks))
	c.Skipped = nil
	for i := range gs.GetAgents.Agents {
		if a, ok := gs.GetAgents.Agents[i].agent(&c.Skipped); ok {
			c.agents[a.ID] = a
		}
	}
	for _, info := range gs.GetAgents.RecoveredAgents {
		if info.ID.Value != "" {
			if _, ok := c.agents[info.ID.Value]; !ok {
				c.recovered[info.ID.Value] = Agent{ID: info.ID.Value, Hostname: info.Hostname}
			}
		}
	}
	for i := range gs.GetFrameworks.Frameworks {
		if f, ok := gs.GetFrameworks.Frameworks[i].FrameworkInfo.framework(&c.Skipped); ok {
			c.frameworks[f.ID] = f
		}
	}
	for i := range gs.GetTasks.Tasks {
		if t, ok := gs.GetTasks.Tasks[i].task(&c.Skipped); ok {
			c.putTask(&t)
		}
	}
}

func (c *Cluster) putTask(t *Task) {
	if terminal(t.State) {
		delete(c.tasks, taskKey{t.FrameworkID, t.ID})
		return
	}
	if len(t.Statuses) > maxStatuses {
		slices.SortStableFunc(t.Statuses, func(a, b Status) int {
			switch {
			case a.Timestamp < b.Timestamp:
				return -1
			case a.Timestamp > b.Timestamp:
				return 1
			}
			return 0
		})
		t.Statuses = t.Statuses[len(t.Statuses)-maxStatuses:]
	}
	c.tasks[taskKey{t.FrameworkID, t.ID}] = t
}

// terminal reports whether a task in state s is gone for good.
func terminal(s TaskState) bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone, TaskGoneByOperator:
		return true
	}
	return false
}

// SetPIDs gives the frameworks their scheduler pids, which the v1 API does not carry
// (they come from /master/state-summary); it reports whether any changed.
func (c *Cluster) SetPIDs(pids map[string]PID) bool {
	changed := len(pids) != len(c.pids)
	for id, p := range pids {
		changed = changed || c.pids[id] != p
	}
	c.pids = pids
	return changed
}

// Ready reports whether a snapshot has been applied.
func (c *Cluster) Ready() bool { return c.agents != nil }

// State is the cluster as the record builder takes it. Tasks whose framework is not
// known yet are held back until it is (they would have no F).
func (c *Cluster) State() *State {
	st := &State{Leader: c.Leader, Skipped: maps.Clone(c.Skipped)}
	st.Agents = make([]Agent, 0, len(c.agents))
	for _, a := range c.agents {
		st.Agents = append(st.Agents, a)
	}
	for _, a := range c.recovered {
		st.Recovered = append(st.Recovered, a)
	}
	index := make(map[string]int, len(c.frameworks))
	st.Frameworks = make([]Framework, 0, len(c.frameworks))
	for _, f := range c.frameworks {
		f.PID = c.pids[f.ID]
		index[f.ID] = len(st.Frameworks)
		st.Frameworks = append(st.Frameworks, f)
	}
	for _, t := range c.tasks {
		if i, ok := index[t.FrameworkID]; ok {
			st.Frameworks[i].Tasks = append(st.Frameworks[i].Tasks, *t)
		}
	}
	return st
}
