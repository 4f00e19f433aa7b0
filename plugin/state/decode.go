package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
)

// Reasons for skipping an entity, as counted in State.Skipped. They double as metric
// label values, so they are stable.
const (
	SkipAgentMalformed     = "agent_malformed"
	SkipAgentMissingID     = "agent_missing_id"
	SkipAgentBadPID        = "agent_bad_pid"
	SkipFrameworkMalformed = "framework_malformed"
	SkipFrameworkMissingID = "framework_missing_id"
	SkipFrameworkBadPID    = "framework_bad_pid"
	SkipTaskMalformed      = "task_malformed"
	SkipTaskMissingID      = "task_missing_id"
	SkipTaskBadPorts       = "task_bad_ports"
	SkipTaskUnknownState   = "task_unknown_state"
	SkipLeaderBadPID       = "leader_bad_pid"
	// SkipTaskBadDiscovery counts DiscoveryInfo ports numbered outside 1-65535, left
	// out of a task that is kept (as Mesos-DNS did).
	SkipTaskBadDiscovery = "task_bad_discovery"
	// SkipTaskBadMapping counts port mappings with a port outside 1-65535, or past a
	// task's first 1024, left out of a task that is kept.
	SkipTaskBadMapping = "task_bad_port_mapping"
	// SkipStatusMalformed counts status entries left out of a task that is kept.
	SkipStatusMalformed = "status_malformed"
	// SkipBadAddress counts addresses that no record may carry (unspecified,
	// multicast, broadcast), left out.
	SkipBadAddress = "bad_address"
	// SkipValueTooLong counts strings over 1 MiB, cut out as they were read: harmless
	// where nothing reads them, the entity's loss (counted as malformed) where a
	// record does.
	SkipValueTooLong = "value_too_long"
)

// errType marks a JSON value of the wrong type inside an entity: the value has been
// consumed, the stream is still in sync, and only that entity is skipped.
var errType = errors.New("unexpected JSON type")

// errTooLong is a string the guard cut out where a record reads one: the entity is
// malformed, as with a value of the wrong type.
var errTooLong = fmt.Errorf("%w: a string over 1 MiB", errType)

// Decode reads a master's /master/state (or pre-1.0 state.json) document.
//
// It streams: only the fields DNS needs are kept, everything else is skipped without
// being materialised, and no token is held past the guard's bounds (a string over
// 1 MiB is cut out and counted, a run of blanks or a number past its bound is an
// error). A malformed agent, framework or task is left out and counted in
// State.Skipped; invalid or truncated JSON, or a document that is not an object, is an
// error and no State is returned.
func Decode(r io.Reader) (*State, error) { return DecodeHooked(r, Hooks{}) }

// Hooks see a state while Decode reads it, so that what is read first can be used
// while the rest is read. A hook runs on the decoding goroutine; what it is given is
// never changed after, but the document may still turn out invalid: only the State
// that DecodeHooked returns is the master's.
type Hooks struct {
	// Agents is called with the agents once the document's "slaves" are read.
	Agents func([]Agent)
	// Framework is called with each framework once it is read, its tasks included, in
	// the order of the document (the order of State.Frameworks).
	Framework func(Framework)
}

// DecodeHooked is Decode, calling h's hooks as it goes.
func DecodeHooked(r io.Reader, h Hooks) (*State, error) {
	d := &decoder{
		hooks:  h,
		s:      newScanner(r),
		st:     &State{},
		intern: make(map[string]string),
		arena:  &arena{},
	}
	err := d.top()
	if d.s.cut > 0 {
		d.st.Skipped.AddN(SkipValueTooLong, d.s.cut)
	}
	if err != nil {
		if errors.Is(err, errType) {
			return nil, errors.New("mesos state: document is not a JSON object")
		}
		if err == io.EOF {
			return nil, errors.New("mesos state: empty document")
		}
		return nil, fmt.Errorf("mesos state: %w", err)
	}
	if _, err := d.s.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("mesos state: unexpected data after the document at offset %d", d.s.InputOffset())
	}
	if d.agentsSeen > 0 && d.agentsGood == 0 {
		// Not an empty cluster: a master or proxy that mangles every agent.
		return nil, fmt.Errorf("mesos state: every one of the %d agents is malformed", d.agentsSeen)
	}
	return d.st, nil
}

