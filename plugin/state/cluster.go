package state

import (
	"maps"
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
	tasks      map[TaskKey]*Task
	// dups counts, for a task id that more than one entry of a framework's tasks
	// shares, the entries numbered so far (keyed with Dup 0).
	dups  map[TaskKey]int
	prev  map[TaskKey]*Task // the tasks before, while a snapshot replaces them
	pids  map[string]PID
	names map[string]string // strings that tasks share; made anew by each snapshot
	// Skipped counts what the snapshot and the events left out, by reason.
	Skipped Skips

	// What changed since Changes was last called; all after a snapshot.
	all         bool
	dirtyAgents map[string]struct{}
	dirtyFws    map[string]struct{}
	dirtyTasks  map[TaskKey]struct{}
}

// TaskKey names a task: task ids repeat across frameworks, a task is known by both.
// Within one framework an id may repeat too (two entries of its tasks[], which
// Mesos-DNS served both): Dup numbers those entries, 0 for the first.
type TaskKey struct {
	Framework, Task string
	Dup             int
}

// Reasons an event is left out.
const (
	SkipEventUnknownTask = "event_unknown_task"
	SkipEventUnknownType = "event_unknown_type"
)

// maxNames bounds the task names shared between snapshots.
const maxNames = 1 << 16

// needed keeps of a task's statuses the two the records read, the latest running one
// and the latest one (one status when they are the same), in the order they came, so
// that Latest and LatestRunning pick the same ones, ties included. Each TASK_UPDATED
// adds a status; without this a task's health checks would pile up.
func needed(ss []Status) []Status {
	a, b := neededIndexes(ss)
	switch {
	case a < 0:
		return ss
	case b < 0:
		return []Status{ss[a]}
	}
	return []Status{ss[a], ss[b]}
}

// keepNeeded is needed in place, for a decoder that adds statuses one by one.
func keepNeeded(ss []Status) []Status {
	a, b := neededIndexes(ss)
	switch {
	case a < 0:
		return ss
	case b < 0:
		ss[0] = ss[a]
		return ss[:1]
	}
	// a < b: ss[b] is still in place when ss[a] moves.
	ss[0], ss[1] = ss[a], ss[b]
	return ss[:2]
}

// neededIndexes are the indexes of the statuses needed keeps, in order; a is -1 when
// ss has at most one (all are kept), b is -1 when one is kept.
func neededIndexes(ss []Status) (a, b int) {
	if len(ss) <= 1 {
		return -1, -1
	}
	li, ri := -1, -1
	for i := range ss {
		// As Task.latest: the greatest timestamp, the later entry on a tie.
		if li < 0 || ss[i].Timestamp >= ss[li].Timestamp {
			li = i
		}
		if ss[i].State == TaskRunning && (ri < 0 || ss[i].Timestamp >= ss[ri].Timestamp) {
			ri = i
		}
	}
	switch {
	case ri < 0 || ri == li:
		return li, -1
	case ri < li:
		return ri, li
	}
	return li, ri
}

