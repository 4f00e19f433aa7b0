package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
)

// The v1 operator API's JSON (master.proto, mesos.proto): ids are objects, resources
// are typed lists, framework data sits in framework_info. It is read as /master/state
// is, streaming and under the same bounds: only what DNS needs is kept, and one
// malformed entity is left out and counted, never the whole record.

// Event is one record of the master's event stream (or a GET_STATE answer, whose
// get_state is read as a SUBSCRIBED snapshot), with what DNS needs of it.
type Event struct {
	Type string
	// Snapshot is the state SUBSCRIBED and GET_STATE carry.
	Snapshot *Snapshot
	// Heartbeat is SUBSCRIBED's heartbeat_interval_seconds.
	Heartbeat float64
	// Task is TASK_ADDED's task, of framework FrameworkID; nil when it was left out
	// (counted in Skipped).
	Task *Task
	// Update is TASK_UPDATED's; nil when it was left out.
	Update *TaskUpdate
	// Agent is AGENT_ADDED's agent; nil when it was left out.
	Agent *Agent
	// Framework is FRAMEWORK_ADDED's or FRAMEWORK_UPDATED's; nil when it was left out.
	Framework *Framework
	// AgentID and FrameworkID are what AGENT_REMOVED and FRAMEWORK_REMOVED remove;
	// FrameworkID is also TASK_ADDED's task's framework.
	AgentID, FrameworkID string
	// Skipped counts what decoding left out, by reason.
	Skipped Skips

	bodies []string // the keys of the event bodies the record holds
}

// Snapshot is a GET_STATE: the agents, those still to re-register, the frameworks
// (without their tasks) and every task.
type Snapshot struct {
	Agents     []Agent
	Recovered  []Agent
	Frameworks []Framework
	Tasks      []FrameworkTask
}

// FrameworkTask is a task of a snapshot and the id of its framework.
type FrameworkTask struct {
	Framework string
	*Task
}

// TaskUpdate is what TASK_UPDATED says of a task.
type TaskUpdate struct {
	FrameworkID, TaskID, AgentID string
	// State is the update's state, or else its status's.
	State TaskState
	// Status is the new status; nil when it was malformed (counted): the state still
	// applies, a terminal one above all.
	Status *Status
}

// Event types the stream carries.
const (
	EventSubscribed       = "SUBSCRIBED"
	EventHeartbeat        = "HEARTBEAT"
	EventTaskAdded        = "TASK_ADDED"
	EventTaskUpdated      = "TASK_UPDATED"
	EventAgentAdded       = "AGENT_ADDED"
	EventAgentRemoved     = "AGENT_REMOVED"
	EventFrameworkAdded   = "FRAMEWORK_ADDED"
	EventFrameworkUpdated = "FRAMEWORK_UPDATED"
	EventFrameworkRemoved = "FRAMEWORK_REMOVED"
	EventGetState         = "GET_STATE"
)

// bodyKeys names the member each event type's body is in.
var bodyKeys = map[string]string{
	EventSubscribed:       "subscribed",
	EventGetState:         "get_state",
	EventTaskAdded:        "task_added",
	EventTaskUpdated:      "task_updated",
	EventAgentAdded:       "agent_added",
	EventAgentRemoved:     "agent_removed",
	EventFrameworkAdded:   "framework_added",
	EventFrameworkUpdated: "framework_updated",
	EventFrameworkRemoved: "framework_removed",
}

// ErrEvent is a record that does not decode, or an event without its body.
var ErrEvent = errors.New("malformed event")

// DecodeEvent decodes one record of the event stream held in b.
func DecodeEvent(b []byte) (*Event, error) {
	return new(EventDecoder).Decode(bytes.NewReader(b))
}

// EventDecoder decodes the records of one event stream as they arrive, under the
// bounds of Decode; its buffers serve one record after the other.
type EventDecoder struct {
	s scanner
}