type decoder struct {
	// agentsSeen and agentsGood count the agents listed and those with a usable pid.
	agentsSeen, agentsGood int
	hooks                  Hooks
	// tasks is where a framework's tasks are decoded before it gets them, statuses
	// where a task's statuses are.
	tasks    []Task
	statuses []Status

	s      *scanner
	st     *State
	intern map[string]string
	buf    []byte
	// arena, when set, holds the strings read (see arena).
	arena *arena
}

// arena packs the many small strings of a state (ids, names) into shared chunks: one
// allocation per 64 KiB instead of one per string. Bytes handed out are never written
// again, so the strings stay immutable; a chunk lives as long as any string in it,
// which is as long as the State.
type arena struct {
	chunk []byte
	// statuses holds the tasks' statuses likewise, 256 a chunk.
	statuses []Status
}

// keepStatuses returns a copy of ss in the arena's statuses.
func (a *arena) keepStatuses(ss []Status) []Status {
	if cap(a.statuses)-len(a.statuses) < len(ss) {
		a.statuses = make([]Status, 0, max(256, len(ss)))
	}
	n := len(a.statuses)
	a.statuses = append(a.statuses, ss...)
	return a.statuses[n:len(a.statuses):len(a.statuses)]
}

func (a *arena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 1024 {
		return string(b)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, 64<<10)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return unsafe.String(&a.chunk[n], len(b))
}

func (d *decoder) top() error {
	var leader, infoPID, self string
	var infoHost string
	var infoPort float64
	err := d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "leader":
			leader, err = d.str()
		case "pid":
			self, err = d.str()
		case "leader_info":
			err = d.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "pid":
					infoPID, err = d.str()
				case "hostname":
					infoHost, err = d.str()
				case "port":
					infoPort, err = d.num()
				default:
					err = d.s.SkipValue()
				}
				return err
			})
		case "slaves":
			if err := d.list("slaves", d.agent); err != nil {
				return err
			}
			if d.hooks.Agents != nil {
				d.hooks.Agents(d.st.Agents)
			}
			return nil
		case "recovered_slaves":
			return d.list("recovered_slaves", d.recoveredAgent)
		case "frameworks":
			return d.list("frameworks", d.framework)
		default:
			return d.s.SkipValue()
		}
		if errors.Is(err, errType) {
			d.st.Skipped.Add(SkipLeaderBadPID)
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if self != "" {
		d.st.Self, _ = ParsePID(self)
		d.st.SelfLeads = self == leader || self == infoPID
	}
	for _, s := range []string{leader, infoPID} {
		if s == "" {
			continue
		}
		if p, err := ParsePID(s); err == nil {
			d.st.Leader = p
			return nil
		}
		d.st.Skipped.Add(SkipLeaderBadPID)
	}
	if infoHost != "" && infoPort > 0 && infoPort < 65536 && validHost(infoHost) {
		d.st.Leader = PID{ID: "master", Host: infoHost, Port: uint16(infoPort)}
	}
	return nil
}

func (d *decoder) agent() error {
	a, pid, bad, err := d.agentObject()
	if err != nil {
		return err
	}
	d.agentsSeen++
	if bad != "" {
		d.st.Skipped.Add(bad)
		return nil
	}
	// A bad pid costs the agent its address, not its tasks: they may carry their own.
	if a.PID, err = ParsePID(pid); err != nil {
		d.st.Skipped.Add(SkipAgentBadPID)
	} else {
		d.agentsGood++
	}
	a.ID = d.internString(a.ID)
	d.st.Agents = append(d.st.Agents, a)
	return nil
}

// recoveredAgent reads one of recovered_slaves[]: an agent a failed-over master knows
// of that has not re-registered yet.
func (d *decoder) recoveredAgent() error {
	a, _, bad, err := d.agentObject()
	if err != nil || bad != "" {
		return err
	}
	d.st.Recovered = append(d.st.Recovered, a)
	return nil
}

