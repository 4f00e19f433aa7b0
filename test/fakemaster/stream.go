package fakemaster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The v1 operator API: POST /api/v1 with SUBSCRIBE (the event stream, RecordIO), GET_STATE
// and GET_MASTER. The snapshot is the state the master serves, in v1 JSON; events are
// what a test Emits.

// streams is the event-stream side of a Master.
type streams struct {
	mu        sync.Mutex
	off       bool          // answer SUBSCRIBE with 404, as a master before 1.0
	heartbeat time.Duration // 0: no heartbeat_interval_seconds, as before 1.5
	paused    bool          // stop sending heartbeats
	subs      map[*subscriber]struct{}
	opened    int
	churnStop chan struct{}
	churnDone chan struct{} // closed when the churn goroutine has returned
	once      []byte        // the next SUBSCRIBED's state instead of the master's, if any
	churnMu   sync.Mutex
}

// subscriber is one open stream.
type subscriber struct {
	events chan []byte
	done   chan struct{} // closed to end the stream
	fault  chan StreamFault
}

// StreamFault is what an open stream does instead of carrying on.
type StreamFault string

// Faults an open stream can play (see FaultStreams).
const (
	StreamClose   StreamFault = "close"   // the master ends the stream, as one that exits
	StreamStall   StreamFault = "stall"   // nothing more, heartbeats included, the connection open
	StreamGarbage StreamFault = "garbage" // a record that is not an event, then on as before
)

// StreamFaults lists the stream faults with what each does, for -h and for errors.
var StreamFaults = []struct {
	Fault StreamFault
	Does  string
}{
	{StreamClose, "the master ends every open stream (the plugin subscribes again)"},
	{StreamStall, "open streams send nothing more, heartbeats included, and stay open"},
	{StreamGarbage, "open streams send a record that is not JSON, then go on"},
}

// ParseStreamFault returns the named stream fault.
func ParseStreamFault(name string) (StreamFault, error) {
	var names []string
	for _, f := range StreamFaults {
		if f.Fault == StreamFault(name) {
			return f.Fault, nil
		}
		names = append(names, string(f.Fault))
	}
	return "", fmt.Errorf("unknown stream fault %q (one of %s)", name, strings.Join(names, ", "))
}

func (s *streams) init() {
	if s.subs == nil {
		s.subs = make(map[*subscriber]struct{})
		s.heartbeat = 15 * time.Second
	}
}

// SetStream turns the event stream on (the default) or off.
func (m *Master) SetStream(on bool) {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	m.ev.init()
	m.ev.off = !on
}

// SetHeartbeat sets the heartbeat interval announced and kept (0: none announced).
func (m *Master) SetHeartbeat(d time.Duration) {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	m.ev.init()
	m.ev.heartbeat = d
}

// SnapshotOnce makes the next SUBSCRIBED carry js (a /master/state document) instead
// of the state the master serves, which GET_STATE, /master/state and later SUBSCRIBEs
// still give: a master whose one snapshot is wrong.
func (m *Master) SnapshotOnce(js []byte) {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	m.ev.once = js
}

// PauseHeartbeats stops (or resumes) the heartbeats of open streams.
func (m *Master) PauseHeartbeats(on bool) {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	m.ev.paused = on
}

// Emit sends one event (v1 JSON) to every open stream.
func (m *Master) Emit(event string) {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	for sub := range m.ev.subs {
		select {
		case sub.events <- []byte(event):
		default: // a subscriber that does not read loses events, as with a real master
		}
	}
}

// DropStreams ends every open stream, as a master that exits does.
func (m *Master) DropStreams() {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	for sub := range m.ev.subs {
		close(sub.done)
		delete(m.ev.subs, sub)
	}
}

// FaultStreams makes every open stream play f, and returns how many it reached.
// Streams opened later are healthy.
func (m *Master) FaultStreams(f StreamFault) (int, error) {
	if _, err := ParseStreamFault(string(f)); err != nil {
		return 0, err
	}
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	n := len(m.ev.subs)
	for sub := range m.ev.subs {
		if f == StreamClose {
			close(sub.done)
			delete(m.ev.subs, sub)
			continue
		}
		select {
		case sub.fault <- f:
		default: // one already pending
		}
	}
	return n, nil
}

