package records

import (
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// Updater keeps the records in step with the cluster for the refresh goroutine, which
// alone uses it. It remembers every agent, framework and task it was given, with what
// its names were made of; a new state, or the changes an event stream made, is
// compared with that, and only what differs is taken back from the tree (as it was
// added) and added again. A quiet resync or poll touches no name, and an event that
// launches one task touches that task's names.
type Updater struct {
	o   *Options
	t   *tree
	rev *tree // the PTR records, nil without reverse zones
	// inst lists the tasks of each group name (builder.inst), from the first fault
	// domain seen on: nil until then, and withInst false.
	inst     *tree
	withInst bool
	b        *builder
	stats    Stats

	agents map[string]*agentEntry
	fws    map[string]*fwEntry
	tasks  map[state.TaskKey]*state.Task
	mast   *mastersInfo
	// skips are the decoder's and the event stream's, beside the builder's in stats.
	skips   state.Skips
	nrun    int
	pending bool // a change not published yet
	// loading is the first state being built while it is decoded (LoadingDecoder).
	loading *loading
	// mu is held while agents, fws and tasks change, for the HTTP API's enumeration,
	// the one reader outside the refresh goroutine.
	mu sync.Mutex
}

type agentEntry struct {
	a    state.Agent
	info agentInfo
}

type fwEntry struct {
	f    state.Framework // without its tasks
	info fwInfo
}

// changes are new values by id; a nil value is a removal.
type changes struct {
	agents map[string]*state.Agent
	fws    map[string]*state.Framework
	tasks  map[state.TaskKey]*state.Task
}

func fromCluster(ch state.Changes) *changes {
	return &changes{agents: ch.Agents, fws: ch.Frameworks, tasks: ch.Tasks}
}

// NewUpdater returns an updater that holds nothing: its first state is loaded in bulk.
func NewUpdater(o *Options) *Updater {
	u := &Updater{o: o}
	u.init()
	return u
}

// init makes u hold nothing, as NewUpdater does.
func (u *Updater) init() {
	o := u.o
	u.t, u.rev = newTree(), nil
	u.agents = make(map[string]*agentEntry)
	u.fws = make(map[string]*fwEntry)
	u.tasks = make(map[state.TaskKey]*state.Task)
	u.mast, u.skips, u.stats, u.nrun, u.pending, u.loading = nil, nil, Stats{}, 0, false, nil
	u.b = newBuilder(o, u.t, &u.stats)
	u.inst = nil
	if u.withInst {
		u.startInst()
	}
	if len(o.ReverseZones) > 0 {
		u.rev = newTree()
		u.rev.targets = u.t
		u.b.rev = u.rev
		// The root stays, as the forward tree's apex does: a tree never removes it.
		u.rev.touch("", 1)
	}
	u.b.sign = 1
	u.b.static()
}

// startInst makes the inst tree, empty: from now on every task is listed in it.
func (u *Updater) startInst() {
	u.withInst = true
	u.inst = newTree()
	u.inst.targets = u.t
	u.inst.bulk = u.t.bulk
	u.b.inst = u.inst
	u.inst.touch("", 1)
}

// anyDomain reports whether an agent is in a fault domain.
func anyDomain(agents map[string]*state.Agent) bool {
	for _, a := range agents {
		if a != nil && a.Region != "" && a.Zone != "" {
			return true
		}
	}
	return false
}

// Update brings the records to a whole state: a poll, a snapshot, a resync.
func (u *Updater) Update(ctx context.Context, st *state.State) {
	if u.mast == nil {
		if u.loaded(st) {
			u.finishLoad(ctx, st)
			return
		}
		u.loadState(ctx, st)
		return
	}
	u.updateAll(ctx, &changes{agents: agentsOf(st), fws: fwsOf(st), tasks: stateTasks(st)}, st)
}

// updateAll is update for a whole cluster given as changes: every agent, framework
// and task there is; what is not there is gone. st gives the leader, the masters and
// the skip counts. all is the updater's after.
func (u *Updater) updateAll(ctx context.Context, all *changes, st *state.State) {
	if u.mast == nil {
		u.loadChanges(ctx, all, st)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for id := range u.agents {
		if _, ok := all.agents[id]; !ok {
			all.agents[id] = nil
		}
	}
	for id := range u.fws {
		if _, ok := all.fws[id]; !ok {
			all.fws[id] = nil
		}
	}
	for k, old := range u.tasks {
		t, ok := all.tasks[k]
		switch {
		case !ok:
			all.tasks[k] = nil
		case state.SameTask(old, t):
			// The same task: its records stand. The updater takes the new copy so
			// that the old state can go.
			u.tasks[k] = t
			delete(all.tasks, k)
		}
	}
	u.skips = st.Skipped
	// A task makes about 2.3 names (naming.md's names, most shared by its app).
	u.t.reserve(len(all.tasks)*5/2 + len(all.agents) + len(all.fws))
	u.commit(ctx, all, st)
}

// The first state (at start, on reload, a stream's first snapshot) is loaded in bulk:
// the updater holds nothing, so nothing is compared or taken back, the tree counts
// duplicate addresses once when the batch is sealed (tree.bulk), and the tasks come in
// an order that keeps an app's instances together, whose shared names so stay in the
// cache. The records, and every count behind them, are those the incremental path
// gives (TestFirstStateInBulk).

// loadState loads a first state, its tasks in the state's order. Their keys are made
// on another goroutine meanwhile (a tenth of the load at 100k tasks): a task's records
// need only its framework.
func (u *Updater) loadState(ctx context.Context, st *state.State) {
	u.dropLoad()
	keyed := make(chan map[state.TaskKey]*state.Task, 1)
	go func() { keyed <- stateTasks(st) }()
	order := make([]keyedTask, 0, taskCount(st))
	for i := range st.Frameworks {
		f := &st.Frameworks[i]
		k := state.TaskKey{Framework: f.ID}
		for j := range f.Tasks {
			order = append(order, keyedTask{k, &f.Tasks[j]})
		}
	}
	u.load(ctx, agentsOf(st), fwsOf(st), order, func() map[state.TaskKey]*state.Task { return <-keyed }, st)
}

// taskCount returns how many tasks st lists, running or not.
func taskCount(st *state.State) int {
	n := 0
	for i := range st.Frameworks {
		n += len(st.Frameworks[i].Tasks)
	}
	return n
}

// stateTasks returns st's tasks by key, in a map sized for them.
func stateTasks(st *state.State) map[state.TaskKey]*state.Task {
	tasks := make(map[state.TaskKey]*state.Task, taskCount(st))
	for i := range st.Frameworks {
		f := &st.Frameworks[i]
		for j := range f.Tasks {
			tasks[entryKey(tasks, f.ID, f.Tasks[j].ID)] = &f.Tasks[j]
		}
	}
	return tasks
}

// loadChanges loads a first state given as changes (the stream's cluster), its
// tasks grouped by framework and name.
func (u *Updater) loadChanges(ctx context.Context, all *changes, st *state.State) {
	u.dropLoad()
	u.load(ctx, all.agents, all.fws, byGroup(all.tasks), func() map[state.TaskKey]*state.Task { return all.tasks }, st)
}

// byGroup orders tasks by framework and name, so that an app's instances come
// together; nil values are taken out of tasks.
func byGroup(tasks map[state.TaskKey]*state.Task) []keyedTask {
	type grouped struct {
		group uint64
		keyedTask
	}
	gs := make([]grouped, 0, len(tasks))
	for k, t := range tasks {
		if t == nil {
			delete(tasks, k)
			continue
		}
		group := maphash.String(nameSeed, t.Name) ^ mix(maphash.String(nameSeed, k.Framework))
		gs = append(gs, grouped{group, keyedTask{k, t}})
	}
	slices.SortFunc(gs, func(a, b grouped) int { return cmp.Compare(a.group, b.group) })
	order := make([]keyedTask, len(gs))
	for i := range gs {
		order[i] = gs[i].keyedTask
	}
	return order
}

// load builds the first state: the agents, frameworks and masters as a change, then
// tasks in order, each keyed by its framework at least. keyed returns the tasks by
// their keys, which the updater keeps: it is called once the tasks are built.
func (u *Updater) load(ctx context.Context, agents map[string]*state.Agent, fws map[string]*state.Framework,
	order []keyedTask, keyed func() map[state.TaskKey]*state.Task, st *state.State) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.loadLocked(ctx, agents, fws, order, keyed, st)
}

// loadLocked is load, u.mu held.
func (u *Updater) loadLocked(ctx context.Context, agents map[string]*state.Agent, fws map[string]*state.Framework,
	order []keyedTask, keyed func() map[state.TaskKey]*state.Task, st *state.State) {
	u.skips = st.Skipped
	u.t.bulk = true
	u.t.reserve(len(order)*5/2 + len(agents) + len(fws))
	if u.inst == nil && anyDomain(agents) {
		u.startInst()
	}
	if u.inst != nil {
		u.inst.bulk = true
	}
	if u.rev != nil {
		u.rev.bulk = true
	}
	u.commit(ctx, &changes{agents: agents, fws: fws, tasks: map[state.TaskKey]*state.Task{}}, st)
	for _, kt := range order {
		if kt.t.State == state.TaskRunning {
			u.nrun++
		}
		u.task(kt.k, kt.t)
	}
	u.tasks = keyed()
	u.pending = true
}

// keyedTask is a task and its key, in the order a first state loads them.
type keyedTask struct {
	k state.TaskKey
	t *state.Task
}

// entryKey is the key of the next entry of framework fw's tasks with task id id:
// each entry gets its records, also those that share an id (Dup numbers them).
func entryKey(tasks map[state.TaskKey]*state.Task, fw, id string) state.TaskKey {
	k := state.TaskKey{Framework: fw, Task: id}
	for {
		if _, dup := tasks[k]; !dup {
			return k
		}
		k.Dup++
	}
}

func agentsOf(st *state.State) map[string]*state.Agent {
	m := make(map[string]*state.Agent, len(st.Agents))
	for i := range st.Agents {
		m[st.Agents[i].ID] = &st.Agents[i]
	}
	return m
}

func fwsOf(st *state.State) map[string]*state.Framework {
	m := make(map[string]*state.Framework, len(st.Frameworks))
	for i := range st.Frameworks {
		m[st.Frameworks[i].ID] = &st.Frameworks[i]
	}
	return m
}

// UpdateAll brings the records to a whole cluster given as changes (the stream's
// Cluster.All): every agent, framework and task there is; what is not there is gone.
// st gives the leader, the masters and the skip counts. The updater keeps all's maps.
func (u *Updater) UpdateAll(ctx context.Context, all state.Changes, st *state.State) {
	u.updateAll(ctx, fromCluster(all), st)
}

// Apply brings the records to the changes an event stream made (the stream's
// Cluster.Changes); st gives the leader, the masters and the stream's skip counts.
func (u *Updater) Apply(ctx context.Context, ch state.Changes, st *state.State) {
	u.apply(ctx, fromCluster(ch), st)
}

// Loaded reports whether the updater was given a state: until it is, Update loads in
// bulk, and LoadingDecoder builds as it decodes.
func (u *Updater) Loaded() bool { return u.mast != nil }

// Pending reports a change not published yet.
func (u *Updater) Pending() bool { return u.pending }

// KeepChanged makes the updater keep the names each publication touched, for
// TakeChanged (the HTTP API's watches).
func (u *Updater) KeepChanged() { u.t.keepChanged = true }

// TakeChanged returns the names the publications since it was last called touched,
// relative to the zone, and forgets them. The slice is reused by the next
// publication: it is read before then.
func (u *Updater) TakeChanged() []string { return u.t.takeChanged() }

// apply brings the records to the changes an event stream made; st gives the leader,
// the masters and the stream's skip counts.
func (u *Updater) apply(ctx context.Context, ch *changes, st *state.State) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.skips = st.Skipped
	u.commit(ctx, ch, st)
}