// Apply changes c by one event; it reports whether the records may have changed. What
// decoding left out of the event is counted; an unknown event type is counted and
// ignored.
func (c *Cluster) Apply(ev *Event) bool {
	if ev.Type == EventSubscribed || ev.Type == EventGetState {
		c.reset(ev.Snapshot)
	}
	for r, n := range ev.Skipped {
		c.Skipped.AddN(r, n)
	}
	switch ev.Type {
	case EventSubscribed, EventGetState:
		// Applied above, before its skips were counted.
	case EventHeartbeat:
		return false
	case EventTaskAdded:
		t := ev.Task
		if t == nil {
			return false
		}
		k := TaskKey{Framework: c.frameworkID(ev.FrameworkID), Task: t.ID}
		applied := false
		if !terminal(t.State) {
			// An event names a task by its id: it applies to each entry with that id.
			for k.Dup = range c.entries(k) {
				old, ok := c.tasks[k]
				if !ok {
					continue
				}
				applied = true
				e := *t
				if len(e.Statuses) == 0 {
					// A failed-over leader adds again the tasks it learns from an agent.
					e.Statuses = old.Statuses
				}
				c.putTask(&e, k)
			}
		}
		if !applied {
			k.Dup = 0
			c.putTask(t, k)
		}
	case EventTaskUpdated:
		u := ev.Update
		if u == nil {
			return false
		}
		k := TaskKey{Framework: u.FrameworkID, Task: u.TaskID}
		found := false
		for k.Dup = range c.entries(k) {
			old, ok := c.tasks[k]
			if !ok {
				continue
			}
			found = true
			c.taskDirty(k)
			if terminal(u.State) {
				delete(c.tasks, k)
				continue
			}
			// A new value, never a change in place: what Changes handed out stays as it was.
			t := *old
			t.State = u.State
			if u.AgentID != "" {
				t.AgentID = u.AgentID
			}
			if u.Status != nil {
				t.Statuses = needed(append(append(make([]Status, 0, len(old.Statuses)+1), old.Statuses...), *u.Status))
			}
			c.tasks[k] = &t
		}
		if !found {
			// The update carries no name, ports or discovery: nothing to publish.
			c.Skipped.Add(SkipEventUnknownTask)
			return false
		}
		if terminal(u.State) {
			k.Dup = 0
			delete(c.dups, k)
		}
	case EventAgentAdded:
		a := ev.Agent
		if a == nil {
			return false
		}
		c.agents[a.ID] = *a
		c.agentDirty(a.ID)
		delete(c.recovered, a.ID)
	case EventAgentRemoved:
		id := ev.AgentID
		delete(c.agents, id)
		c.agentDirty(id)
		delete(c.recovered, id)
		var split []TaskKey
		for k, t := range c.tasks {
			if t.AgentID == id {
				delete(c.tasks, k)
				c.taskDirty(k)
				if _, ok := c.dups[TaskKey{Framework: k.Framework, Task: k.Task}]; ok {
					split = append(split, k)
				}
			}
		}
		for _, k := range split {
			c.renumber(k)
		}
	case EventFrameworkAdded, EventFrameworkUpdated:
		f := ev.Framework
		if f == nil {
			return false
		}
		c.frameworks[f.ID] = *f
		c.fwDirty(f.ID)
	case EventFrameworkRemoved:
		id := ev.FrameworkID
		delete(c.frameworks, id)
		c.fwDirty(id)
		for k := range c.tasks {
			if k.Framework == id {
				delete(c.tasks, k)
				c.taskDirty(k)
			}
		}
		for k := range c.dups {
			if k.Framework == id {
				delete(c.dups, k)
			}
		}
	default:
		c.Skipped.Add(SkipEventUnknownType)
		return false
	}
	return true
}

// reset replaces c by a snapshot. What the snapshot holds as c already had it keeps the
// values c had: a resync then leaves the long-lived values where they are, and only
// the decoded copies, all short-lived, go (at 100k tasks, moving every task at each
// resync left the heap some 20 MB more fragmented).
func (c *Cluster) reset(snap *Snapshot) {
	if snap == nil {
		snap = &Snapshot{}
	}
	prevAgents, prevFws := c.agents, c.frameworks
	c.prev = c.tasks
	defer func() { c.prev = nil }()
	c.agents = make(map[string]Agent, len(snap.Agents))
	c.recovered = make(map[string]Agent)
	c.frameworks = make(map[string]Framework, len(snap.Frameworks))
	c.tasks = make(map[TaskKey]*Task, len(snap.Tasks))
	c.dups = nil
	c.names = make(map[string]string)
	c.Skipped = nil
	c.all = true
	c.dirtyAgents, c.dirtyFws, c.dirtyTasks = nil, nil, nil
	for _, a := range snap.Agents {
		if p, ok := prevAgents[a.ID]; ok && p == a {
			a = p
		}
		c.agents[a.ID] = a
	}
	for _, a := range snap.Recovered {
		if _, ok := c.agents[a.ID]; !ok {
			c.recovered[a.ID] = Agent{ID: a.ID, Hostname: a.Hostname}
		}
	}
	for _, f := range snap.Frameworks {
		if p, ok := prevFws[f.ID]; ok && p.ID == f.ID && p.Name == f.Name && p.Hostname == f.Hostname && p.PID == f.PID {
			f = p
		}
		c.frameworks[f.ID] = f
	}
	for _, t := range snap.Tasks {
		if !terminal(t.State) {
			// Each entry gets its records, also those that share an id.
			c.putTask(t.Task, c.newEntry(TaskKey{Framework: c.frameworkID(t.Framework), Task: t.ID}))
		}
	}
}

