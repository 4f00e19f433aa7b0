package fakemaster

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Run-time controls: the methods tests call, and the /fake/... endpoints that let
// another process (a person trying the quick start, a benchmark script) call them.
// Every control answers "ok: ..." with what it did, or 400 with what is wrong.

// Launch is a task to launch. Only Name is needed.
type Launch struct {
	Name string
	// ID is the task id, NAME.fake-N when empty.
	ID string
	// Ports is how many ports the task holds (resources, in SRV records).
	Ports int
	// Agent is an agent's id or host name; empty takes the agents in turn.
	Agent string
	// Framework is a framework's id or name; empty is marathon, or the first.
	Framework string
}

// Task is a task Launch launched.
type Task struct {
	ID, Name, Agent, Framework string
	// Ports is the task's port range, as /master/state writes it ("[31100-31101]"), or "".
	Ports string
}

// change applies f to the live state, made from the served document at the first
// change, then emits the events f returns to every open stream. Changes and their
// events go one at a time, so that the events come in the order of the changes.
func (m *Master) change(f func(l *live) ([]string, error)) error {
	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	m.mu.Lock()
	if m.live == nil {
		l, err := parseLive(m.state)
		if err != nil {
			m.mu.Unlock()
			return fmt.Errorf("the state cannot be changed: %w", err)
		}
		m.live = l
	}
	events, err := f(m.live)
	if err == nil {
		m.version++
	}
	m.mu.Unlock()
	for _, ev := range events {
		m.Emit(ev)
	}
	return err
}

// Launch adds a running task to the state and sends its TASK_ADDED event.
func (m *Master) Launch(t Launch) (Task, error) {
	if t.Name == "" {
		return Task{}, errors.New("a task needs a name")
	}
	if t.Ports < 0 || t.Ports > 1000 {
		return Task{}, fmt.Errorf("ports %d: from 0 to 1000", t.Ports)
	}
	var out Task
	err := m.change(func(l *live) ([]string, error) {
		f, err := l.framework(t.Framework)
		if err != nil {
			return nil, err
		}
		agent, err := l.agent(t.Agent)
		if err != nil {
			return nil, err
		}
		id := t.ID
		if id == "" {
			id = fmt.Sprintf("%s.fake-%d", t.Name, l.seq+1)
		}
		task, ev, err := l.launch(f, agent, id, t.Name, t.Ports)
		if err != nil {
			return nil, err
		}
		out = Task{ID: task.id, Name: task.name, Agent: agent, Framework: f.name}
		if t.Ports > 0 {
			out.Ports = fmt.Sprintf("[%d-%d]", l.nextPort-t.Ports, l.nextPort-1)
		}
		return []string{ev}, nil
	})
	return out, err
}

// Kill takes the running task with id (every entry with it) out of the state and
// sends its TASK_KILLED update; it reports whether there was one.
func (m *Master) Kill(id string) bool {
	found := false
	m.change(func(l *live) ([]string, error) {
		fws := l.kill(id)
		events := make([]string, 0, len(fws))
		for _, f := range fws {
			found = true
			events = append(events, TaskKilled(f.id, id))
		}
		return events, nil
	})
	return found
}

// KillName kills the task named name launched last, or with all every task of that
// name, and returns the ids it killed.
func (m *Master) KillName(name string, all bool) []string {
	var killed []string
	m.change(func(l *live) ([]string, error) {
		var ids []string
		seen := map[string]bool{}
		for _, f := range l.frameworks {
			for _, t := range f.tasks {
				if !t.dead && t.name == name && !seen[t.id] {
					seen[t.id] = true
					ids = append(ids, t.id)
				}
			}
		}
		if !all && len(ids) > 1 {
			ids = ids[len(ids)-1:]
		}
		var events []string
		for _, id := range ids {
			for _, f := range l.kill(id) {
				events = append(events, TaskKilled(f.id, id))
			}
			killed = append(killed, id)
		}
		return events, nil
	})
	return killed
}