// commit takes back what changed as it was added and adds it as it is now.
func (u *Updater) commit(ctx context.Context, ch *changes, st *state.State) {
	u.resolve(ctx, ch, st)
	b := u.b
	// What really changed: a value, or what its names are made of (an address a host
	// name resolves to).
	agents := changedEntries(ch.agents, u.agents, b.agentEntry, func(old, e *agentEntry) bool {
		return old.a == e.a && old.info.equal(&e.info)
	})
	fws := changedEntries(ch.fws, u.fws, b.fwEntry, func(old, e *fwEntry) bool {
		return old.f.ID == e.f.ID && old.f.Name == e.f.Name && old.f.Hostname == e.f.Hostname && old.f.PID == e.f.PID &&
			old.info.label == e.info.label && slices.Equal(old.info.ips, e.info.ips)
	})
	mi := b.mastersInfo(st.Leader, st.Masters)
	mastChanged := u.mast == nil || !u.mast.equal(mi)
	redo := u.redo(ch.tasks, agents, fws)
	if len(redo)+len(agents)+len(fws) == 0 && !mastChanged {
		return
	}
	u.pending = true

	// Everything taken back is taken back as it was added, then everything is added
	// as it is now.
	u.contribute(-1, redo, agents, fws, mastChanged)
	store(u.agents, agents)
	store(u.fws, fws)
	u.storeTasks(redo)
	if mastChanged {
		u.mast = mi
	}
	u.contribute(1, redo, agents, fws, mastChanged)
	if u.inst == nil && len(u.b.doms) > 1 {
		u.relist(ctx, st)
	}
}

