package records

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

// sameDomainNamesAsReference checks every name by fault domain of every group name
// of st against naming.md read another way: Z.pin._zone.N answers what N answers in
// the state cut down to the tasks whose agent is in zone Z (the reference, built from
// that state), Z.prefer._zone.N that or, when it is empty, what N answers whole; the
// same by region. A zone no agent is in, and a name that gathers no task group, are
// asked too.
//
// cover asks that the cases cover answers picked from a domain and fallbacks.
func sameDomainNamesAsReference(t *testing.T, what string, s *Set, st *state.State, o *Options, hosts map[string][]netip.Addr, cover bool) {
	t.Helper()
	full := referenceZone(st, o, hosts)
	// The zones and regions of the agents, as naming.md labels them: the part of the
	// name after its last "/", through label().
	last := func(name string) string {
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		return labeler{}.label(name)
	}
	type scope struct {
		label  string // "_zone" or "_region"
		value  string
		region bool
	}
	scopes := []scope{{"_zone", "nowhere", false}, {"_region", "nowhere", true}}
	seen := map[scope]bool{}
	for _, a := range st.Agents {
		if a.Region == "" || a.Zone == "" {
			continue
		}
		for _, sc := range []scope{{"_zone", last(a.Zone), false}, {"_region", last(a.Region), true}} {
			if sc.value != "" && !seen[sc] {
				seen[sc] = true
				scopes = append(scopes, sc)
			}
		}
	}
	groups := make([]string, 0, len(full.groups))
	for g := range full.groups {
		if full.names[g] != nil {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	if len(groups) == 0 {
		if cover {
			t.Fatalf("%s: no group names", what)
		}
		return
	}
	answer := func(qname string) (addrs, srvs []string, exists bool) {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
			ans, _, ok := s.Lookup(qname, "mesos.", qt)
			exists = ok
			for _, rr := range ans {
				switch r := rr.(type) {
				case *dns.A:
					addrs = append(addrs, r.A.String())
				case *dns.AAAA:
					addrs = append(addrs, r.AAAA.String())
				case *dns.SRV:
					srvs = append(srvs, strings.TrimSuffix(r.Target, ".mesos.")+":"+strconv.Itoa(int(r.Port)))
				}
			}
		}
		slices.Sort(addrs)
		slices.Sort(srvs)
		return addrs, srvs, exists
	}
	of := func(n *refName) (addrs, srvs []string) {
		if n == nil {
			return nil, nil
		}
		for a := range n.addrs {
			addrs = append(addrs, a.String())
		}
		for sv := range n.srvs {
			srvs = append(srvs, sv)
		}
		slices.Sort(addrs)
		slices.Sort(srvs)
		return addrs, srvs
	}
	// What the cases cover: answers picked from a zone, and fallbacks.
	picked, fellBack := 0, 0
	for _, sc := range scopes {
		cut := *st
		cut.Frameworks = nil
		in := map[string]bool{}
		for _, a := range st.Agents {
			if v := a.Zone; a.Region != "" && a.Zone != "" {
				if sc.region {
					v = a.Region
				}
				in[a.ID] = last(v) == sc.value
			}
		}
		for _, f := range st.Frameworks {
			f.Tasks = slices.DeleteFunc(slices.Clone(f.Tasks), func(tk state.Task) bool { return !in[tk.AgentID] })
			cut.Frameworks = append(cut.Frameworks, f)
		}
		ref := referenceZone(&cut, o, hosts)
		for _, g := range groups {
			wa, ws := of(ref.names[g])
			fa, fs := of(full.names[g])
			for _, kind := range []string{"pin", "prefer"} {
				q := sc.value + "." + kind + "." + sc.label + "." + g + ".mesos."
				ga, gs, exists := answer(q)
				want, wants := wa, ws
				switch {
				case kind == "prefer" && len(wa)+len(ws) == 0:
					want, wants = fa, fs
					fellBack++
				case len(wa)+len(ws) > 0 && len(wa)+len(ws) < len(fa)+len(fs):
					picked++
				}
				if !exists || !slices.Equal(ga, want) || !slices.Equal(gs, wants) {
					t.Fatalf("%s: %s (exists %v):\n got  %v %v\n want %v %v", what, q, exists, ga, gs, want, wants)
				}
			}
		}
	}
	if cover && (picked == 0 || fellBack == 0) {
		t.Errorf("%s: %d answers picked from a domain, %d fallbacks: the cases cover too little", what, picked, fellBack)
	}
	// The names above them exist with nothing; a name that gathers no task group, or
	// none at all, has no names by fault domain.
	g := groups[0]
	for _, q := range []string{"pin._zone." + g, "_zone." + g, "prefer._region." + g, "_region." + g} {
		if a, sv, exists := answer(q + ".mesos."); !exists || len(a)+len(sv) != 0 {
			t.Errorf("%s: %s: exists %v, records %v %v", what, q, exists, a, sv)
		}
	}
	for _, q := range []string{"x.pin._zone.leader", "x.pin._zone.slave", "x.prefer._region", "x.pin._zone.nope." + g, "x.pin._zone", "x.pin._city." + g} {
		if _, _, exists := answer(q + ".mesos."); exists {
			t.Errorf("%s: %s exists", what, q)
		}
	}
}

// The names by fault domain of the synthetic cluster (two regions of three zones, a
// tenth of the agents in none) and of the capture with fault domains, built whole.
func TestDomainNames(t *testing.T) {
	st := synthCluster(t, synth.Config{Tasks: 400, Agents: 12, Frameworks: 3, Seed: 11, Duplicates: true})
	for _, variant := range []string{"default", "auto"} {
		o := DefaultOptions()
		o.Now = func() time.Time { return clockAt(1700000000) }
		if variant == "auto" {
			o.IPSources = []IPSource{SourceAuto}
		}
		s := Build(context.Background(), st, o, nil)
		sameDomainNamesAsReference(t, "synth/"+variant, s, st, &o, nil, true)
	}
}

// An agent whose domain changes moves its tasks from one zone's names to another's,
// and an agent leaving every domain takes them out of pin names.
func TestDomainNamesFollowAgents(t *testing.T) {
	st := synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 2, Seed: 12})
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	u := NewUpdater(&o)
	u.Update(context.Background(), st)
	prev := u.Publish(nil)
	sameDomainNamesAsReference(t, "first", prev, st, &o, nil, true)
	for step, change := range []func(a *state.Agent){
		func(a *state.Agent) { a.Region, a.Zone = "aws/us-west-2", "aws/us-west-2c" },
		func(a *state.Agent) { a.Region, a.Zone = "", "" },
		func(a *state.Agent) { a.Region, a.Zone = "gcp/europe-west1", "gcp/europe-west1-b" },
	} {
		st = clone(st)
		change(&st.Agents[step%len(st.Agents)])
		u.Update(context.Background(), st)
		s := u.Publish(prev)
		if !u.Pending() && s == prev {
			t.Fatalf("step %d: nothing published", step)
		}
		sameDomainNamesAsReference(t, fmt.Sprintf("step %d", step), s, st, &o, nil, true)
		prev = s
	}
}

