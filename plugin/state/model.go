// Package state is the part of a Mesos master's view of the cluster that DNS needs.
//
// The model is independent of any wire format: the /master/state JSON decoder in this
// package fills it, and the v1 operator API (GET_STATE, the event stream) can fill the
// same types. Nothing here performs network or DNS lookups.
//
// It is a part of the mesos CoreDNS plugin (github.com/coredns-mesos/mesos) and
// registers nothing with CoreDNS.
package state

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// State is one snapshot of a Mesos cluster.
type State struct {
	// Leader is the leading master as the state names it; Leader.Host is empty when the
	// state does not name one.
	Leader PID
	// Self is the master that produced the state (its top-level pid). Before Mesos 1.0 a
	// non-leading master answers with its own state, where Self differs from Leader.
	Self PID
	// SelfLeads reports that the state names the master that produced it as the
	// leader (its pid is the leader's, as written), also where that address is none a
	// record may carry (master@0.0.0.0:5050, a master bound to every interface): the
	// state is the leader's own, with Leader zero and leader.D left out.
	SelfLeads bool
	Agents    []Agent
	// Recovered are the agents a failed-over master knows of but that have not
	// re-registered with it yet: it knows none of their tasks.
	Recovered  []Agent
	Frameworks []Framework
	// Masters, when set, are the masters in ZooKeeper's election order: masterN.D
	// numbers them instead of the configured list.
	Masters []PID
	// Skipped counts the entities left out while decoding, by reason.
	Skipped Skips
}

// Skips counts skipped entities by reason. A nil Skips is empty.
type Skips map[string]int

// Add counts one skipped entity.
func (s *Skips) Add(reason string) {
	if *s == nil {
		*s = make(Skips)
	}
	(*s)[reason]++
}

// AddN counts n skipped entities or records.
func (s *Skips) AddN(reason string, n int) {
	if *s == nil {
		*s = make(Skips)
	}
	(*s)[reason] += n
}

// Total is the number of skipped entities over all reasons.
func (s Skips) Total() int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

// PID is a libprocess address, "name@host:port". Host is an IP literal or a host name.
type PID struct {
	ID   string
	Host string
	Port uint16
}

// IsZero reports whether p names no process.
func (p PID) IsZero() bool { return p.Host == "" }

// Addr returns the host as an IP address when it is an IP literal.
func (p PID) Addr() (netip.Addr, bool) { return ParseIP(p.Host) }

// String formats p back into libprocess form.
func (p PID) String() string {
	if p.IsZero() {
		return ""
	}
	host := p.Host
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	return p.ID + "@" + host + ":" + strconv.Itoa(int(p.Port))
}

// ErrBadPID is returned by ParsePID for anything that is not "name@host:port".
var ErrBadPID = errors.New("malformed pid")

// ParsePID parses "slave(1)@10.0.0.5:5051". The host may be a name or an IP literal
// (IPv6 in brackets). No lookup is made.
func ParsePID(s string) (PID, error) {
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return PID{}, ErrBadPID
	}
	hostport := s[at+1:]
	colon := strings.LastIndexByte(hostport, ':')
	if colon < 1 {
		return PID{}, ErrBadPID
	}
	host, port := hostport[:colon], hostport[colon+1:]
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return PID{}, ErrBadPID
		}
		host = host[1 : len(host)-1]
		if _, ok := ParseIP(host); !ok {
			return PID{}, ErrBadPID
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || !validHost(host) {
		return PID{}, ErrBadPID
	}
	return PID{ID: s[:at], Host: host, Port: uint16(p)}, nil
}