// relist builds the records again from what the updater holds, with the inst tree:
// once, when the first agent in a fault domain comes after the first state (a cluster
// whose agents are given fault domains), so that the names by fault domain find every
// task. The records are the same; the next set's nodes are all new.
func (u *Updater) relist(ctx context.Context, st *state.State) {
	agents := make(map[string]*state.Agent, len(u.agents))
	for id, e := range u.agents {
		a := e.a
		agents[id] = &a
	}
	fws := make(map[string]*state.Framework, len(u.fws))
	for id, e := range u.fws {
		f := e.f
		fws[id] = &f
	}
	tasks, keep := u.tasks, u.t.keepChanged
	// The names this batch and the ones before it touched, removed ones included,
	// stay touched for the HTTP API's watches: the new tree knows only what it has.
	var carry []string
	if keep {
		carry = slices.Clone(u.t.changed)
		for _, n := range u.t.dirty {
			carry = append(carry, n.name)
		}
	}
	u.withInst = true
	u.init()
	u.t.keepChanged, u.t.changed = keep, carry
	u.loadLocked(ctx, agents, fws, byGroup(tasks), func() map[state.TaskKey]*state.Task { return tasks }, st)
}

// contribute adds (sign 1) or takes back (-1) what the held values of the changed
// tasks, agents, frameworks and masters give. Tasks are taken back first and added
// last, each with its agent and framework as held then.
func (u *Updater) contribute(sign int32, redo map[state.TaskKey]*state.Task, agents map[string]*agentEntry, fws map[string]*fwEntry, masters bool) {
	b := u.b
	b.sign = sign
	if sign < 0 {
		for k := range redo {
			if t := u.tasks[k]; t != nil {
				u.task(k, t)
			}
		}
	}
	for id := range agents {
		if e := u.agents[id]; e != nil {
			b.agent(&e.a, &e.info)
		}
	}
	for id := range fws {
		if e := u.fws[id]; e != nil {
			b.framework(&e.f, &e.info)
		}
	}
	if masters && u.mast != nil {
		b.masters(u.mast)
	}
	if sign > 0 {
		for k := range redo {
			if t := u.tasks[k]; t != nil {
				u.task(k, t)
			}
		}
	}
}