// agentObject reads one agent: its id, host name and pid text, and why it must be
// skipped ("" when it is fine).
func (d *decoder) agentObject() (a Agent, pid, bad string, err error) {
	bad, err = d.entity(SkipAgentMalformed, func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			a.ID, err = d.str()
		case "hostname":
			a.Hostname, err = d.str()
		case "pid":
			pid, err = d.str()
		case "domain":
			err = d.domain(&a)
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	if err == nil && bad == "" && a.ID == "" {
		bad = SkipAgentMissingID
	}
	return a, pid, bad, err
}

func (d *decoder) framework() error {
	var f Framework
	var pid string
	// The tasks are decoded into the decoder's own slice, and the framework gets a copy
	// of the exact size: grown one task at a time, each framework's would have left
	// about four times its size behind (a Task is 128 octets, 12.8 MB at 100k tasks).
	f.Tasks = d.tasks[:0]
	bad, err := d.entity(SkipFrameworkMalformed, func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			f.ID, err = d.str()
		case "name":
			f.Name, err = d.str()
		case "hostname":
			f.Hostname, err = d.str()
		case "pid":
			pid, err = d.str()
		case "tasks":
			err = d.array(func() error { return d.task(&f) })
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	scratch := f.Tasks
	f.Tasks = nil
	if len(scratch) > 0 {
		f.Tasks = slices.Clone(scratch)
	}
	// What this framework used: its tasks, and one a skipped task may have left.
	clear(scratch[:min(len(scratch)+1, cap(scratch))])
	d.tasks = scratch[:0]
	if err != nil {
		return err
	}
	if bad == "" && f.ID == "" {
		bad = SkipFrameworkMissingID
	}
	if bad != "" {
		d.st.Skipped.Add(bad)
		return nil
	}
	// A bad scheduler pid costs only the scheduler's own records, not the tasks.
	if pid != "" {
		if f.PID, err = ParsePID(pid); err != nil {
			d.st.Skipped.Add(SkipFrameworkBadPID)
		}
	}
	f.ID = d.internString(f.ID)
	d.st.Frameworks = append(d.st.Frameworks, f)
	if d.hooks.Framework != nil {
		d.hooks.Framework(f)
	}
	return nil
}

func (d *decoder) task(f *Framework) error {
	// Decoded in place: a Task is large and 100k of them would be copied twice.
	f.Tasks = append(f.Tasks, Task{})
	t := &f.Tasks[len(f.Tasks)-1]
	knownState := false
	// The statuses are read into the decoder's scratch, every "statuses" the task
	// lists, and the task keeps the one or two the records read (keepNeeded) at
	// their size: most tasks list two or more (starting, running, the health
	// checks' updates), where the records read one.
	statuses := d.statuses[:0]
	bad, err := d.entity(SkipTaskMalformed, func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			t.ID, err = d.str()
		case "name":
			t.Name, err = d.str()
		case "slave_id", "agent_id":
			t.AgentID, err = d.internStr()
		case "state":
			var b []byte
			b, err = d.strBytes()
			t.State, knownState = parseTaskState(b)
		case "resources":
			err = d.object(func(key []byte) error {
				if string(key) != "ports" {
					return d.s.SkipValue()
				}
				s, err := d.str()
				if err != nil {
					return err
				}
				if t.Ports, err = ParsePorts(s); err != nil {
					return errBadPorts
				}
				return nil
			})
		case "discovery":
			t.Discovery, err = d.discovery()
		case "container":
			t.Net, err = d.container()
		case "statuses":
			err = d.array(func() error {
				s, err := d.status()
				return d.keepStatus(&statuses, s, err)
			})
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	if ss := keepNeeded(statuses); len(ss) > 0 {
		if d.arena != nil {
			t.Statuses = d.arena.keepStatuses(ss)
		} else {
			t.Statuses = slices.Clone(ss)
		}
	}
	clear(statuses[:cap(statuses)])
	d.statuses = statuses[:0]
	if err != nil {
		return err
	}
	if bad == "" && t.ID == "" {
		bad = SkipTaskMissingID
	}
	if bad == "" && !knownState {
		bad = SkipTaskUnknownState
	}
	if bad != "" {
		d.st.Skipped.Add(bad)
		f.Tasks = f.Tasks[:len(f.Tasks)-1]
		return nil
	}
	return nil
}

func (d *decoder) discovery() (*Discovery, error) {
	if d.null() {
		return nil, nil
	}
	di := &Discovery{}
	err := d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			di.Name, err = d.str()
		case "visibility":
			di.Visibility, err = d.internStr()
		case "ports":
			err = d.object(func(key []byte) error {
				if string(key) != "ports" {
					return d.s.SkipValue()
				}
				return d.array(func() error {
					var p DiscoveryPort
					var num float64
					err := d.object(func(key []byte) error {
						var err error
						switch string(key) {
						case "number":
							num, err = d.num()
						case "name":
							p.Name, err = d.str()
						case "protocol":
							p.Protocol, err = d.internStr()
						case "labels":
							p.Scope, err = d.scope()
						default:
							err = d.s.SkipValue()
						}
						return err
					})
					if err != nil {
						return err
					}
					if !portNumber(num) {
						d.st.Skipped.Add(SkipTaskBadDiscovery)
						return nil
					}
					p.Number = uint16(num)
					di.Ports = append(di.Ports, p)
					return nil
				})
			})
		default:
			err = d.s.SkipValue()
		}
		return err
	})
	return di, err
}