// validHost accepts IP literals and syntactically plausible host names, so that junk
// never reaches a resolver.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		// An IP literal no record may carry (0.0.0.0) is no host name either.
		return Usable(a)
	}
	for i := range len(h) {
		c := h[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// ParseIP parses an IP literal usable in an address record (see Usable), IPv4-mapped
// IPv6 unmapped.
func ParseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a = a.Unmap()
	return a, Usable(a)
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// Usable reports whether an address record may carry a (already unmapped): not
// unspecified, multicast or broadcast, and without a zone.
func Usable(a netip.Addr) bool {
	return a.IsValid() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() && a != broadcast
}

// Agent is a Mesos agent (formerly slave).
type Agent struct {
	ID       string
	Hostname string
	PID      PID
	// Region and Zone are the names of the agent's fault domain (Mesos 1.5 and
	// later), empty for an agent in none.
	Region, Zone string
}

// Framework is a registered framework with its tasks.
type Framework struct {
	ID       string
	Name     string
	Hostname string
	// PID is zero for HTTP-API frameworks, which have no scheduler pid.
	PID   PID
	Tasks []Task
}

// Task is one task of a framework.
//
// Its framework is the one that lists it (Framework.Tasks, TaskKey.Framework): a task
// holds no copy of the framework's id, so that it takes 128 octets, not 144.
type Task struct {
	ID      string
	Name    string
	AgentID string
	State   TaskState
	Ports   []PortRange
	// Discovery is nil when the task has no DiscoveryInfo.
	Discovery *Discovery
	Statuses  []Status
	// Net is nil for a task whose container says nothing of its network that DNS
	// uses: no Docker bridge, no port mappings (most tasks; host networking).
	Net *Network
}

// Network is what a task's ContainerInfo says of how the task reaches the network.
type Network struct {
	// Bridged is Docker BRIDGE networking.
	Bridged bool
	// Mappings are the port mappings of Docker (not on the host network) and of the
	// container networks (network_infos), in the order the document lists them.
	Mappings []PortMapping
}

// PortMapping maps a port of the agent to a port inside the container.
type PortMapping struct{ Host, Container uint16 }

// ViaAgent reports that the task reaches the network through its agent: Docker
// BRIDGE networking, or port mappings on a container network. Other hosts reach it
// at the agent's addresses, not at those of its container.
//
// A DiscoveryInfo port labelled network-scope host says so too: the task of a pod
// has no network of its own in the master's view (the pod's is its executor's, which
// neither /master/state's task nor the event stream carries), and Marathon labels a
// port host only where the agent's port reaches the task (or where the task is on
// the agent's network, whose addresses are the agent's).
func (t *Task) ViaAgent() bool {
	if t.Net != nil && (t.Net.Bridged || len(t.Net.Mappings) > 0) {
		return true
	}
	if t.Discovery != nil {
		for i := range t.Discovery.Ports {
			if t.Discovery.Ports[i].Scope == ScopeHost {
				return true
			}
		}
	}
	return false
}

// HostPort reports that the DiscoveryInfo port p is a port of the agent, not of the
// task's own network: labelled network-scope host, or, without the label, the host
// side of one of the task's port mappings and the container side of none (Marathon
// before the label).
func (t *Task) HostPort(p *DiscoveryPort) bool {
	switch p.Scope {
	case ScopeHost:
		return true
	case ScopeContainer:
		return false
	}
	if t.Net == nil {
		return false
	}
	host := false
	for _, m := range t.Net.Mappings {
		if m.Container == p.Number {
			return false
		}
		host = host || m.Host == p.Number
	}
	return host
}

// PortRange is an inclusive range of ports from a task's resources.
type PortRange struct{ Begin, End uint16 }

// Label is a key/value pair attached to a status.
type Label struct{ Key, Value string }

// Discovery is a task's DiscoveryInfo.
type Discovery struct {
	Name       string
	Visibility string
	Ports      []DiscoveryPort
}

// DiscoveryPort is one port of a DiscoveryInfo.
type DiscoveryPort struct {
	Number uint16
	// Scope is the port's network-scope label.
	Scope    Scope
	Name     string
	Protocol string
}

// Scope is the network a DiscoveryInfo port is numbered in, as its network-scope
// label (Marathon's) says.
type Scope uint8

// Scopes: no label (or another value), "host" (a port of the agent), "container" (a
// port inside the task's own network).
const (
	ScopeUnset Scope = iota
	ScopeHost
	ScopeContainer
)

// Health is the result of a task's health check as a status reports it.
type Health uint8

// Health values; HealthUnknown when the status carries no check result.
const (
	HealthUnknown Health = iota
	Healthy
	Unhealthy
)

// Status is one entry of a task's status history.
type Status struct {
	Timestamp float64
	Labels    []Label
	// IPs are the container's addresses from network_infos, invalid ones left out.
	IPs []netip.Addr
	// Last, so that a status is 64 octets, not 72: one is held a task.
	State   TaskState
	Healthy Health
}

// SameTask reports whether two values of a task, of the same framework, hold the same:
// the same records, and nothing to tell them apart by.
func SameTask(a, b *Task) bool {
	if a == b {
		return true
	}
	if a.ID != b.ID || a.Name != b.Name || a.AgentID != b.AgentID || a.State != b.State ||
		!slices.Equal(a.Ports, b.Ports) || (a.Discovery == nil) != (b.Discovery == nil) {
		return false
	}
	if a.Discovery != nil && (a.Discovery.Name != b.Discovery.Name || a.Discovery.Visibility != b.Discovery.Visibility ||
		!slices.Equal(a.Discovery.Ports, b.Discovery.Ports)) {
		return false
	}
	if (a.Net == nil) != (b.Net == nil) || a.Net != nil && (a.Net.Bridged != b.Net.Bridged || !slices.Equal(a.Net.Mappings, b.Net.Mappings)) {
		return false
	}
	return slices.EqualFunc(a.Statuses, b.Statuses, func(x, y Status) bool {
		return x.State == y.State && x.Timestamp == y.Timestamp && x.Healthy == y.Healthy &&
			slices.Equal(x.Labels, y.Labels) && slices.Equal(x.IPs, y.IPs)
	})
}

// LatestRunning returns the TASK_RUNNING status with the greatest timestamp; statuses
// are not guaranteed to be sorted. The later entry wins a tie.
func (t *Task) LatestRunning() (*Status, bool) {
	return t.latest(true)
}

// Latest returns the status with the greatest timestamp, whatever its state.
func (t *Task) Latest() (*Status, bool) {
	return t.latest(false)
}

func (t *Task) latest(running bool) (*Status, bool) {
	best := -1
	for i := range t.Statuses {
		s := &t.Statuses[i]
		if running && s.State != TaskRunning {
			continue
		}
		if best < 0 || s.Timestamp >= t.Statuses[best].Timestamp {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	return &t.Statuses[best], true
}

// Label returns the value of the first label with the given key.
func (s *Status) Label(key string) (string, bool) {
	for _, l := range s.Labels {
		if l.Key == key {
			return l.Value, true
		}
	}
	return "", false
}

// TaskState is a Mesos task state.
type TaskState uint8

// Task states, in the order of mesos.proto.
const (
	TaskUnknown TaskState = iota
	TaskStaging
	TaskStarting
	TaskRunning
	TaskKilling
	TaskFinished
	TaskFailed
	TaskKilled
	TaskLost
	TaskError
	TaskDropped
	TaskUnreachable
	TaskGone
	TaskGoneByOperator
)

var taskStateNames = [...]string{
	TaskUnknown:        "TASK_UNKNOWN",
	TaskStaging:        "TASK_STAGING",
	TaskStarting:       "TASK_STARTING",
	TaskRunning:        "TASK_RUNNING",
	TaskKilling:        "TASK_KILLING",
	TaskFinished:       "TASK_FINISHED",
	TaskFailed:         "TASK_FAILED",
	TaskKilled:         "TASK_KILLED",
	TaskLost:           "TASK_LOST",
	TaskError:          "TASK_ERROR",
	TaskDropped:        "TASK_DROPPED",
	TaskUnreachable:    "TASK_UNREACHABLE",
	TaskGone:           "TASK_GONE",
	TaskGoneByOperator: "TASK_GONE_BY_OPERATOR",
}

// String returns the Mesos name of the state.
func (s TaskState) String() string {
	if int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return "TaskState(" + strconv.Itoa(int(s)) + ")"
}

// ParseTaskState maps a Mesos state name to a TaskState.
func ParseTaskState(s string) (TaskState, bool) { return parseTaskState([]byte(s)) }

// parseTaskState matches the name in place: the decoder calls it three times a task.
func parseTaskState(b []byte) (TaskState, bool) {
	switch string(b) {
	case "TASK_RUNNING":
		return TaskRunning, true
	case "TASK_STARTING":
		return TaskStarting, true
	case "TASK_STAGING":
		return TaskStaging, true
	case "TASK_FINISHED":
		return TaskFinished, true
	case "TASK_FAILED":
		return TaskFailed, true
	case "TASK_KILLED":
		return TaskKilled, true
	case "TASK_KILLING":
		return TaskKilling, true
	case "TASK_LOST":
		return TaskLost, true
	case "TASK_ERROR":
		return TaskError, true
	case "TASK_DROPPED":
		return TaskDropped, true
	case "TASK_UNREACHABLE":
		return TaskUnreachable, true
	case "TASK_GONE":
		return TaskGone, true
	case "TASK_GONE_BY_OPERATOR":
		return TaskGoneByOperator, true
	case "TASK_UNKNOWN":
		return TaskUnknown, true
	}
	return TaskUnknown, false
}

// ParsePorts parses a resources ports string such as "[31000-31001, 31005-31005]".
func ParsePorts(s string) ([]PortRange, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errBadPorts
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	if s == "" {
		return nil, nil
	}
	var out []PortRange
	sorted := true
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			hi = lo
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if err1 != nil || err2 != nil || b == 0 || b > e {
			return nil, errBadPorts
		}
		r := PortRange{uint16(b), uint16(e)}
		if n := len(out); n > 0 && r.Begin <= out[n-1].End {
			sorted = false
		}
		out = append(out, r)
	}
	if !sorted {
		out = MergePorts(out)
	}
	return out, nil
}

// MergePorts sorts ranges and merges those that overlap, so that a port listed twice
// ("[1-65535, 1-65535]") is one port and never expanded twice.
func MergePorts(rs []PortRange) []PortRange {
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.Begin) - int(b.Begin) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && int(r.Begin) <= int(out[n-1].End)+1 {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

var errBadPorts = errors.New("malformed ports range")

// Running counts the running tasks of st (none when st is nil).
func (st *State) Running() int {
	if st == nil {
		return 0
	}
	n := 0
	for i := range st.Frameworks {
		for j := range st.Frameworks[i].Tasks {
			if st.Frameworks[i].Tasks[j].State == TaskRunning {
				n++
			}
		}
	}
	return n
}
