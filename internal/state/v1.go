package state

import (
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"
)

// The v1 operator API's JSON (master.proto, mesos.proto): ids are objects, resources
// are typed lists, framework data sits in framework_info. Only what DNS needs is
// declared; everything else is skipped.

type v1ID struct {
	Value string `json:"value"`
}

type v1Labels struct {
	Labels []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"labels"`
}

type v1Resource struct {
	Name   string `json:"name"`
	Ranges *struct {
		Range []struct {
			Begin uint64 `json:"begin"`
			End   uint64 `json:"end"`
		} `json:"range"`
	} `json:"ranges"`
}

type v1Status struct {
	TaskID          v1ID     `json:"task_id"`
	AgentID         v1ID     `json:"agent_id"`
	State           string   `json:"state"`
	Timestamp       float64  `json:"timestamp"`
	Healthy         *bool    `json:"healthy"`
	Labels          v1Labels `json:"labels"`
	ContainerStatus struct {
		NetworkInfos []struct {
			IPAddresses []struct {
				IPAddress string `json:"ip_address"`
			} `json:"ip_addresses"`
		} `json:"network_infos"`
	} `json:"container_status"`
}

type v1Task struct {
	Name        string       `json:"name"`
	TaskID      v1ID         `json:"task_id"`
	FrameworkID v1ID         `json:"framework_id"`
	AgentID     v1ID         `json:"agent_id"`
	State       string       `json:"state"`
	Resources   []v1Resource `json:"resources"`
	Discovery   *struct {
		Name       string `json:"name"`
		Visibility string `json:"visibility"`
		Ports      struct {
			Ports []struct {
				Number   uint64 `json:"number"`
				Name     string `json:"name"`
				Protocol string `json:"protocol"`
			} `json:"ports"`
		} `json:"ports"`
	} `json:"discovery"`
	Statuses []v1Status `json:"statuses"`
}

type v1AgentInfo struct {
	Hostname string `json:"hostname"`
	Port     uint64 `json:"port"`
	ID       v1ID   `json:"id"`
}

type v1Agent struct {
	AgentInfo v1AgentInfo `json:"agent_info"`
	PID       string      `json:"pid"`
}

type v1FrameworkInfo struct {
	ID       v1ID   `json:"id"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
}

type v1Framework struct {
	FrameworkInfo v1FrameworkInfo `json:"framework_info"`
}

type v1GetState struct {
	GetTasks struct {
		Tasks []v1Task `json:"tasks"`
	} `json:"get_tasks"`
	GetAgents struct {
		Agents          []v1Agent     `json:"agents"`
		RecoveredAgents []v1AgentInfo `json:"recovered_agents"`
	} `json:"get_agents"`
	GetFrameworks struct {
		Frameworks []v1Framework `json:"frameworks"`
	} `json:"get_frameworks"`
}