// domain reads a DomainInfo, {fault_domain: {region: {name}, zone: {name}}}, into a's
// region and zone: both, or neither (Mesos requires both).
func (d *decoder) domain(a *Agent) error {
	if d.null() {
		return nil
	}
	var region, zone string
	name := func(to *string) error {
		return d.object(func(key []byte) error {
			if string(key) != "name" {
				return d.s.SkipValue()
			}
			var err error
			*to, err = d.internStr()
			return err
		})
	}
	err := d.object(func(key []byte) error {
		if string(key) != "fault_domain" {
			return d.s.SkipValue()
		}
		return d.object(func(key []byte) error {
			switch string(key) {
			case "region":
				return name(&region)
			case "zone":
				return name(&zone)
			}
			return d.s.SkipValue()
		})
	})
	if err == nil && region != "" && zone != "" {
		a.Region, a.Zone = region, zone
	}
	return err
}

// scope reads a port's labels, {"labels": [{key, value}...]} (or the bare array), for
// the scope their network-scope label gives the port. Nothing else of them is kept.
func (d *decoder) scope() (Scope, error) {
	sc := ScopeUnset
	err := d.labelList(func() error {
		// What the key and the value say, read in place: either may come first.
		isScope, value := false, ScopeUnset
		err := d.object(func(k []byte) error {
			if string(k) != "key" && string(k) != "value" {
				return d.s.SkipValue()
			}
			b, err := d.strBytes()
			if string(k) == "key" {
				isScope = string(b) == "network-scope"
				return err
			}
			switch string(b) {
			case "host":
				value = ScopeHost
			case "container":
				value = ScopeContainer
			}
			return err
		})
		if err == nil && isScope {
			sc = value
		}
		return err
	})
	return sc, err
}

// container reads a task's ContainerInfo, of /master/state or of the v1 API, for
// what it says of the task's network; nil when that is nothing DNS uses (most tasks:
// nothing is allocated for them).
func (d *decoder) container() (*Network, error) {
	if d.null() {
		return nil, nil
	}
	var maps []PortMapping
	bridged, hostNet := false, false
	dockerFrom, dockerTo := 0, 0 // Docker's mappings in maps
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "docker":
			return d.object(func(key []byte) error {
				switch string(key) {
				case "network":
					b, err := d.strBytes()
					bridged, hostNet = string(b) == "BRIDGE", string(b) == "HOST"
					return err
				case "port_mappings":
					dockerFrom = len(maps)
					err := d.portMappings(&maps)
					dockerTo = len(maps)
					return err
				}
				return d.s.SkipValue()
			})
		case "network_infos":
			return d.array(func() error {
				return d.object(func(key []byte) error {
					if string(key) != "port_mappings" {
						return d.s.SkipValue()
					}
					return d.portMappings(&maps)
				})
			})
		}
		return d.s.SkipValue()
	})
	if hostNet {
		// Docker maps no port for a task on the host's network.
		maps = slices.Delete(maps, dockerFrom, dockerTo)
	}
	if err != nil || !bridged && len(maps) == 0 {
		return nil, err
	}
	return &Network{Bridged: bridged, Mappings: maps}, nil
}

// portMappings appends an array of port mappings to ms; one with a port outside
// 1-65535 is left out and counted.
func (d *decoder) portMappings(ms *[]PortMapping) error {
	return d.array(func() error {
		var host, ctr float64
		err := d.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "host_port":
				host, err = d.num()
			case "container_port":
				ctr, err = d.num()
			default:
				err = d.s.SkipValue()
			}
			return err
		})
		if err != nil {
			return err
		}
		if !portNumber(host) || !portNumber(ctr) || len(*ms) >= maxMappings {
			d.st.Skipped.Add(SkipTaskBadMapping)
			return nil
		}
		*ms = append(*ms, PortMapping{Host: uint16(host), Container: uint16(ctr)})
		return nil
	})
}