// resolve looks up the host names the changed agents and frameworks, and the
// masters, stand on.
func (u *Updater) resolve(ctx context.Context, ch *changes, st *state.State) {
	var names []string
	for _, a := range ch.agents {
		if a != nil {
			names = hostName(names, a.PID.Host)
		}
	}
	for _, f := range ch.fws {
		if f != nil {
			names = hostName(names, schedulerHost(f))
		}
	}
	names = u.b.mastersNames(names, st)
	u.b.resolve(ctx, names)
}

// changedEntries returns, of the new values by id (nil: removed), the entries of
// those that differ from what held has: nil for a removal of what it holds.
func changedEntries[V, E any](values map[string]*V, held map[string]*E, entry func(*V) *E, same func(old, e *E) bool) map[string]*E {
	out := make(map[string]*E)
	for id, v := range values {
		old := held[id]
		if v == nil {
			if old != nil {
				out[id] = nil
			}
			continue
		}
		if e := entry(v); old == nil || !same(old, e) {
			out[id] = e
		}
	}
	return out
}

// store makes the changed entries the held ones.
func store[E any](held, changed map[string]*E) {
	for id, e := range changed {
		if e == nil {
			delete(held, id)
		} else {
			held[id] = e
		}
	}
}

// redo returns the tasks to take back and add again: those that changed, and those
// whose agent or framework did. A task that is the same takes the new copy, so that
// the old state can go.
func (u *Updater) redo(tasks map[state.TaskKey]*state.Task, agents map[string]*agentEntry, fws map[string]*fwEntry) map[state.TaskKey]*state.Task {
	redo := tasks
	if len(u.tasks) > 0 {
		redo = make(map[state.TaskKey]*state.Task, len(tasks))
		for k, t := range tasks {
			old := u.tasks[k]
			switch {
			case t == nil:
				if old != nil {
					redo[k] = nil
				}
			case old != nil && state.SameTask(old, t):
				u.tasks[k] = t
			default:
				redo[k] = t
			}
		}
	}
	if len(agents)+len(fws) > 0 {
		for k, t := range u.tasks {
			if _, ok := redo[k]; ok {
				continue
			}
			_, a := agents[t.AgentID]
			_, f := fws[k.Framework]
			if a || f {
				redo[k] = t
			}
		}
	}
	return redo
}