// Streams is how many streams are open; Subscriptions how many were ever opened.
func (m *Master) Streams() int {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	return len(m.ev.subs)
}

// Subscriptions is how many streams were ever opened.
func (m *Master) Subscriptions() int {
	m.ev.mu.Lock()
	defer m.ev.mu.Unlock()
	return m.ev.opened
}

func (m *Master) api(w http.ResponseWriter, r *http.Request) {
	state, fault, delay, leader, self, legacy := m.snapshot(r)
	m.mu.Lock()
	id := m.id
	m.mu.Unlock()
	m.ev.mu.Lock()
	m.ev.init()
	off, hb := m.ev.off, m.ev.heartbeat
	m.ev.mu.Unlock()
	if off || legacy {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "Expecting 'POST'", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "Expecting 'Content-Type' of application/json", http.StatusUnsupportedMediaType)
		return
	}
	if leader != "" {
		w.Header().Set("Location", "//"+leader+"/api/v1")
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if fault == NoLeader {
		fault = Unavailable // the API has no leaderless answer: 503
	}
	if played(w, r, fault, delay, "") {
		return
	}
	var call struct {
		Type string `json:"type"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch call.Type {
	case "GET_MASTER":
		host, port, _ := net.SplitHostPort(self)
		p, _ := strconv.Atoi(port)
		fmt.Fprintf(w, `{"type":"GET_MASTER","get_master":{"master_info":{"id":%q,"hostname":%q,"port":%d,"address":{"ip":%q,"port":%d}}}}`, id, host, p, host, p)
	case "GET_STATE":
		v1, err := ToV1(state)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"type":"GET_STATE","get_state":%s}`, v1)
	case "SUBSCRIBE":
		m.subscribe(w, r, hb)
	default:
		http.Error(w, "unknown call "+call.Type, http.StatusBadRequest)
	}
}