// maxMappings bounds a task's port mappings: far more than any task has, few enough
// that matching each DiscoveryInfo port against them (Task.HostPort) stays cheap.
const maxMappings = 1024

// portNumber reports whether a JSON number is a port, 1-65535.
func portNumber(f float64) bool { return f >= 1 && f <= 65535 && f == float64(int(f)) }

func (d *decoder) status() (Status, error) {
	var s Status
	err := d.object(func(key []byte) error { return d.statusField(&s, key) })
	return s, err
}

// statusField reads one member of a status, of /master/state or of the v1 API.
func (d *decoder) statusField(s *Status, key []byte) error {
	var err error
	switch string(key) {
	case "state":
		var b []byte
		b, err = d.strBytes()
		s.State, _ = parseTaskState(b)
	case "timestamp":
		s.Timestamp, err = d.num()
	case "healthy":
		var h bool
		var set bool
		h, set, err = d.boolean()
		if set {
			s.Healthy = Unhealthy
			if h {
				s.Healthy = Healthy
			}
		}
	case "labels":
		s.Labels, err = d.labels()
	case "container_status":
		err = d.object(func(key []byte) error {
			if string(key) != "network_infos" {
				return d.s.SkipValue()
			}
			return d.array(func() error { return d.networkInfo(s) })
		})
	default:
		err = d.s.SkipValue()
	}
	return err
}

func (d *decoder) networkInfo(s *Status) error {
	add := func(ip string) {
		if a, ok := ParseIP(ip); ok {
			s.IPs = append(s.IPs, a)
		} else if a.IsValid() {
			d.st.Skipped.Add(SkipBadAddress)
		}
	}
	return d.object(func(key []byte) error {
		switch string(key) {
		case "ip_address": // 0.25
			ip, err := d.str()
			add(ip)
			return err
		case "ip_addresses":
			return d.array(func() error {
				return d.object(func(key []byte) error {
					if string(key) != "ip_address" {
						return d.s.SkipValue()
					}
					ip, err := d.str()
					add(ip)
					return err
				})
			})
		default:
			return d.s.SkipValue()
		}
	})
}

// labels reads a flat array of {key,value}, or the {"labels":[...]} wrapper.
func (d *decoder) labels() ([]Label, error) {
	var out []Label
	err := d.labelList(func() error {
		var l Label
		err := d.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "key":
				l.Key, err = d.internStr()
			case "value":
				l.Value, err = d.str()
			default:
				err = d.s.SkipValue()
			}
			return err
		})
		if err == nil && l.Key != "" {
			out = append(out, l)
		}
		return err
	})
	return out, err
}

// labelList calls elem for each element of a list of labels: a flat array, or the
// {"labels":[...]} wrapper.
func (d *decoder) labelList(elem func() error) error {
	if d.s.PeekKind() == '{' {
		return d.object(func(key []byte) error {
			if string(key) != "labels" {
				return d.s.SkipValue()
			}
			return d.array(elem)
		})
	}
	return d.array(elem)
}

// entity reads one object and reports why it must be skipped ("" when it is fine).
// Field-level problems only mark the entity; syntax errors abort the document.
func (d *decoder) entity(malformed string, field func(key []byte) error) (string, error) {
	bad := ""
	mark := func(err error) error {
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errType):
			bad = malformed
		case errors.Is(err, errBadPorts):
			bad = SkipTaskBadPorts
		default:
			return err
		}
		return nil
	}
	if d.s.PeekKind() != '{' {
		if err := d.s.SkipValue(); err != nil {
			return "", err
		}
		return malformed, nil
	}
	err := d.object(func(key []byte) error {
		return mark(field(key))
	})
	return bad, mark(err)
}

// list reads one of the lists a state is made of. One of another type is no list of
// nothing: the document is refused, with an error that names it.
func (d *decoder) list(name string, elem func() error) error {
	kind := d.s.PeekKind()
	err := d.array(elem)
	if errors.Is(err, errType) && kind != '[' {
		return fmt.Errorf("%q is %s, not an array", name, kindName(kind))
	}
	return err
}

// kindName names a JSON kind for an error.
func kindName(k byte) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "not a JSON value"
}