// storeTasks makes the redone tasks the held ones, and keeps the count of those
// running.
func (u *Updater) storeTasks(redo map[state.TaskKey]*state.Task) {
	for k, t := range redo {
		if old := u.tasks[k]; old != nil && old.State == state.TaskRunning {
			u.nrun--
		}
		if t == nil {
			delete(u.tasks, k)
			continue
		}
		u.tasks[k] = t
		if t.State == state.TaskRunning {
			u.nrun++
		}
	}
}

// task runs the builder over one task, with its framework and agent as known now. A
// task whose framework is not known yet makes nothing (it would have no F).
func (u *Updater) task(k state.TaskKey, t *state.Task) {
	f := u.fws[k.Framework]
	if f == nil || f.info.label == "" {
		return
	}
	var ag *agentInfo
	if a := u.agents[t.AgentID]; a != nil {
		ag = &a.info
	}
	u.b.task(t, f.info.label, ag)
}

// Publish seals the batch into a new Set. prev is the set it replaces (possibly
// another updater's, across a reload): the serial stays when the records are the
// same and grows when they differ.
func (u *Updater) Publish(prev *Set) *Set {
	u.pending = false
	u.t.seal()
	// After the forward tree: their records point at its current copies.
	if u.inst != nil {
		u.inst.seal()
	}
	if u.rev != nil {
		u.rev.seal()
	}
	o := u.o
	s := &Set{
		shards: u.t.shards,
		mask:   u.t.mask,
		gen:    u.t.gen,
		zones:  slices.Clone(o.Zones),
		ttl:    o.TTL,
		soa:    o.SOA,
		srvW:   o.SRVWeight,
		maxAns: o.MaxAnswers,
		stats:  u.stats,
		hash:   u.t.hash + mix(uint64(o.TTL)<<16|uint64(o.SRVWeight)),
	}
	s.stats.Records = u.t.records
	s.stats.Skipped = nil
	if len(u.skips)+len(u.stats.Skipped) > 0 {
		s.stats.Skipped = maps.Clone(u.skips)
		if s.stats.Skipped == nil {
			s.stats.Skipped = make(state.Skips)
		}
		for k, v := range u.stats.Skipped {
			s.stats.Skipped[k] += v
		}
	}
	if u.rev != nil {
		s.rev, s.rmask, s.rzones = u.rev.shards, u.rev.mask, slices.Clone(o.ReverseZones)
		s.hash += u.rev.hash
		u.rev.next()
	}
	// Not in the hash: the names by fault domain are no records of the zone's.
	s.doms = u.b.doms
	if u.inst != nil {
		s.inst, s.imask = u.inst.shards, u.inst.mask
		u.inst.next()
	}
	s.serial = nextSerial(prev, s.hash, o)
	u.t.next()
	return s
}