func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, hb time.Duration) {
	// Subscribed before the snapshot is taken: an event of a change after it is sent
	// after the snapshot, never lost between the two (one the snapshot already holds
	// is applied twice, which events allow).
	sub := &subscriber{events: make(chan []byte, 4096), done: make(chan struct{}), fault: make(chan StreamFault, 1)}
	m.ev.mu.Lock()
	m.ev.subs[sub] = struct{}{}
	m.ev.opened++
	m.ev.mu.Unlock()
	defer func() {
		m.ev.mu.Lock()
		delete(m.ev.subs, sub)
		m.ev.mu.Unlock()
	}()
	m.mu.Lock()
	state := m.current()
	m.mu.Unlock()
	m.ev.mu.Lock()
	if m.ev.once != nil {
		state, m.ev.once = m.ev.once, nil
	}
	m.ev.mu.Unlock()
	v1, err := ToV1(state)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fl := w.(http.Flusher)
	send := func(b []byte) bool {
		if _, err := fmt.Fprintf(w, "%d\n%s", len(b), b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	interval := ""
	if hb > 0 {
		interval = fmt.Sprintf(`,"heartbeat_interval_seconds":%g`, hb.Seconds())
	}
	if !send([]byte(`{"type":"SUBSCRIBED","subscribed":{"get_state":` + string(v1) + interval + `}}`)) {
		return
	}
	heartbeat := []byte(`{"type":"HEARTBEAT"}`)
	if hb <= 0 {
		hb = time.Hour
	} else if !send(heartbeat) {
		return
	}
	// fault plays f and reports whether the stream goes on.
	fault := func(f StreamFault) bool {
		switch f {
		case StreamGarbage:
			return send([]byte(`{"type":"TASK_UPDATED",<html>not an event</html>`))
		case StreamStall:
			// Nothing more until the client gives up or the master ends it.
			select {
			case <-sub.done:
			case <-r.Context().Done():
			}
		}
		return false
	}
	tick := time.NewTicker(hb)
	defer tick.Stop()
	for {
		// A fault goes before any event emitted after it was asked for.
		select {
		case f := <-sub.fault:
			if !fault(f) {
				return
			}
			continue
		default:
		}
		select {
		case ev := <-sub.events:
			if !send(ev) {
				return
			}
		case <-tick.C:
			m.ev.mu.Lock()
			paused := m.ev.paused
			m.ev.mu.Unlock()
			if !paused && !send(heartbeat) {
				return
			}
		case f := <-sub.fault:
			if !fault(f) {
				return
			}
		case <-sub.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// ToV1 turns a /master/state document into the v1 GET_STATE shape (ids as objects,
// resources as ranges, framework_info, labels wrapped), so that one state can be served
// both ways. recovered_slaves become recovered_agents.
func ToV1(stateJSON []byte) ([]byte, error) {
	var st struct {
		Slaves []struct {
			ID       string          `json:"id"`
			Hostname string          `json:"hostname"`
			PID      string          `json:"pid"`
			Domain   json.RawMessage `json:"domain"`
		} `json:"slaves"`
		Recovered []struct {
			ID       string `json:"id"`
			Hostname string `json:"hostname"`
			Port     int    `json:"port"`
		} `json:"recovered_slaves"`
		Frameworks []struct {
			ID       string            `json:"id"`
			Name     string            `json:"name"`
			Hostname string            `json:"hostname"`
			Tasks    []json.RawMessage `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal(stateJSON, &st); err != nil {
		return nil, err
	}
	id := func(s string) map[string]string { return map[string]string{"value": s} }
	agents := []any{}
	for _, a := range st.Slaves {
		port := 5051
		if i := strings.LastIndexByte(a.PID, ':'); i >= 0 {
			port, _ = strconv.Atoi(a.PID[i+1:])
		}
		info := map[string]any{"id": id(a.ID), "hostname": a.Hostname, "port": port}
		if a.Domain != nil {
			// DomainInfo is written alike in both APIs.
			info["domain"] = a.Domain
		}
		agents = append(agents, map[string]any{"agent_info": info, "pid": a.PID, "active": true})
	}
	recovered := []any{}
	for _, a := range st.Recovered {
		recovered = append(recovered, map[string]any{"id": id(a.ID), "hostname": a.Hostname, "port": a.Port})
	}
	frameworks, tasks := []any{}, []any{}
	for _, f := range st.Frameworks {
		frameworks = append(frameworks, map[string]any{"framework_info": map[string]any{"id": id(f.ID), "name": f.Name, "hostname": f.Hostname}, "active": true})
		for _, raw := range f.Tasks {
			t, err := taskToV1(raw, f.ID)
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
	}
	return json.Marshal(map[string]any{
		"get_agents":     map[string]any{"agents": agents, "recovered_agents": recovered},
		"get_frameworks": map[string]any{"frameworks": frameworks},
		"get_tasks":      map[string]any{"tasks": tasks},
	})
}

// TaskToV1 turns one task of /master/state into its v1 shape, for TASK_ADDED.
func TaskToV1(taskJSON []byte, frameworkID string) (string, error) {
	t, err := taskToV1(taskJSON, frameworkID)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(t)
	return string(b), err
}

func taskToV1(raw json.RawMessage, frameworkID string) (map[string]any, error) {
	var t map[string]any
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	id := func(v any) map[string]any { return map[string]any{"value": v} }
	out := map[string]any{"name": t["name"], "task_id": id(t["id"]), "framework_id": id(frameworkID), "agent_id": id(t["slave_id"]), "state": t["state"]}
	// DiscoveryInfo and ContainerInfo are written alike in both APIs.
	for _, k := range []string{"discovery", "container"} {
		if v, ok := t[k]; ok {
			out[k] = v
		}
	}
	if res, ok := t["resources"].(map[string]any); ok {
		if ports, ok := res["ports"].(string); ok {
			var ranges []any
			for part := range strings.SplitSeq(strings.Trim(ports, "[] "), ",") {
				lo, hi, found := strings.Cut(strings.TrimSpace(part), "-")
				if !found {
					hi = lo
				}
				b, _ := strconv.Atoi(strings.TrimSpace(lo))
				e, _ := strconv.Atoi(strings.TrimSpace(hi))
				if b > 0 {
					ranges = append(ranges, map[string]any{"begin": b, "end": e})
				}
			}
			out["resources"] = []any{map[string]any{"name": "ports", "type": "RANGES", "ranges": map[string]any{"range": ranges}}}
		}
	}
	if sts, ok := t["statuses"].([]any); ok {
		var statuses []any
		for _, s := range sts {
			sm, ok := s.(map[string]any)
			if !ok {
				continue
			}
			sm["task_id"] = id(t["id"])
			sm["agent_id"] = id(t["slave_id"])
			if l, ok := sm["labels"].([]any); ok {
				sm["labels"] = map[string]any{"labels": l}
			}
			statuses = append(statuses, sm)
		}
		out["statuses"] = statuses
	}
	return out, nil
}

// summary serves /master/state-summary: the frameworks with their pids, no tasks.
func (m *Master) summary(w http.ResponseWriter, r *http.Request) {
	state, fault, _, leader, _, _ := m.snapshot(r)
	if leader != "" {
		w.Header().Set("Location", "//"+leader+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if fault == ServerError || fault == Unavailable {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	var st struct {
		Frameworks []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			PID      string `json:"pid,omitempty"`
			Hostname string `json:"hostname"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// Churn launches and kills tasks at perSecond events a second (launches and, 50
// behind, kills of tasks "churn-N" on the state's first agent and framework) until
// called again with 0. The tasks are in the state too (see Launch), so a poll or a new
// stream sees what the events did.
func (m *Master) Churn(perSecond int) error {
	m.ev.churnMu.Lock() // one Churn at a time: each stops the one before
	defer m.ev.churnMu.Unlock()
	m.ev.mu.Lock()
	stop, done := m.ev.churnStop, m.ev.churnDone
	m.ev.churnStop, m.ev.churnDone = nil, nil
	m.ev.mu.Unlock()
	if stop != nil {
		// Stopped once its last change is made: what the state holds then stays.
		close(stop)
		<-done
	}
	if perSecond <= 0 {
		return nil
	}
	var agent, fw string
	err := m.change(func(l *live) ([]string, error) {
		if len(l.agents) == 0 || len(l.frameworks) == 0 {
			return nil, errors.New("churn needs a state with an agent and a framework")
		}
		agent, fw = l.agents[0].ID, l.frameworks[0].id
		return nil, nil
	})
	if err != nil {
		return err
	}
	stop, done = make(chan struct{}), make(chan struct{})
	m.ev.mu.Lock()
	m.ev.churnStop, m.ev.churnDone = stop, done
	m.ev.mu.Unlock()
	go func() {
		defer close(done)
		// Two events a tick: a launch and a kill.
		tick := time.NewTicker(2 * time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			m.Launch(Launch{ID: fmt.Sprintf("churn.%d", i), Name: fmt.Sprintf("churn-%d", i%50), Agent: agent, Framework: fw})
			if i >= 50 {
				m.Kill(fmt.Sprintf("churn.%d", i-50))
			}
		}
	}()
	return nil
}

// TaskRunning is a TASK_ADDED event for a task already running (no ports, no status:
// its address is its agent's).
func TaskRunning(framework, agent, id, name string) string {
	return fmt.Sprintf(`{"type":"TASK_ADDED","task_added":{"task":{"name":%q,"task_id":{"value":%q},"framework_id":{"value":%q},"agent_id":{"value":%q},"state":"TASK_RUNNING"}}}`,
		name, id, framework, agent)
}

// TaskKilled is the TASK_UPDATED event of a task killed.
func TaskKilled(framework, id string) string {
	return fmt.Sprintf(`{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":%q},"state":"TASK_KILLED","status":{"task_id":{"value":%q},"state":"TASK_KILLED"}}}`,
		framework, id)
}