// object calls field for each member; field must consume the member's value. null is
// an empty object. A value of another type is consumed and errType returned.
func (d *decoder) object(field func(key []byte) error) error {
	switch d.s.PeekKind() {
	case '{':
		if _, err := d.s.ReadToken(); err != nil {
			return err
		}
	case 'n':
		_, err := d.s.ReadToken()
		return err
	default:
		if err := d.s.SkipValue(); err != nil {
			return err
		}
		return errType
	}
	var first error
	for d.s.PeekKind() != '}' {
		k, err := d.s.ReadValue()
		if err != nil {
			return err
		}
		// A soft error in one member still lets the rest of the object be consumed.
		if err := field(d.unquote(k)); err != nil {
			if !isSoft(err) {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
	if _, err := d.s.ReadToken(); err != nil {
		return err
	}
	return first
}

// array calls elem for each element; null is an empty array.
func (d *decoder) array(elem func() error) error {
	if d.null() {
		return nil
	}
	if err := d.expect('['); err != nil {
		return err
	}
	var first error
	for d.s.PeekKind() != ']' {
		if err := elem(); err != nil {
			if !isSoft(err) {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
	if _, err := d.s.ReadToken(); err != nil {
		return err
	}
	return first
}

func isSoft(err error) bool {
	return errors.Is(err, errType) || errors.Is(err, errBadPorts)
}

func (d *decoder) expect(k byte) error {
	if d.s.PeekKind() != k {
		if err := d.s.SkipValue(); err != nil {
			return err
		}
		return errType
	}
	_, err := d.s.ReadToken()
	return err
}

func (d *decoder) null() bool {
	if d.s.PeekKind() == 'n' {
		_, err := d.s.ReadToken()
		return err == nil
	}
	return false
}

func (d *decoder) str() (string, error) {
	b, err := d.strBytes()
	if b == nil {
		return "", err
	}
	if d.arena == nil {
		return string(b), err
	}
	return d.arena.string(b), err
}

// internStr is str for values that repeat across the state (ids, states, keys), so
// that 100k tasks share a handful of strings.
func (d *decoder) internStr() (string, error) {
	b, err := d.strBytes()
	if b == nil {
		return "", err
	}
	if s, ok := d.intern[string(b)]; ok {
		return s, nil
	}
	return d.internString(string(b)), nil
}

func (d *decoder) internString(s string) string {
	if v, ok := d.intern[s]; ok {
		return v
	}
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	d.intern[s] = s
	return s
}

// strBytes reads one value whole: a string is returned unquoted, null as nil, and
// anything else (already consumed, so the stream stays in sync) as errType.
func (d *decoder) strBytes() ([]byte, error) {
	v, err := d.s.ReadValue()
	if err != nil {
		return nil, err
	}
	switch v[0] {
	case '"':
		if string(v) == tooLong {
			return nil, errTooLong
		}
		return d.unquote(v), nil
	case 'n':
		return nil, nil
	}
	return nil, errType
}

func (d *decoder) unquote(v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	b, err := jsontext.AppendUnquote(d.buf[:0], v)
	if err != nil {
		return v[1 : len(v)-1]
	}
	d.buf = b
	return b
}

func (d *decoder) num() (float64, error) {
	switch d.s.PeekKind() {
	case '0':
		t, err := d.s.ReadToken()
		if err != nil {
			return 0, err
		}
		f, err := float(t)
		if err != nil {
			return 0, errType
		}
		return f, nil
	case 'n':
		_, err := d.s.ReadToken()
		return 0, err
	default:
		if err := d.s.SkipValue(); err != nil {
			return 0, err
		}
		return 0, errType
	}
}

func (d *decoder) boolean() (v, set bool, err error) {
	switch d.s.PeekKind() {
	case 't', 'f':
		t, err := d.s.ReadToken()
		if err != nil {
			return false, false, err
		}
		return t[0] == 't', true, nil
	case 'n':
		_, err := d.s.ReadToken()
		return false, false, err
	default:
		if err := d.s.SkipValue(); err != nil {
			return false, false, err
		}
		return false, false, errType
	}
}

// keepStatus adds a decoded status to a task's statuses ss, as both decoders read
// them. One that did not decode loses itself, not the task (another may give what is
// needed), and is counted. Only the two the records read are kept: a task with a
// million statuses costs what one with two does.
func (d *decoder) keepStatus(ss *[]Status, s Status, err error) error {
	if isSoft(err) {
		d.st.Skipped.Add(SkipStatusMalformed)
		return nil
	}
	if err == nil {
		if *ss = append(*ss, s); len(*ss) > 2 {
			*ss = keepNeeded(*ss)
		}
	}
	return err
}