// entries is how many entries of k's id (whatever k.Dup) have been numbered: 1, or 0
// when there is none, unless several share it. Some may have gone since.
func (c *Cluster) entries(k TaskKey) int {
	k.Dup = 0
	if n, ok := c.dups[k]; ok {
		return n
	}
	if _, ok := c.tasks[k]; ok {
		return 1
	}
	return 0
}

// newEntry is the key of one more entry with k's id.
func (c *Cluster) newEntry(k TaskKey) TaskKey {
	k.Dup = 0
	n := c.entries(k)
	if n > 0 {
		if c.dups == nil {
			c.dups = make(map[TaskKey]int)
		}
		c.dups[k] = n + 1
	}
	k.Dup = n
	return k
}

// renumber closes the gaps that removals left among the entries of k's id, so that
// they are numbered 0 to n-1 in the order they came, as a decoder numbers the entries
// of a state that lists them (State lists them in that order).
func (c *Cluster) renumber(k TaskKey) {
	k.Dup = 0
	next := k
	for k.Dup = range c.dups[next] {
		t, ok := c.tasks[k]
		if !ok {
			continue
		}
		if k != next {
			delete(c.tasks, k)
			c.taskDirty(k)
			c.tasks[next] = t
			c.taskDirty(next)
		}
		next.Dup++
	}
	n := next.Dup
	next.Dup = 0
	if n <= 1 {
		delete(c.dups, next)
	} else {
		c.dups[next] = n
	}
}

// frameworkID is id as the framework known by it spells it, so that the tasks' keys
// share its string (at 100k tasks that is megabytes the stream would otherwise hold).
func (c *Cluster) frameworkID(id string) string {
	if f, ok := c.frameworks[id]; ok {
		return f.ID
	}
	return id
}

// putTask stores t as the entry k; a task in a terminal state removes every entry
// with its id.
func (c *Cluster) putTask(t *Task, k TaskKey) {
	// The ids and names that tasks repeat share one string: at 100k tasks that is
	// megabytes the stream would otherwise hold many times over.
	if a, ok := c.agents[t.AgentID]; ok {
		t.AgentID = a.ID
	}
	t.Name = c.intern(t.Name)
	if d := t.Discovery; d != nil {
		// Fresh from the decoder here, never a value handed out.
		d.Name, d.Visibility = c.intern(d.Name), c.intern(d.Visibility)
		for i := range d.Ports {
			d.Ports[i].Name, d.Ports[i].Protocol = c.intern(d.Ports[i].Name), c.intern(d.Ports[i].Protocol)
		}
	}
	if terminal(t.State) {
		for k.Dup = range c.entries(k) {
			if _, ok := c.tasks[k]; ok {
				delete(c.tasks, k)
				c.taskDirty(k)
			}
		}
		k.Dup = 0
		delete(c.dups, k)
		return
	}
	c.taskDirty(k)
	t.Statuses = needed(t.Statuses)
	if p := c.prev[k]; p != nil && SameTask(p, t) {
		t = p
	}
	c.tasks[k] = t
}

// intern returns the string the cluster already holds equal to s, if any: the names
// that tasks repeat (their app's, their discovery ports') are held once.
func (c *Cluster) intern(s string) string {
	if c.names == nil {
		c.names = make(map[string]string)
	}
	if n, ok := c.names[s]; ok {
		return n
	}
	if len(c.names) < maxNames {
		c.names[s] = s
	}
	return s
}

