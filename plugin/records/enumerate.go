package records

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// EnumTask is a running task and the records it gives, for /v1/enumerate.
type EnumTask struct {
	Name    string
	ID      string
	Records []EnumRecord
}

// EnumRecord is one record a task gives: an A, AAAA or SRV (Rtype), its owner (Name)
// and its value (Host: an address, or an SRV's target and port).
type EnumRecord struct {
	Name  string
	Host  string
	Rtype string
}

type enumItem struct {
	fw  *fwEntry
	ag  *agentInfo
	t   *state.Task
	key state.TaskKey
}

// Enumerate calls each, in order (by framework name, then framework id, then task id),
// with every running task of a named framework and the records it gives in zone, as
// the records were last given the tasks; first says the task is its framework's first.
// It stops when each returns false. Each task runs through a builder of its own on an
// empty tree, and is taken back, so the set served is not touched. Called from the
// HTTP API: it holds u.mu only to copy what it reads, one entry a running task; the
// EnumTask given, and its records, are only good until each returns.
func (u *Updater) Enumerate(zone string, each func(framework string, first bool, t *EnumTask) bool) {
	u.mu.Lock()
	if !u.Loaded() {
		// Nothing published, or a first state being built while it is decoded.
		u.mu.Unlock()
		return
	}
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
	var et EnumTask
	for i, it := range items {
		b.sign = 1
		b.task(it.t, it.fw.info.label, it.ag)
		et = EnumTask{Name: it.t.Name, ID: it.t.ID, Records: et.Records[:0]}
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
				et.Records = append(et.Records, EnumRecord{Name: owner, Host: a.String(), Rtype: rtype})
			}
			for _, r := range n.srvs {
				et.Records = append(et.Records, EnumRecord{Name: owner, Host: net.JoinHostPort(r.tn.name+"."+zone, strconv.Itoa(int(r.port))), Rtype: "SRV"})
			}
		}
		slices.SortFunc(et.Records, func(a, b EnumRecord) int {
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