// A cluster whose agents are given fault domains after its first state: the first
// agent in one has the records built again with the lists of tasks (relist), which
// gives the set a build from scratch gives, names by fault domain that find every
// task, and the names the batch touched. Before it, pin finds nothing and prefer
// everything, without the lists.
func TestDomainsArriveLater(t *testing.T) {
	st := synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 2, Seed: 13})
	for i := range st.Agents {
		st.Agents[i].Region, st.Agents[i].Zone = "", ""
	}
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	u := NewUpdater(&o)
	u.KeepChanged()
	u.Update(context.Background(), st)
	prev := u.Publish(nil)
	u.TakeChanged()
	if u.inst != nil {
		t.Fatal("lists of tasks kept for a cluster in no fault domain")
	}
	sameDomainNamesAsReference(t, "no domains", prev, st, &o, nil, false)
	// In the same batch as the first fault domain, an app goes: the HTTP API's
	// watches of its names must hear of it, though the records are built anew.
	st = clone(st)
	st.Agents[0].Region, st.Agents[0].Zone = "aws/us-west-2", "aws/us-west-2a"
	f := &st.Frameworks[0]
	gone := f.Tasks[0].Name
	f.Tasks = slices.DeleteFunc(f.Tasks, func(tk state.Task) bool { return tk.Name == gone })
	u.Update(context.Background(), st)
	if u.inst == nil {
		t.Fatal("no lists of tasks after the first fault domain")
	}
	got := u.Publish(prev)
	goneName := labeler{}.label(gone) + "." + labeler{}.label(f.Name)
	if !slices.Contains(u.TakeChanged(), goneName) {
		t.Errorf("%s, gone in the batch that built the records anew, is not among the names it touched", goneName)
	}
	if _, ok := got.Find(goneName); ok {
		t.Fatalf("%s still exists", goneName)
	}
	sameSets(t, "after the first fault domain", got, Build(context.Background(), st, o, nil))
	sameAsReference(t, "after the first fault domain", got, st, &o, nil)
	sameDomainNamesAsReference(t, "after the first fault domain", got, st, &o, nil, true)
	if got.serial == prev.serial {
		t.Errorf("the serial stayed %d with an app gone", got.serial)
	}
}