// Running is the number of running tasks the records were last given.
func (u *Updater) Running() int {
	if !u.Loaded() {
		// A first state built while decoded is not published yet.
		return 0
	}
	return u.nrun
}

// HeldOn returns the agents among keep and their tasks, grouped by framework, as the
// records were last given them.
func (u *Updater) HeldOn(keep map[string]bool) ([]state.Agent, []state.Framework) {
	if !u.Loaded() {
		return nil, nil
	}
	var agents []state.Agent
	for id := range keep {
		if e := u.agents[id]; e != nil {
			agents = append(agents, e.a)
		}
	}
	index := make(map[string]int)
	var fws []state.Framework
	for k, t := range u.tasks {
		if !keep[t.AgentID] {
			continue
		}
		f := u.fws[k.Framework]
		if f == nil {
			continue
		}
		i, ok := index[k.Framework]
		if !ok {
			i = len(fws)
			index[k.Framework] = i
			fws = append(fws, f.f)
		}
		fws[i].Tasks = append(fws[i].Tasks, *t)
	}
	return agents, fws
}

// The serial is a clock: serialBase at serialEpoch, one more every serialTick. A set's
// serial is never ahead of it, so a restarted server, which remembers nothing, starts
// above every serial it served before (RFC 1982 arithmetic) as long as it served them
// less than 2^31 ticks (248 days) ago: secondaries drop a zone after the SOA expire
// (a day by default), far sooner. A tick of 10 ms gives changes their own serials at
// up to 100 publications a second; faster, a publication waits for the next tick,
// and the events that arrive meanwhile go into it. serialBase is 2^24 seconds past
// serialEpoch: above the serials of the versions before this clock (Unix seconds, run
// ahead of the clock by their bursts), so an upgrade does not go back either.
const (
	serialTick  = 10 * time.Millisecond
	serialEpoch = 1796083200 // 2026-12-01T00:00:00Z
	serialBase  = serialEpoch + 1<<24
)

// clockSerial is the serial's clock at t.
func clockSerial(t time.Time) uint32 {
	return uint32(serialBase + (t.UnixMilli()-serialEpoch*1000)/serialTick.Milliseconds()) // #nosec G115 -- SOA serials are RFC 1982 arithmetic: wrapping is their nature
}

// nextSerial keeps prev's serial when the records hash the same, and grows it when
// they do not: to the serial clock, after waiting for its next tick if prev has it.
// A clock that went back (prev more than a tick ahead) cannot be waited for: then
// the serial is prev's plus one.
func nextSerial(prev *Set, hash uint64, o *Options) uint32 {
	now, sleep := time.Now, time.Sleep
	if o.Now != nil {
		now, sleep = o.Now, o.Sleep
	}
	c := clockSerial(now())
	switch {
	case prev == nil:
		return c
	case prev.hash == hash:
		return prev.serial
	}
	if !SerialLess(prev.serial, c) && prev.serial-c <= 1 && sleep != nil {
		t := now()
		next := time.UnixMilli((t.UnixMilli()/serialTick.Milliseconds() + int64(prev.serial-c) + 1) * serialTick.Milliseconds())
		sleep(next.Sub(t))
		c = clockSerial(now())
	}
	if !SerialLess(prev.serial, c) {
		return prev.serial + 1
	}
	return c
}