// Decode reads one record from r, to its end. A malformed entity in it is left out
// and counted in Event.Skipped; a record that does not decode, or an event without
// its body, is an error wrapping ErrEvent: the caller ends the stream, nothing of the
// record is applied.
func (e *EventDecoder) Decode(r io.Reader) (*Event, error) {
	e.s.reset(r)
	// No arena: a stream's values are replaced one by one, and a chunk would live as
	// long as the last string in it.
	d := &decoder{s: &e.s, st: &State{}}
	ev := &Event{}
	err := d.event(ev)
	if e.s.cut > 0 {
		d.st.Skipped.AddN(SkipValueTooLong, e.s.cut)
	}
	ev.Skipped = d.st.Skipped
	if rerr := e.s.rerr; err != nil && rerr != nil && rerr != io.EOF {
		// The stream broke (or was cut short) inside the record: that is its end,
		// not a record that does not decode.
		return nil, rerr
	}
	switch {
	case errors.Is(err, errType):
		return nil, fmt.Errorf("%w: not a JSON object", ErrEvent)
	case err == io.EOF:
		return nil, fmt.Errorf("%w: an empty record", ErrEvent)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	if _, err := e.s.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the event at offset %d", ErrEvent, e.s.InputOffset())
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrEvent)
	}
	if key, ok := bodyKeys[ev.Type]; ok && !ev.has(key) {
		return nil, fmt.Errorf("%w: %s without its body", ErrEvent, ev.Type)
	}
	if ev.Type == EventSubscribed && ev.Snapshot == nil {
		// Taken for an empty cluster, it would wipe the records.
		return nil, fmt.Errorf("%w: SUBSCRIBED without its state", ErrEvent)
	}
	return ev, nil
}

func (ev *Event) has(key string) bool { return slices.Contains(ev.bodies, key) }

// event reads a record. A body that is not an object is no body.
func (d *decoder) event(ev *Event) error {
	return d.object(func(key []byte) error {
		k := string(key)
		if k == "type" {
			s, err := d.str()
			if errors.Is(err, errType) {
				// Not a type: as if there were none.
				return nil
			}
			ev.Type = s
			return err
		}
		if _, ok := eventOf[k]; !ok || d.s.PeekKind() != '{' {
			return d.s.SkipValue()
		}
		ev.bodies = append(ev.bodies, k)
		return d.body(ev, k)
	})
}

// eventOf is bodyKeys the other way round.
var eventOf = func() map[string]string {
	m := make(map[string]string, len(bodyKeys))
	for t, k := range bodyKeys {
		m[k] = t
	}
	return m
}()

// body reads the body of one event type, an object.
func (d *decoder) body(ev *Event, key string) error {
	switch key {
	case "subscribed":
		return d.object(func(key []byte) error {
			switch string(key) {
			case "get_state":
				var err error
				ev.Snapshot, err = d.snapshot()
				return err
			case "heartbeat_interval_seconds":
				hb, err := d.num()
				if errors.Is(err, errType) {
					// No interval: the master is taken for one without heartbeats.
					return nil
				}
				ev.Heartbeat = hb
				return err
			}
			return d.s.SkipValue()
		})
	case "get_state":
		var err error
		ev.Snapshot, err = d.snapshot()
		return err
	case "task_added":
		found := false
		err := d.object(func(key []byte) error {
			if string(key) != "task" {
				return d.s.SkipValue()
			}
			found = true
			var err error
			ev.Task, ev.FrameworkID, err = d.v1Task()
			return err
		})
		if !found && err == nil {
			d.st.Skipped.Add(SkipTaskMissingID)
		}
		return err
	case "task_updated":
		u, err := d.taskUpdate()
		ev.Update = u
		return err
	case "agent_added":
		found := false
		err := d.object(func(key []byte) error {
			if string(key) != "agent" {
				return d.s.SkipValue()
			}
			found = true
			var err error
			ev.Agent, err = d.v1Agent()
			return err
		})
		if !found && err == nil {
			d.st.Skipped.Add(SkipAgentMissingID)
		}
		return err
	case "agent_removed":
		return d.removed(&ev.AgentID, "agent_id", SkipAgentMalformed)
	case "framework_added", "framework_updated":
		found := false
		err := d.object(func(key []byte) error {
			if string(key) != "framework" {
				return d.s.SkipValue()
			}
			found = true
			var err error
			ev.Framework, err = d.v1Framework()
			return err
		})
		if !found && err == nil {
			d.st.Skipped.Add(SkipFrameworkMissingID)
		}
		return err
	case "framework_removed":
		return d.object(func(key []byte) error {
			if string(key) != "framework_info" {
				return d.s.SkipValue()
			}
			return d.removed(&ev.FrameworkID, "id", SkipFrameworkMalformed)
		})
	}
	return d.s.SkipValue()
}