// Event is one record of the master's event stream (or a GET_STATE answer, whose
// get_state is read as a SUBSCRIBED snapshot).
type Event struct {
	Type       string `json:"type"`
	Subscribed *struct {
		GetState          v1GetState `json:"get_state"`
		HeartbeatInterval float64    `json:"heartbeat_interval_seconds"`
	} `json:"subscribed"`
	GetState  *v1GetState `json:"get_state"`
	TaskAdded *struct {
		Task v1Task `json:"task"`
	} `json:"task_added"`
	TaskUpdated *struct {
		FrameworkID v1ID     `json:"framework_id"`
		Status      v1Status `json:"status"`
		State       string   `json:"state"`
	} `json:"task_updated"`
	AgentAdded *struct {
		Agent v1Agent `json:"agent"`
	} `json:"agent_added"`
	AgentRemoved *struct {
		AgentID v1ID `json:"agent_id"`
	} `json:"agent_removed"`
	FrameworkAdded *struct {
		Framework v1Framework `json:"framework"`
	} `json:"framework_added"`
	FrameworkUpdated *struct {
		Framework v1Framework `json:"framework"`
	} `json:"framework_updated"`
	FrameworkRemoved *struct {
		FrameworkInfo v1FrameworkInfo `json:"framework_info"`
	} `json:"framework_removed"`
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

// ErrEvent is a record that does not decode, or an event without its body.
var ErrEvent = errors.New("malformed event")

// DecodeEvent decodes one record of the event stream. A record that does not decode
// is an error: the caller ends the stream, nothing of it is applied.
func DecodeEvent(b []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	missing := false
	switch ev.Type {
	case EventSubscribed:
		missing = ev.Subscribed == nil
	case EventGetState:
		missing = ev.GetState == nil
	case EventTaskAdded:
		missing = ev.TaskAdded == nil
	case EventTaskUpdated:
		missing = ev.TaskUpdated == nil
	case EventAgentAdded:
		missing = ev.AgentAdded == nil
	case EventAgentRemoved:
		missing = ev.AgentRemoved == nil
	case EventFrameworkAdded:
		missing = ev.FrameworkAdded == nil
	case EventFrameworkUpdated:
		missing = ev.FrameworkUpdated == nil
	case EventFrameworkRemoved:
		missing = ev.FrameworkRemoved == nil
	case "":
		return nil, fmt.Errorf("%w: no type", ErrEvent)
	}
	if missing {
		return nil, fmt.Errorf("%w: %s without its body", ErrEvent, ev.Type)
	}
	return &ev, nil
}

func (a *v1Agent) agent(skips *Skips) (Agent, bool) {
	id := a.AgentInfo.ID.Value
	if id == "" {
		skips.Add(SkipAgentMissingID)
		return Agent{}, false
	}
	out := Agent{ID: id, Hostname: a.AgentInfo.Hostname}
	p, err := ParsePID(a.PID)
	if err != nil && a.PID == "" && a.AgentInfo.Port > 0 && a.AgentInfo.Port < 65536 && validHost(a.AgentInfo.Hostname) {
		p, err = PID{ID: "slave(1)", Host: a.AgentInfo.Hostname, Port: uint16(a.AgentInfo.Port)}, nil
	}
	if err != nil {
		skips.Add(SkipAgentBadPID)
	} else {
		out.PID = p
	}
	return out, true
}

func (f *v1FrameworkInfo) framework(skips *Skips) (Framework, bool) {
	if f.ID.Value == "" {
		skips.Add(SkipFrameworkMissingID)
		return Framework{}, false
	}
	// The v1 API has no scheduler pid: F.D comes from the framework's hostname.
	return Framework{ID: f.ID.Value, Name: f.Name, Hostname: f.Hostname}, true
}

func (s *v1Status) status(skips *Skips) Status {
	out := Status{Timestamp: s.Timestamp}
	out.State, _ = ParseTaskState(s.State)
	if s.Healthy != nil {
		out.Healthy = Unhealthy
		if *s.Healthy {
			out.Healthy = Healthy
		}
	}
	for _, l := range s.Labels.Labels {
		if l.Key != "" {
			out.Labels = append(out.Labels, Label{Key: l.Key, Value: l.Value})
		}
	}
	for _, ni := range s.ContainerStatus.NetworkInfos {
		for _, ip := range ni.IPAddresses {
			if a, ok := ParseIP(ip.IPAddress); ok {
				out.IPs = append(out.IPs, a)
			} else if a.IsValid() {
				skips.Add(SkipBadAddress)
			}
		}
	}
	return out
}

func (t *v1Task) task(skips *Skips) (Task, bool) {
	out := Task{ID: t.TaskID.Value, Name: t.Name, FrameworkID: t.FrameworkID.Value, AgentID: t.AgentID.Value}
	if out.ID == "" || out.FrameworkID == "" {
		skips.Add(SkipTaskMissingID)
		return Task{}, false
	}
	var ok bool
	if out.State, ok = ParseTaskState(t.State); !ok {
		skips.Add(SkipTaskUnknownState)
		return Task{}, false
	}
	for _, r := range t.Resources {
		if r.Name != "ports" || r.Ranges == nil {
			continue
		}
		for _, pr := range r.Ranges.Range {
			if pr.Begin == 0 || pr.Begin > pr.End || pr.End > 65535 {
				skips.Add(SkipTaskBadPorts)
				return Task{}, false
			}
			out.Ports = append(out.Ports, PortRange{uint16(pr.Begin), uint16(pr.End)}) // #nosec G115 -- checked above
		}
	}
	out.Ports = MergePorts(out.Ports)
	if d := t.Discovery; d != nil {
		out.Discovery = &Discovery{Name: d.Name, Visibility: d.Visibility}
		for _, p := range d.Ports.Ports {
			if p.Number < 1 || p.Number > 65535 {
				skips.Add(SkipTaskBadDiscovery)
				return Task{}, false
			}
			out.Discovery.Ports = append(out.Discovery.Ports, DiscoveryPort{Number: uint16(p.Number), Name: p.Name, Protocol: p.Protocol})
		}
	}
	for i := range t.Statuses {
		out.Statuses = append(out.Statuses, t.Statuses[i].status(skips))
	}
	return out, true
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
