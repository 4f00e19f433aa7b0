package mesos

import (
	"bufio"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// enumJSON is /v1/enumerate in Mesos-DNS's shape: each framework, its tasks, and the
// records each task gives. The answer is written a task at a time (writeEnumerate),
// never built whole.
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

// enumerate calls each, in order (by framework name, then framework id, then task id),
// with every running task of a named framework and the records it gives in zone, as
// the records were last given the tasks; first says the task is its framework's first.
// It stops when each returns false. Each task runs through a builder of its own on an
// empty tree, and is taken back, so the set served is not touched. Called from the
// HTTP API: it holds u.mu only to copy what it reads, one entry a running task; the
// enumTask given, and its records, are only good until each returns.
func (u *updater) enumerate(zone string, each func(framework string, first bool, t *enumTask) bool) {
	u.mu.Lock()
	items := make([]enumItem, 0, u.nrun)
	for k, t := range u.tasks {
		f := u.fws[k.Framework]
		if f == nil || f.info.label == "" || t.State != state.TaskRunning {
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
	var et enumTask
	for i, it := range items {
		b.sign = 1
		b.task(it.t, it.fw.info.label, it.ag)
		et = enumTask{Name: it.t.Name, ID: it.t.ID, Records: et.Records[:0]}
		for _, n := range t.dirty {
			owner := zone
			if n.name != "" {
				owner = n.name + "." + zone
			}
			for _, a := range n.addrs {
				rtype := "A"
				if !a.Is4() {
					rtype = "AAAA"
				}
				et.Records = append(et.Records, enumRecord{Name: owner, Host: a.String(), Rtype: rtype})
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
		b.task(it.t, it.fw.info.label, it.ag)
		t.seal()
		t.next()
		if !each(it.fw.f.Name, i == 0 || it.key.Framework != items[i-1].key.Framework, &et) {
			return
		}
	}
}

// writeEnumerate writes /v1/enumerate to bw, one task at a time, in the shape of
// enumJSON and as encoding/json would.
func (a *api) writeEnumerate(bw *bufio.Writer, _ *Set) error {
	var err error
	b := append(bw.AvailableBuffer(), `{"frameworks":[`...)
	frameworks := 0
	a.updater.enumerate(a.cfg.opts.Zones[0], func(framework string, first bool, t *enumTask) bool {
		switch {
		case first && frameworks > 0:
			b = append(b, "]},"...)
			fallthrough
		case first:
			frameworks++
			b = append(b, `{"name":`...)
			b = appendJSONString(b, framework)
			b = append(b, `,"tasks":[`...)
		default:
			b = append(b, ',')
		}
		b = appendEnumTask(b, t)
		_, err = bw.Write(b)
		b = bw.AvailableBuffer()
		return err == nil
	})
	if err != nil {
		return err
	}
	if frameworks > 0 {
		b = append(b, "]}"...)
	}
	_, err = bw.Write(append(b, "]}\n"...))
	return err
}

func appendEnumTask(b []byte, t *enumTask) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"records":[`...)
	for i, r := range t.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, r.Name)
		b = append(b, `,"host":`...)
		b = appendJSONString(b, r.Host)
		b = append(b, `,"rtype":`...)
		b = appendJSONString(b, r.Rtype)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