// removed reads the id of what an event removes from the member key of an object; a
// malformed one is counted under reason and removes nothing.
func (d *decoder) removed(id *string, key, reason string) error {
	err := d.object(func(k []byte) error {
		if string(k) != key {
			return d.s.SkipValue()
		}
		var err error
		*id, err = d.id()
		return err
	})
	if isSoft(err) {
		*id = ""
		d.st.Skipped.Add(reason)
		return nil
	}
	return err
}

// snapshot reads a GET_STATE. Its lists must be lists: one of another type is an
// error, never a list of nothing (that would wipe the records).
func (d *decoder) snapshot() (*Snapshot, error) {
	if d.s.PeekKind() != '{' {
		if err := d.s.SkipValue(); err != nil {
			return nil, err
		}
		return nil, errors.New("get_state is not an object")
	}
	snap := &Snapshot{}
	section := func(name string, lists map[string]func() error) error {
		err := d.object(func(key []byte) error {
			k := string(key)
			elem, ok := lists[k]
			if !ok {
				return d.s.SkipValue()
			}
			return d.list(name+"."+k, elem)
		})
		if isSoft(err) {
			return fmt.Errorf("%q is not an object", name)
		}
		return err
	}
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "get_agents":
			return section("get_agents", map[string]func() error{
				"agents": func() error {
					a, err := d.v1Agent()
					if a != nil {
						snap.Agents = append(snap.Agents, *a)
					}
					return err
				},
				"recovered_agents": func() error {
					// AgentInfo; one that is malformed is no agent to wait for.
					a, bad, err := d.agentInfo()
					if err == nil && bad == "" && a.ID != "" {
						snap.Recovered = append(snap.Recovered, a)
					}
					return err
				},
			})
		case "get_frameworks":
			return section("get_frameworks", map[string]func() error{
				"frameworks": func() error {
					f, err := d.v1Framework()
					if f != nil {
						snap.Frameworks = append(snap.Frameworks, *f)
					}
					return err
				},
			})
		case "get_tasks":
			return section("get_tasks", map[string]func() error{
				"tasks": func() error {
					t, fw, err := d.v1Task()
					if t != nil {
						snap.Tasks = append(snap.Tasks, FrameworkTask{fw, t})
					}
					return err
				},
			})
		}
		return d.s.SkipValue()
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// id reads a v1 id, {"value": "…"}; null is no id.
func (d *decoder) id() (string, error) {
	var id string
	err := d.object(func(key []byte) error {
		if string(key) != "value" {
			return d.s.SkipValue()
		}
		var err error
		id, err = d.str()
		return err
	})
	return id, err
}

