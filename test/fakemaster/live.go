package fakemaster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A Master changed at run time (tasks launched and killed, churn, a failover) serves
// the changes in every form, as a real master does: /master/state, the SUBSCRIBED and
// GET_STATE snapshots and the events agree, so that a poll, a resync or a second look
// after a stream's events sees the same tasks the events made.

// live is the state document parsed just enough to add and remove tasks without
// rewriting the rest, and rendered again after each change.
type live struct {
	top        map[string]json.RawMessage // every top-level field but frameworks
	frameworks []*liveFramework
	agents     []liveAgent
	byID       map[string][]*liveTask // running tasks by id (ids may repeat)
	nextPort   int
	seq        int
	// recovering is a failed-over master whose agents have not re-registered yet: it
	// lists them as recovered_slaves and knows none of their tasks.
	recovering bool
}

type liveFramework struct {
	fields map[string]json.RawMessage // every field but tasks
	id     string
	name   string
	tasks  []*liveTask
	dead   int // killed tasks still in tasks, dropped when they are half of it
}

type liveTask struct {
	id, name, agent string
	fw              *liveFramework
	raw             json.RawMessage
	dead            bool
}

type liveAgent struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	PID      string `json:"pid"`
}

// firstPort is where launched tasks' ports begin: Mesos's default port resources
// are 31000-32000, and the demo state uses the first few.
const firstPort = 31100

func parseLive(doc []byte) (*live, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errors.New("the state is not a JSON object")
	}
	l := &live{top: top, byID: map[string][]*liveTask{}, nextPort: firstPort}
	if raw, ok := top["slaves"]; ok {
		if err := json.Unmarshal(raw, &l.agents); err != nil {
			return nil, fmt.Errorf("slaves: %w", err)
		}
	}
	if raw, ok := top["frameworks"]; ok {
		var fws []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fws); err != nil {
			return nil, fmt.Errorf("frameworks: %w", err)
		}
		for _, fields := range fws {
			f := &liveFramework{fields: fields}
			json.Unmarshal(fields["id"], &f.id)
			json.Unmarshal(fields["name"], &f.name)
			var tasks []json.RawMessage
			if raw, ok := fields["tasks"]; ok {
				if err := json.Unmarshal(raw, &tasks); err != nil {
					return nil, fmt.Errorf("framework %q tasks: %w", f.id, err)
				}
			}
			delete(fields, "tasks")
			for _, raw := range tasks {
				var t struct {
					ID      string `json:"id"`
					Name    string `json:"name"`
					SlaveID string `json:"slave_id"`
				}
				json.Unmarshal(raw, &t) // a task that does not decode is served as it is
				l.add(&liveTask{id: t.ID, name: t.Name, agent: t.SlaveID, fw: f, raw: raw})
			}
			l.frameworks = append(l.frameworks, f)
		}
	}
	delete(top, "frameworks")
	return l, nil
}

func (l *live) add(t *liveTask) {
	t.fw.tasks = append(t.fw.tasks, t)
	l.byID[t.id] = append(l.byID[t.id], t)
}

// kill takes every running entry with id out of the state and returns the frameworks
// they were in.
func (l *live) kill(id string) []*liveFramework {
	var fws []*liveFramework
	for _, t := range l.byID[id] {
		t.dead = true
		f := t.fw
		if !slices.Contains(fws, f) {
			fws = append(fws, f)
		}
		if f.dead++; f.dead*2 > len(f.tasks) {
			f.tasks = slices.DeleteFunc(f.tasks, func(t *liveTask) bool { return t.dead })
			f.dead = 0
		}
	}
	delete(l.byID, id)
	return fws
}

// framework finds a framework by id or name; "" is marathon, or the first.
func (l *live) framework(name string) (*liveFramework, error) {
	if len(l.frameworks) == 0 {
		return nil, errors.New("the state has no framework")
	}
	for _, f := range l.frameworks {
		if f.id == name || f.name == name || name == "" && f.name == "marathon" {
			return f, nil
		}
	}
	if name == "" {
		return l.frameworks[0], nil
	}
	return nil, fmt.Errorf("no framework %q (one of %s)", name, strings.Join(l.frameworkNames(), ", "))
}