// Failover plays a new leader elected on this master's address: its streams end,
// and until reregister has passed its state lists every agent as recovered
// (recovered_slaves, recovered_agents) and no task, as a real new leader does until
// the agents re-register. Then the agents and their tasks are back, with AGENT_ADDED
// and TASK_ADDED events to the streams opened meanwhile.
func (m *Master) Failover(reregister time.Duration) error {
	var l *live
	err := m.change(func(lv *live) ([]string, error) {
		lv.recovering = true
		l = lv
		return nil, nil
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.failovers++
	m.id = fmt.Sprintf("fake-%d", m.failovers)
	if m.reregister != nil {
		m.reregister.Stop()
	}
	m.reregister = time.AfterFunc(reregister, func() { m.reregistered(l) })
	m.mu.Unlock()
	m.DropStreams()
	return nil
}

// maxReregisterEvents bounds the events re-registration sends; above it the streams
// end instead, and the clients take the whole state from a new snapshot (a stream's
// buffer would drop events beyond it).
const maxReregisterEvents = 1000

// reregistered ends the failover l began: the agents and their tasks are back.
func (m *Master) reregistered(l *live) {
	drop := false
	m.change(func(lv *live) ([]string, error) {
		if lv != l || !l.recovering {
			return nil, nil // the state was replaced meanwhile
		}
		l.recovering = false
		var events []string
		for _, a := range l.agents {
			port := 5051
			if i := strings.LastIndexByte(a.PID, ':'); i >= 0 {
				if p, err := strconv.Atoi(a.PID[i+1:]); err == nil {
					port = p
				}
			}
			events = append(events, fmt.Sprintf(`{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"id":{"value":%q},"hostname":%q,"port":%d},"pid":%q,"active":true}}}`,
				a.ID, a.Hostname, port, a.PID))
			for _, f := range l.frameworks {
				for _, t := range f.tasks {
					if t.dead || t.agent != a.ID {
						continue
					}
					v1, err := TaskToV1(t.raw, f.id)
					if err != nil {
						continue
					}
					events = append(events, `{"type":"TASK_ADDED","task_added":{"task":`+v1+`}}`)
				}
			}
		}
		if len(events) > maxReregisterEvents {
			drop = true
			return nil, nil
		}
		return events, nil
	})
	if drop {
		m.DropStreams()
	}
}

// Recovering reports whether a Failover's agents have not re-registered yet.
func (m *Master) Recovering() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live != nil && m.live.recovering
}

// ok answers a control that worked, in plain text as http.Error does.
func ok(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintf(w, "ok: "+format+"\n", args...) // #nosec G705 -- plain text, nosniff: a name echoed is never markup
}

// bad answers a control that was refused.
func bad(w http.ResponseWriter, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
}

// launchControl: /fake/launch?name=web[&ports=1][&agent=ID|HOST][&framework=ID|NAME][&id=ID]
func (m *Master) launchControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := Launch{Name: q.Get("name"), ID: q.Get("id"), Agent: q.Get("agent"), Framework: q.Get("framework"), Ports: 1}
	if v := q.Get("ports"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			bad(w, "ports=%q: a number of ports, from 0 to 1000", v)
			return
		}
		t.Ports = n
	}
	task, err := m.Launch(t)
	if err != nil {
		bad(w, "%v", err)
		return
	}
	ports := ""
	if task.Ports != "" {
		ports = ", ports " + task.Ports
	}
	ok(w, "launched %s (name %s) on agent %s, framework %s%s", task.ID, task.Name, task.Agent, task.Framework, ports)
}

// killControl: /fake/kill?id=ID or ?name=NAME[&all=1]
func (m *Master) killControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, name := q.Get("id"), q.Get("name")
	switch {
	case id != "" && name == "":
		if !m.Kill(id) {
			bad(w, "no running task with id %q", id)
			return
		}
		ok(w, "killed %s", id)
	case name != "" && id == "":
		killed := m.KillName(name, q.Get("all") == "1")
		if len(killed) == 0 {
			bad(w, "no running task named %q", name)
			return
		}
		ok(w, "killed %s", strings.Join(killed, " "))
	default:
		bad(w, "kill needs id=TASK_ID or name=NAME (the last launched; &all=1 for every one)")
	}
}

// followerControl: /fake/follower?leader=HOST:PORT makes this master a follower of
// that leader (its streams end, its state endpoints redirect there); leader= with
// nothing makes it the leader again.
func (m *Master) followerControl(w http.ResponseWriter, r *http.Request) {
	leader := r.URL.Query().Get("leader")
	if leader == "" {
		m.FollowLeader("")
		ok(w, "leading again")
		return
	}
	if err := CheckLoopback(leader); err != nil {
		bad(w, "leader=%q: %v (the fake points only at loopback masters)", leader, err)
		return
	}
	if leader == m.Addr() {
		bad(w, "leader=%q is this master: leader= with nothing makes it lead", leader)
		return
	}
	m.FollowLeader(leader)
	m.DropStreams()
	ok(w, "following %s: state and streams redirect there; /fake/follower?leader= leads again", leader)
}

// failoverControl: /fake/failover[?reregister=10s]
func (m *Master) failoverControl(w http.ResponseWriter, r *http.Request) {
	d := 10 * time.Second
	if v := r.URL.Query().Get("reregister"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 || d > time.Hour {
			bad(w, "reregister=%q: a duration such as 10s, up to 1h", v)
			return
		}
	}
	if err := m.Failover(d); err != nil {
		bad(w, "%v", err)
		return
	}
	ok(w, "failed over: a new leader whose agents are all recovered and re-register in %v", d)
}

// heartbeatsControl: /fake/heartbeats?pause=1|0[&interval=DURATION]
func (m *Master) heartbeatsControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var said []string
	if v := q.Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad(w, "interval=%q: a duration such as 15s (0: none announced, as before Mesos 1.5)", v)
			return
		}
		m.SetHeartbeat(d)
		said = append(said, fmt.Sprintf("streams opened from now announce heartbeats every %v", d))
	}
	switch v := q.Get("pause"); v {
	case "":
	case "1":
		m.PauseHeartbeats(true)
		said = append(said, "heartbeats paused (pause=0 resumes them)")
	case "0":
		m.PauseHeartbeats(false)
		said = append(said, "heartbeats resumed")
	default:
		bad(w, "pause=%q: 1 pauses the heartbeats of open streams, 0 resumes them", v)
		return
	}
	if len(said) == 0 {
		bad(w, "heartbeats needs pause=1|0 or interval=DURATION")
		return
	}
	ok(w, "%s", strings.Join(said, "; "))
}

// streamFaultControl: /fake/stream-fault?kind=close|stall|garbage
func (m *Master) streamFaultControl(w http.ResponseWriter, r *http.Request) {
	f, err := ParseStreamFault(r.URL.Query().Get("kind"))
	if err != nil {
		bad(w, "%v", err)
		return
	}
	n, _ := m.FaultStreams(f)
	ok(w, "%s played on %d open stream(s)", f, n)
}