// v1Agent reads one agent: {agent_info: {id, hostname, port}, pid}. Without a usable
// pid its address comes from agent_info; without either it is kept without one.
func (d *decoder) v1Agent() (*Agent, error) {
	var a Agent
	var pid string
	var port float64
	bad, err := d.entity(SkipAgentMalformed, func(key []byte) error {
		var err error
		switch string(key) {
		case "agent_info":
			err = d.object(func(key []byte) error { return d.agentInfoField(&a, &port, key) })
		case "pid":
			pid, err = d.str()
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if bad == "" && a.ID == "" {
		bad = SkipAgentMissingID
	}
	if bad != "" {
		d.st.Skipped.Add(bad)
		return nil, nil
	}
	p, perr := ParsePID(pid)
	if perr != nil && pid == "" && port > 0 && port < 65536 && port == float64(int(port)) && validHost(a.Hostname) {
		p, perr = PID{ID: "slave(1)", Host: a.Hostname, Port: uint16(port)}, nil
	}
	if perr != nil {
		d.st.Skipped.Add(SkipAgentBadPID)
	} else {
		a.PID = p
	}
	return &a, nil
}

// agentInfo reads an AgentInfo, as recovered_agents lists them.
func (d *decoder) agentInfo() (Agent, string, error) {
	var a Agent
	var port float64
	bad, err := d.entity(SkipAgentMalformed, func(key []byte) error { return d.agentInfoField(&a, &port, key) })
	return a, bad, err
}

func (d *decoder) agentInfoField(a *Agent, port *float64, key []byte) error {
	var err error
	switch string(key) {
	case "id":
		a.ID, err = d.id()
	case "hostname":
		a.Hostname, err = d.str()
	case "port":
		*port, err = d.num()
	case "domain":
		err = d.domain(a)
	default:
		err = d.s.SkipValue()
	}
	return err
}

// v1Framework reads one framework: {framework_info: {id, name, hostname}}. The v1
// API has no scheduler pid: F.D comes from the hostname, or the state-summary.
func (d *decoder) v1Framework() (*Framework, error) {
	var f Framework
	bad, err := d.entity(SkipFrameworkMalformed, func(key []byte) error {
		if string(key) != "framework_info" {
			return d.s.SkipValue()
		}
		return d.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "id":
				f.ID, err = d.id()
			case "name":
				f.Name, err = d.str()
			case "hostname":
				f.Hostname, err = d.str()
			default:
				err = d.s.SkipValue()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if bad == "" && f.ID == "" {
		bad = SkipFrameworkMissingID
	}
	if bad != "" {
		d.st.Skipped.Add(bad)
		return nil, nil
	}
	return &f, nil
}

// v1Task reads one task and the id of its framework; one left out (counted) is nil.
func (d *decoder) v1Task() (*Task, string, error) {
	t := &Task{}
	var fw string
	knownState := false
	bad, err := d.entity(SkipTaskMalformed, func(key []byte) error {
		var err error
		switch string(key) {
		case "task_id":
			t.ID, err = d.id()
		case "name":
			t.Name, err = d.str()
		case "framework_id":
			fw, err = d.id()
		case "agent_id":
			t.AgentID, err = d.id()
		case "state":
			var b []byte
			b, err = d.strBytes()
			t.State, knownState = parseTaskState(b)
		case "resources":
			err = d.array(func() error { return d.resource(t) })
		case "discovery":
			t.Discovery, err = d.discovery()
		case "container":
			t.Net, err = d.container()
		case "statuses":
			err = d.array(func() error {
				var s Status
				var taskID, agentID string
				err := d.v1Status(&s, &taskID, &agentID)
				return d.keepStatus(&t.Statuses, s, err)
			})
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if bad == "" && (t.ID == "" || fw == "") {
		bad = SkipTaskMissingID
	}
	if bad == "" && !knownState {
		bad = SkipTaskUnknownState
	}
	if bad != "" {
		d.st.Skipped.Add(bad)
		return nil, "", nil
	}
	t.Ports = MergePorts(t.Ports)
	return t, fw, nil
}

// resource reads one of a task's resources; the ranges of "ports" are its ports.
func (d *decoder) resource(t *Task) error {
	var name []byte
	var ranges [][2]float64
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "name":
			b, err := d.strBytes()
			name = append(name[:0], b...)
			return err
		case "ranges":
			return d.object(func(key []byte) error {
				if string(key) != "range" {
					return d.s.SkipValue()
				}
				return d.array(func() error {
					var r [2]float64
					err := d.object(func(key []byte) error {
						var err error
						switch string(key) {
						case "begin":
							r[0], err = d.num()
						case "end":
							r[1], err = d.num()
						default:
							err = d.s.SkipValue()
						}
						return err
					})
					ranges = append(ranges, r)
					return err
				})
			})
		}
		return d.s.SkipValue()
	})
	if err != nil || string(name) != "ports" {
		return err
	}
	for _, r := range ranges {
		b, e := r[0], r[1]
		if b < 1 || b > e || e > 65535 || b != float64(int(b)) || e != float64(int(e)) {
			return errBadPorts
		}
		t.Ports = append(t.Ports, PortRange{uint16(b), uint16(e)})
	}
	return nil
}

// v1Status reads a status; its task and agent ids go to taskID and agentID.
func (d *decoder) v1Status(s *Status, taskID, agentID *string) error {
	return d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "task_id":
			*taskID, err = d.id()
		case "agent_id":
			*agentID, err = d.id()
		default:
			err = d.statusField(s, key)
		}
		return err
	})
}

// taskUpdate reads TASK_UPDATED's body. Its own fields malformed, it is left out
// (task_malformed); its status malformed, the state applies without the status
// (status_malformed).
func (d *decoder) taskUpdate() (*TaskUpdate, error) {
	u := &TaskUpdate{}
	var s Status
	var state []byte
	statusOK := true
	err := d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "framework_id":
			u.FrameworkID, err = d.id()
		case "state":
			var b []byte
			b, err = d.strBytes()
			state = append(state[:0], b...)
		case "status":
			err = d.v1Status(&s, &u.TaskID, &u.AgentID)
			if isSoft(err) {
				statusOK, err = false, nil
			}
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	if isSoft(err) {
		d.st.Skipped.Add(SkipTaskMalformed)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ok bool
	if u.State, ok = parseTaskState(state); !ok {
		u.State = s.State
	}
	if statusOK {
		u.Status = &s
	} else {
		d.st.Skipped.Add(SkipStatusMalformed)
	}
	return u, nil
}

// String names an event for logs and metrics: its type, or "unknown".
func (ev *Event) String() string {
	if ev.Type == "" {
		return "unknown"
	}
	return ev.Type
}

// MasterInfo is a master's MasterInfo, as GET_MASTER and ZooKeeper give it.
type MasterInfo struct {
	ID       string `json:"id"`
	IP       uint64 `json:"ip"`
	Port     uint64 `json:"port"`
	PIDText  string `json:"pid"`
	Hostname string `json:"hostname"`
	Address  *struct {
		IP       string `json:"ip"`
		Hostname string `json:"hostname"`
		Port     uint64 `json:"port"`
	} `json:"address"`
}

// PID is the master's address: address.ip and address.port (1.0+), else the packed
// IPv4 ip field with port, else address.hostname, else its pid, else hostname and port.
func (m *MasterInfo) PID() (PID, bool) {
	pid := func(host string, port uint64) (PID, bool) {
		if port == 0 || port > 65535 || !validHost(host) {
			return PID{}, false
		}
		return PID{ID: "master", Host: host, Port: uint16(port)}, true // #nosec G115 -- checked above
	}
	if a := m.Address; a != nil {
		if p, ok := pid(a.IP, a.Port); ok {
			return p, true
		}
	}
	if m.IP != 0 && m.IP < 1<<32 {
		// The ip field packs IPv4 in network order, read as a little-endian integer.
		ip := uint32(m.IP) // #nosec G115 -- checked above
		if p, ok := pid(fmt.Sprintf("%d.%d.%d.%d", ip&0xff, ip>>8&0xff, ip>>16&0xff, ip>>24), m.Port); ok {
			return p, true
		}
	}
	if a := m.Address; a != nil {
		if p, ok := pid(a.Hostname, a.Port); ok {
			return p, true
		}
	}
	if p, err := ParsePID(m.PIDText); err == nil {
		return p, true
	}
	return pid(m.Hostname, m.Port)
}