func (l *live) frameworkNames() []string {
	names := make([]string, 0, len(l.frameworks))
	for _, f := range l.frameworks {
		names = append(names, f.name)
	}
	return names
}

// agent finds an agent by id or hostname; "" takes each in turn.
func (l *live) agent(name string) (string, error) {
	if len(l.agents) == 0 {
		return "", errors.New("the state has no agent")
	}
	if name == "" {
		return l.agents[l.seq%len(l.agents)].ID, nil
	}
	var ids []string
	for _, a := range l.agents {
		if a.ID == name || a.Hostname == name {
			return a.ID, nil
		}
		ids = append(ids, a.ID)
	}
	return "", fmt.Errorf("no agent %q (one of %s)", name, strings.Join(ids, ", "))
}

// launch adds a running task with ports ports and returns its v1 TASK_ADDED event.
func (l *live) launch(f *liveFramework, agent, id, name string, ports int) (*liveTask, string, error) {
	l.seq++
	t := map[string]any{
		"id": id, "name": name, "framework_id": f.id, "slave_id": agent, "state": "TASK_RUNNING",
		"statuses": []any{map[string]any{"state": "TASK_RUNNING", "timestamp": float64(time.Now().UnixMicro()) / 1e6}},
	}
	res := map[string]any{"cpus": 0.1, "mem": 32}
	if ports > 0 {
		res["ports"] = fmt.Sprintf("[%d-%d]", l.nextPort, l.nextPort+ports-1)
		l.nextPort += ports
	}
	t["resources"] = res
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, "", err
	}
	v1, err := TaskToV1(raw, f.id)
	if err != nil {
		return nil, "", err
	}
	task := &liveTask{id: id, name: name, agent: agent, fw: f, raw: raw}
	l.add(task)
	return task, `{"type":"TASK_ADDED","task_added":{"task":` + v1 + `}}`, nil
}

// render writes the document: the top-level fields in order, the frameworks with their
// running tasks, or during a failover the agents as recovered and no tasks.
func (l *live) render() []byte {
	var b bytes.Buffer
	top := make(map[string]json.RawMessage, len(l.top)+2)
	maps.Copy(top, l.top)
	if l.recovering {
		type recovered struct {
			ID       string `json:"id"`
			Hostname string `json:"hostname"`
			Port     int    `json:"port"`
		}
		rec := make([]recovered, 0, len(l.agents))
		for _, a := range l.agents {
			port := 5051
			if i := strings.LastIndexByte(a.PID, ':'); i >= 0 {
				if p, err := strconv.Atoi(a.PID[i+1:]); err == nil {
					port = p
				}
			}
			rec = append(rec, recovered{a.ID, a.Hostname, port})
		}
		top["slaves"] = json.RawMessage(`[]`)
		top["recovered_slaves"], _ = json.Marshal(rec)
	}
	var fws bytes.Buffer
	fws.WriteByte('[')
	for i, f := range l.frameworks {
		if i > 0 {
			fws.WriteByte(',')
		}
		fws.WriteByte('{')
		writeFields(&fws, f.fields)
		if len(f.fields) > 0 {
			fws.WriteByte(',')
		}
		fws.WriteString(`"tasks":[`)
		n := 0
		for _, t := range f.tasks {
			if t.dead || l.recovering {
				continue
			}
			if n > 0 {
				fws.WriteByte(',')
			}
			fws.Write(t.raw)
			n++
		}
		fws.WriteString("]}")
	}
	fws.WriteByte(']')
	top["frameworks"] = fws.Bytes()
	b.WriteByte('{')
	writeFields(&b, top)
	b.WriteByte('}')
	return b.Bytes()
}

// writeFields writes the members of an object, sorted by key.
func writeFields(b *bytes.Buffer, fields map[string]json.RawMessage) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(k)
		b.Write(name)
		b.WriteByte(':')
		b.Write(fields[k])
	}
}
