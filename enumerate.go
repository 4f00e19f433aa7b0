package mesos

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns-mesos/mesos/internal/state"
)

// enumJSON is /v1/enumerate in Mesos-DNS's shape: each framework, its tasks, and the
// records each task gives.
type enumJSON struct {
	Frameworks []enumFramework `json:"frameworks"`
}

type enumFramework struct {
	Name  string     `json:"name"`
	Tasks []enumTask `json:"tasks"`
}

type enumTask struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Records []enumRecord `json:"records"`
}

type enumRecord struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	Rtype string `json:"rtype"`
}

type enumItem struct {
	fw  *fwEntry
	ag  *agentInfo
	t   *state.Task
	key state.TaskKey
}

// enumerate lists, for zone, the records each running task gives as the records were
// last given the tasks. It runs each task through a builder of its own on an empty
// tree, and takes it back, so the set served is not touched. Called from the HTTP
// API: it holds u.mu only to copy what it reads.
func (u *updater) enumerate(zone string) enumJSON {
	u.mu.Lock()
	items := make([]enumItem, 0, u.nrun)
	for k, t := range u.tasks {
		f := u.fws[k.Framework]
		if f == nil || f.info.fl == "" || t.State != state.TaskRunning {
			continue
		}
		it := enumItem{fw: f, t: t, key: k}
		if a := u.agents[t.AgentID]; a != nil {
			it.ag = &a.info
		}
		items = append(items, it)
	}
	u.mu.Unlock()
	slices.SortFunc(items, func(a, b enumItem) int {
		if c := strings.Compare(a.fw.f.Name, b.fw.f.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.key.Framework, b.key.Framework); c != 0 {
			return c
		}
		if c := strings.Compare(a.key.Task, b.key.Task); c != 0 {
			return c
		}
		return a.key.Dup - b.key.Dup
	})
	var stats Stats
	t := newTree()
	b := newBuilder(u.o, t, &stats)
	out := enumJSON{Frameworks: []enumFramework{}}
	for i, it := range items {
		if i == 0 || it.key.Framework != items[i-1].key.Framework {
			out.Frameworks = append(out.Frameworks, enumFramework{Name: it.fw.f.Name, Tasks: []enumTask{}})
		}
		b.sign = 1
		b.task(it.t, it.fw.info.fl, it.ag)
		et := enumTask{Name: it.t.Name, ID: it.t.ID, Records: []enumRecord{}}
		for _, n := range t.dirty {
			owner := zone
			if n.name != "" {
				owner = n.name + "." + zone
			}
			for _, a := range n.addrs {
				rt := "A"
				if !a.Is4() {
					rt = "AAAA"
				}
				et.Records = append(et.Records, enumRecord{Name: owner, Host: a.String(), Rtype: rt})
			}
			for _, r := range n.srvs {
				et.Records = append(et.Records, enumRecord{Name: owner, Host: net.JoinHostPort(r.tn.name+"."+zone, strconv.Itoa(int(r.port))), Rtype: "SRV"})
			}
		}
		slices.SortFunc(et.Records, func(a, b enumRecord) int {
			return strings.Compare(a.Rtype+" "+a.Name+" "+a.Host, b.Rtype+" "+b.Name+" "+b.Host)
		})
		et.Records = slices.Compact(et.Records)
		b.sign = -1
		b.task(it.t, it.fw.info.fl, it.ag)
		t.seal()
		t.next()
		f := &out.Frameworks[len(out.Frameworks)-1]
		f.Tasks = append(f.Tasks, et)
	}
	return out
}
