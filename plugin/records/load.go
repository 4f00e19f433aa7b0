package records

import (
	"context"
	"io"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// A first state can be built while it is decoded: the decoder hands over the agents,
// then each framework as it reads them (state.DecodeHooked), and a goroutine of the
// load builds them meanwhile, on the other core, in the order the bulk load takes
// them. Update then only adds the masters. The records are the bulk load's, which
// TestLoadingDecoder checks; when the document turns out otherwise (invalid, agents
// after the frameworks, a framework id twice, a failover guard that changed the
// state), what was built is dropped and the state is loaded as any other.

// loading is what one decoding built.
type loading struct {
	st         *state.State // the state the decoding returned; nil until it did
	agents     int          // the agents it was given
	frameworks int          // and the frameworks
	tasks      int          // and their tasks
	// unusable says the frameworks cannot be built as they come: one came before the
	// agents, or an id came twice.
	unusable bool
	seen     map[string]bool
}

// LoadingDecoder returns a decoder of /master/state (state.Decode's signature) that
// builds the records of the state it decodes as it goes, for an updater that holds
// nothing yet. Each call starts afresh: a state decoded and then set aside (a master
// that does not lead, an error) is never published, as Update builds only the state it
// is given. It runs on the refresh goroutine, as the updater's other methods do.
func (u *Updater) LoadingDecoder(ctx context.Context) func(io.Reader) (*state.State, error) {
	return func(r io.Reader) (*state.State, error) {
		if u.mast != nil {
			return state.Decode(r)
		}
		u.dropLoad()
		l := &loading{seen: make(map[string]bool)}
		u.loading = l
		u.t.bulk = true
		if u.inst != nil {
			u.inst.bulk = true
		}
		if u.rev != nil {
			u.rev.bulk = true
		}
		work := make(chan func(), 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for f := range work {
				f()
			}
		}()
		agentsRead := false
		st, err := state.DecodeHooked(r, state.Hooks{
			Agents: func(agents []state.Agent) {
				if agentsRead || l.frameworks > 0 {
					l.unusable = true
					return
				}
				agentsRead = true
				l.agents = len(agents)
				all := make(map[string]*state.Agent, len(agents))
				for i := range agents {
					a := agents[i]
					all[a.ID] = &a
				}
				work <- func() { u.loadAgents(ctx, all) }
			},
			Framework: func(f state.Framework) {
				l.frameworks++
				l.tasks += len(f.Tasks)
				if !agentsRead || l.seen[f.ID] {
					l.unusable = true
				}
				l.seen[f.ID] = true
				if l.unusable {
					return
				}
				work <- func() { u.loadFramework(&f) }
			},
		})
		close(work)
		// The tasks by key, while the build takes its last frameworks: in one map
		// sized at once, where the build grew it framework by framework (at 100k
		// tasks 90 ms of its CPU, a twelfth, rehashing into fresh pages).
		var tasks map[state.TaskKey]*state.Task
		if err == nil && !l.unusable {
			tasks = stateTasks(st)
		}
		<-done
		if err != nil {
			u.dropLoad()
			return nil, err
		}
		l.st = st
		if tasks != nil {
			u.mu.Lock()
			u.tasks = tasks
			u.mu.Unlock()
		}
		return st, nil
	}
}

// loaded reports whether the last decoding built st whole.
func (u *Updater) loaded(st *state.State) bool {
	l := u.loading
	if l == nil || l.st != st || l.unusable || l.agents != len(st.Agents) || l.frameworks != len(st.Frameworks) {
		return false
	}
	return taskCount(st) == l.tasks
}

// dropLoad makes the updater hold nothing again if a decoding built anything.
func (u *Updater) dropLoad() {
	if u.loading == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	keep := u.t.keepChanged
	u.init()
	u.t.keepChanged = keep
}

// loadAgents adds the agents of a state being decoded.
func (u *Updater) loadAgents(ctx context.Context, agents map[string]*state.Agent) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.resolve(ctx, &changes{agents: agents}, &state.State{})
	if u.inst == nil && anyDomain(agents) {
		u.startInst()
	}
	b := u.b
	b.sign = 1
	for id, a := range agents {
		e := b.agentEntry(a)
		u.agents[id] = e
		b.agent(&e.a, &e.info)
	}
}

// loadFramework adds a framework of a state being decoded, and its tasks in order.
func (u *Updater) loadFramework(f *state.Framework) {
	u.mu.Lock()
	defer u.mu.Unlock()
	// A scheduler's host name is not looked up here, one framework at a time: the
	// addresses it has are those the agents' lookup found, and finishLoad looks the
	// others up in one round, as a bulk load does.
	b := u.b
	b.sign = 1
	e := b.fwEntry(f)
	u.fws[f.ID] = e
	b.framework(&e.f, &e.info)
	u.t.reserve(u.t.names + len(f.Tasks)*5/2)
	// The tasks' keys are made when the decoding ends (LoadingDecoder): a task's
	// records need only its framework.
	k := state.TaskKey{Framework: f.ID}
	for j := range f.Tasks {
		t := &f.Tasks[j]
		if t.State == state.TaskRunning {
			u.nrun++
		}
		u.task(k, t)
	}
}

// finishLoad completes a state the last decoding built: the frameworks that stand on
// a host name, looked up now (their records are redone where that gives addresses),
// the masters, the skip counts.
func (u *Updater) finishLoad(ctx context.Context, st *state.State) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.loading = nil
	u.skips = st.Skipped
	named := make(map[string]*state.Framework)
	for i := range st.Frameworks {
		if f := &st.Frameworks[i]; hostName(nil, schedulerHost(f)) != nil {
			named[f.ID] = f
		}
	}
	u.commit(ctx, &changes{fws: named, tasks: map[state.TaskKey]*state.Task{}}, st)
	u.pending = true
}