// A name that gathered a task group and now stands only for a name below it (an empty
// non-terminal) has no names by fault domain: NXDOMAIN, as for any other name.
func TestDomainNamesOfAnEmptyNonTerminal(t *testing.T) {
	domain := `"domain": {"fault_domain": {"region": {"name": "r"}, "zone": {"name": "z"}}}, `
	js := strings.Replace(stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"},
		{"id": "x.1", "name": "x", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "discovery": {"name": "a.web"}}`),
		`"hostname": "a0", `, `"hostname": "a0", `+domain, 1)
	st, err := state.Decode(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	u := NewUpdater(&o)
	u.Update(context.Background(), st)
	s := u.Publish(nil)
	if _, _, ok := s.Lookup("z.pin._zone.web.marathon.mesos.", "mesos.", dns.TypeA); !ok {
		t.Fatal("web.marathon gathers the app web: its pin name does not exist")
	}
	// The app web goes; a.web.marathon keeps web.marathon as an empty non-terminal.
	st = clone(st)
	st.Frameworks[0].Tasks = st.Frameworks[0].Tasks[1:]
	u.Update(context.Background(), st)
	s = u.Publish(s)
	if !s.Exists("web.marathon.mesos.", "mesos.") {
		t.Fatal("web.marathon is no empty non-terminal: the test tests nothing")
	}
	for _, q := range []string{"z.pin._zone.web.marathon.mesos.", "z.prefer._zone.web.marathon.mesos.", "_zone.web.marathon.mesos."} {
		if _, _, ok := s.Lookup(q, "mesos.", dns.TypeA); ok {
			t.Errorf("%s exists", q)
		}
	}
	if ans, _, ok := s.Lookup("z.pin._zone.a.web.marathon.mesos.", "mesos.", dns.TypeA); !ok || len(ans) != 1 {
		t.Errorf("z.pin._zone.a.web.marathon: %v %v", ans, ok)
	}
}

// Lookups of names by fault domain, prefer's fallback among them, run while the
// updater publishes changes to the same names (go test -race: a lookup reads only
// what a published node gives readers).
func TestDomainNamesWhilePublishing(t *testing.T) {
	st := synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 2, Seed: 14})
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	u := NewUpdater(&o)
	u.Update(context.Background(), st)
	var cur atomic.Pointer[Set]
	cur.Store(u.Publish(nil))
	app := st.Frameworks[0].Tasks[0].Name
	names := []string{"nowhere.prefer._zone." + app + ".marathon.mesos.", "us-west-2a.pin._zone." + app + ".marathon.mesos.",
		"nowhere.prefer._zone._" + app + "._tcp.marathon.slave.mesos."}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			s := cur.Load()
			for _, q := range names {
				s.Lookup(q, "mesos.", dns.TypeA)
				s.Lookup(q, "mesos.", dns.TypeSRV)
			}
		}
	}()
	rng := rand.New(rand.NewPCG(14, 1))
	seq := 0
	for range 40 {
		st = clone(st)
		mutate(rng, st, &seq)
		u.Update(context.Background(), st)
		cur.Store(u.Publish(cur.Load()))
	}
	<-done
}