func (c *Cluster) taskDirty(k TaskKey)  { mark(c, &c.dirtyTasks, k) }
func (c *Cluster) agentDirty(id string) { mark(c, &c.dirtyAgents, id) }
func (c *Cluster) fwDirty(id string)    { mark(c, &c.dirtyFws, id) }

// mark adds k to a set of what changed since Changes, unless a snapshot already
// replaced everything.
func mark[K comparable](c *Cluster, set *map[K]struct{}, k K) {
	if c.all {
		return
	}
	if *set == nil {
		*set = make(map[K]struct{})
	}
	(*set)[k] = struct{}{}
}

// Changes are what changed in a Cluster: the new values by id, nil where one is gone.
type Changes struct {
	Agents     map[string]*Agent
	Frameworks map[string]*Framework
	Tasks      map[TaskKey]*Task
}

// Running counts the running tasks among ch.
func (ch Changes) Running() int {
	n := 0
	for _, t := range ch.Tasks {
		if t != nil && t.State == TaskRunning {
			n++
		}
	}
	return n
}

// Changes returns what changed since it was last called, and starts counting afresh.
// all reports that a snapshot replaced everything: then State says what there is.
// The values are the Cluster's own and are never changed after: a later event makes
// a new one.
func (c *Cluster) Changes() (ch Changes, all bool) {
	all = c.all
	c.all = false
	ch.Agents = make(map[string]*Agent, len(c.dirtyAgents))
	for id := range c.dirtyAgents {
		if a, ok := c.agents[id]; ok {
			ch.Agents[id] = &a
		} else {
			ch.Agents[id] = nil
		}
	}
	ch.Frameworks = make(map[string]*Framework, len(c.dirtyFws))
	for id := range c.dirtyFws {
		if f, ok := c.frameworks[id]; ok {
			f.PID = c.pids[f.ID]
			ch.Frameworks[id] = &f
		} else {
			ch.Frameworks[id] = nil
		}
	}
	ch.Tasks = make(map[TaskKey]*Task, len(c.dirtyTasks))
	for k := range c.dirtyTasks {
		ch.Tasks[k] = c.tasks[k]
	}
	c.dirtyAgents, c.dirtyFws, c.dirtyTasks = nil, nil, nil
	return ch, all
}

// All returns every agent, framework and task as Changes: what State gives, without
// copying the tasks. Tasks whose framework is not known yet are included.
func (c *Cluster) All() Changes {
	ch := Changes{
		Agents:     make(map[string]*Agent, len(c.agents)),
		Frameworks: make(map[string]*Framework, len(c.frameworks)),
		Tasks:      maps.Clone(c.tasks),
	}
	for id, a := range c.agents {
		ch.Agents[id] = &a
	}
	for id, f := range c.frameworks {
		f.PID = c.pids[f.ID]
		ch.Frameworks[id] = &f
	}
	return ch
}

// Recovering reports whether agents the master knows of have not re-registered yet.
func (c *Cluster) Recovering() bool { return len(c.recovered) > 0 }

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
	changed := false
	for id := range c.frameworks {
		if c.pids[id] != pids[id] {
			changed = true
			c.fwDirty(id)
		}
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
	for k, t := range c.tasks {
		i, ok := index[k.Framework]
		if !ok || k.Dup > 0 {
			continue
		}
		st.Frameworks[i].Tasks = append(st.Frameworks[i].Tasks, *t)
		// The entries that share its id follow it in their order, so that a decoder's
		// numbering of this state is the cluster's.
		for k.Dup = 1; k.Dup < c.dups[TaskKey{Framework: k.Framework, Task: k.Task}]; k.Dup++ {
			if d, ok := c.tasks[k]; ok {
				st.Frameworks[i].Tasks = append(st.Frameworks[i].Tasks, *d)
			}
		}
	}
	return st
}
