package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// dump describes every name of s, empty non-terminals included, with its records, and
// the stats and the serial's hash: two sets with the same dump answer every query
// alike. It also checks what lookups rely on: each name's parent exists, records are
// sorted without duplicates, and every published name has a reason to exist.
func dump(t *testing.T, s *Set) string {
	t.Helper()
	var b strings.Builder
	for _, name := range namesIn(s.shards) {
		n := s.find(name)
		if n == nil {
			t.Fatalf("%q is in a shard it does not hash to", name)
		}
		if !n.live() {
			t.Errorf("%q is published with nothing naming it", name)
		}
		if name != "" {
			_, parent, _ := strings.Cut(name, ".")
			if s.find(parent) == nil {
				t.Errorf("%q is published without its parent %q", name, parent)
			}
		}
		if !slices.IsSortedFunc(n.addrs, netip.Addr.Compare) || len(slices.Compact(slices.Clone(n.addrs))) != len(n.addrs) {
			t.Errorf("%q: addresses not sorted or not unique: %v", name, n.addrs)
		}
		// The counts behind the records, which the changes after this set start from.
		fmt.Fprintf(&b, "%q own %d kids %d srvMin %d %v%v", name, n.own, n.kids, n.srvMin, n.addrs, n.arefs)
		for i, r := range n.srvs {
			if i > 0 && srvCompare(n.srvs[i-1], r) >= 0 {
				t.Errorf("%q: SRV records not sorted or not unique", name)
			}
			if tn := s.find(r.tn.name); tn == nil || r.targetIn(s) != tn {
				t.Errorf("%q: the SRV record's target is not the set's node %q", name, r.tn.name)
			}
			fmt.Fprintf(&b, " %s:%d*%d", r.tn.name, r.port, r.ref)
		}
		b.WriteByte('\n')
	}
	for _, name := range namesIn(s.rev) {
		n := s.findRev(name)
		if n == nil || !n.live() {
			t.Fatalf("reverse name %q: not found, or published with nothing naming it", name)
		}
		if _, parent, _ := strings.Cut(name, "."); name != "" && s.findRev(parent) == nil {
			t.Errorf("reverse name %q is published without its parent %q", name, parent)
		}
		dumpList(t, &b, s, "rev", name, n)
	}
	st := s.stats
	fmt.Fprintf(&b, "agents %d frameworks %d tasks %d records %d unhealthy %d skipped %v hash %x\n",
		st.Agents, st.Frameworks, st.Tasks, st.Records, st.Unhealthy, map[string]int(st.Skipped), s.hash)
	return b.String()
}

// dumpInst describes s's lists of instances by group name, which the names by fault
// domain read. Whether a set has them depends on its updater's history (the first
// agent in a fault domain starts them), so dump leaves them out.
func dumpInst(t *testing.T, s *Set) string {
	t.Helper()
	var b strings.Builder
	for _, name := range namesIn(s.inst) {
		n := getIn(s.inst, s.imask, name)
		if n == nil || !n.live() {
			t.Fatalf("instance list %q: not found, or published with nothing naming it", name)
		}
		dumpList(t, &b, s, "inst", name, n)
	}
	return b.String()
}

// namesIn returns the names shards hold, sorted.
func namesIn(shards []*shard) []string {
	var names []string
	for _, sh := range shards {
		sh.each(func(n *node) { names = append(names, n.name) })
	}
	slices.Sort(names)
	return names
}

// dumpList describes a name of a tree whose records point at the set's names (a
// reverse name, an instance list): its counts and targets, each of which the set must
// hold.
func dumpList(t *testing.T, b *strings.Builder, s *Set, kind, name string, n *node) {
	t.Helper()
	fmt.Fprintf(b, "%s %q own %d kids %d", kind, name, n.own, n.kids)
	for _, r := range n.srvs {
		if s.find(r.tn.name) == nil {
			t.Errorf("%s %q points at %q, which the set lacks", kind, name, r.tn.name)
		}
		fmt.Fprintf(b, " %s*%d", r.tn.name, r.ref)
	}
	b.WriteByte('\n')
}

// sameSets fails the test with the first line where the updater's set differs from a
// build from scratch.
func sameSets(t *testing.T, what string, got, want *Set) {
	t.Helper()
	if line, a, b, differ := firstDiff(dump(t, got), dump(t, want)); differ {
		t.Fatalf("%s: the updater's records differ from a build at line %d:\n updater %s\n build   %s", what, line, a, b)
	}
}

// fakeHosts is a resolver whose answers the test changes.
type fakeHosts struct {
	mu sync.Mutex
	m  map[string][]netip.Addr
}

func (f *fakeHosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.m[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

func synthCluster(t *testing.T, c synth.Config) *state.State {
	t.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	st, err := state.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// clone copies st deep enough that mutate never changes what an earlier state holds.
func clone(st *state.State) *state.State {
	c := *st
	c.Agents = slices.Clone(st.Agents)
	c.Frameworks = slices.Clone(st.Frameworks)
	for i := range c.Frameworks {
		c.Frameworks[i].Tasks = slices.Clone(c.Frameworks[i].Tasks)
	}
	return &c
}

// mutate makes one random change of the kinds a cluster sees: tasks launched, killed,
// moved, readdressed, failing health checks, renamed with dots; agents readdressed,
// named by host name, moved to another fault domain or removed; frameworks renamed onto each other, emptied of a name
// or removed; the leader moving.
func mutate(rng *rand.Rand, st *state.State, seq *int) {
	*seq++
	randTask := func() (*state.Framework, int) {
		for range 10 {
			f := &st.Frameworks[rng.IntN(len(st.Frameworks))]
			if len(f.Tasks) > 0 {
				return f, rng.IntN(len(f.Tasks))
			}
		}
		return nil, 0
	}
	// Few addresses, so that tasks share them; some IPv6.
	ip := func() netip.Addr {
		if rng.IntN(4) == 0 {
			return netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(1 + rng.IntN(6))})
		}
		return netip.AddrFrom4([4]byte{10, 9, byte(rng.IntN(4)), byte(1 + rng.IntN(6))})
	}
	switch k := rng.IntN(18); {
	case k < 3 && len(st.Frameworks) > 0: // launch: another instance of an app, maybe on another agent
		if f, i := randTask(); f != nil {
			t := f.Tasks[i]
			t.ID = fmt.Sprintf("launched.%d", *seq)
			if len(st.Agents) > 0 && rng.IntN(2) == 0 {
				t.AgentID = st.Agents[rng.IntN(len(st.Agents))].ID
			}
			f.Tasks = append(f.Tasks, t)
		}
	case k < 5: // kill
		if f, i := randTask(); f != nil {
			f.Tasks = slices.Delete(f.Tasks, i, i+1)
		}
	case k == 5: // a state change: running, staging, killed but still listed
		if f, i := randTask(); f != nil {
			f.Tasks[i].State = []state.TaskState{state.TaskRunning, state.TaskStaging, state.TaskKilled}[rng.IntN(3)]
		}
	case k == 6: // a new status: another address, or a health check result
		if f, i := randTask(); f != nil {
			t := &f.Tasks[i]
			s := state.Status{State: state.TaskRunning, Timestamp: float64(*seq), Healthy: state.Health(rng.IntN(3))}
			if rng.IntN(2) == 0 {
				s.IPs = []netip.Addr{ip()}
			}
			t.Statuses = append(slices.Clip(t.Statuses), s)
		}
	case k == 7: // a name with dots (compatibility names), or one shared with another
		// app; its port the agent's or the container's, by label or by port mapping
		if f, i := randTask(); f != nil {
			t := &f.Tasks[i]
			port := uint16(8000 + rng.IntN(3))
			d := state.Discovery{Name: []string{"web.v2", "api", "x.y.z", ""}[rng.IntN(4)],
				Ports: []state.DiscoveryPort{{Number: port, Name: "http", Protocol: "tcp", Scope: state.Scope(rng.IntN(3))}}}
			t.Discovery = &d
			switch rng.IntN(4) {
			case 0:
				t.Net = nil
			case 1:
				t.Net = &state.Network{Bridged: true}
			case 2:
				t.Net = &state.Network{Mappings: []state.PortMapping{{Host: port, Container: 80}}}
			case 3:
				t.Net = &state.Network{Mappings: []state.PortMapping{{Host: 31000, Container: port}}}
			}
		}
	case k == 8 && len(st.Agents) > 0: // an agent readdressed, or known by host name
		a := &st.Agents[rng.IntN(len(st.Agents))]
		if rng.IntN(2) == 0 {
			a.PID.Host = ip().String()
		} else {
			a.PID.Host = fmt.Sprintf("agent%d.example", rng.IntN(3))
		}
	case k == 9 && len(st.Agents) > 0: // an agent removed, its tasks left behind
		i := rng.IntN(len(st.Agents))
		st.Agents = slices.Delete(st.Agents, i, i+1)
	case k == 10 && len(st.Frameworks) > 1: // a framework renamed onto another, or to nothing
		f := &st.Frameworks[rng.IntN(len(st.Frameworks))]
		f.Name = []string{st.Frameworks[0].Name, "", "renamed", "a.b"}[rng.IntN(4)]
	case k == 11 && len(st.Frameworks) > 1:
		i := rng.IntN(len(st.Frameworks))
		st.Frameworks = slices.Delete(st.Frameworks, i, i+1)
	case k == 12:
		st.Leader.Host = fmt.Sprintf("10.0.0.%d", 2+rng.IntN(2))
	case k == 13 && len(st.Agents) > 0: // an agent in another fault domain, or in none
		a := &st.Agents[rng.IntN(len(st.Agents))]
		a.Region, a.Zone = []string{"aws/us-west-2", "", "gcp/europe-west1"}[rng.IntN(3)], fmt.Sprintf("z/zone-%d", rng.IntN(3))
		if a.Region == "" {
			a.Zone = ""
		}
	case k == 14: // a second entry with a task's id, another name, maybe another agent
		if f, i := randTask(); f != nil {
			t := f.Tasks[i]
			t.Name = []string{"twin", t.Name + "-twin", t.Name}[rng.IntN(3)]
			if len(st.Agents) > 0 && rng.IntN(2) == 0 {
				t.AgentID = st.Agents[rng.IntN(len(st.Agents))].ID
			}
			f.Tasks = slices.Insert(f.Tasks, rng.IntN(len(f.Tasks)+1), t)
		}
	case k == 15 && len(st.Frameworks) > 0: // a name the masters, the agents or the zone own
		f := &st.Frameworks[rng.IntN(len(st.Frameworks))]
		f.Name = []string{"leader", "master", "master2", "slave", "ns1", "x.slave", "_leader"}[rng.IntN(7)]
	case k == 16: // a task named like a reserved name, or one that maps to nothing
		if f, i := randTask(); f != nil {
			f.Tasks[i].Name = []string{"leader", "slave", "master0", "$$$", "ns1"}[rng.IntN(5)]
			f.Tasks[i].Discovery = nil
		}
	case k == 17 && len(st.Agents) > 0: // an agent whose pid did not parse: no address, no port
		st.Agents[rng.IntN(len(st.Agents))].PID = state.PID{}
	default: // a framework's scheduler moves, or is known by host name
		if len(st.Frameworks) > 0 {
			f := &st.Frameworks[rng.IntN(len(st.Frameworks))]
			f.PID = state.PID{ID: "scheduler", Host: []string{"10.0.0.7", "sched.example", ""}[rng.IntN(3)], Port: 9000}
		}
	}
}

// TestUpdaterCaptures takes one updater through every state capture in turn, each
// replacing the last whole, and back to the first.
func TestUpdaterCaptures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d captures", len(files))
	}
	files = append(files, files[0])
	o := DefaultOptions()
	u := NewUpdater(&o)
	var prev *Set
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		u.Update(context.Background(), st)
		prev = u.Publish(prev)
		sameSets(t, filepath.Base(f), prev, Build(context.Background(), st, o, nil))
		sameAsReference(t, filepath.Base(f), prev, st, &o, nil)
		if n := broken(u); n != 0 {
			t.Fatalf("%s: %d removals of what was never added", f, n)
		}
	}
}

func TestUpdaterMatchesBuild(t *testing.T) {
	hosts := &fakeHosts{m: map[string][]netip.Addr{
		"agent0.example": {netip.MustParseAddr("10.8.0.1")},
		"agent1.example": {netip.MustParseAddr("10.8.0.2"), netip.MustParseAddr("fd00::2")},
		"sched.example":  {netip.MustParseAddr("10.8.0.9")},
	}}
	for _, variant := range []string{"default", "healthy_only", "rfc952_no_compat", "auto"} {
		t.Run(variant, func(t *testing.T) {
			o := DefaultOptions()
			o.Hosts = NewHostCache(hosts)
			o.Hosts.ttl, o.Hosts.negTTL = 0, 0
			o.Now = func() time.Time { return clockAt(1700000000) }
			o.MaxTaskSRV = 6
			switch variant {
			case "healthy_only":
				o.HealthyOnly = true
				o.IPSources = []IPSource{SourceHost, SourceNetInfo}
				o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
			case "rfc952_no_compat":
				o.RFC952, o.CompatNames = true, false
			case "auto":
				o.IPSources = []IPSource{SourceAuto, SourceHost}
				o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
			}
			rng := rand.New(rand.NewPCG(7, uint64(len(variant))))
			st := synthCluster(t, synth.Config{Tasks: 300, Agents: 8, Frameworks: 4, Seed: 3, Duplicates: true})
			u := NewUpdater(&o)
			var prev *Set
			var prevDump string
			seq := 0
			for step := range 300 {
				st = clone(st)
				for range 1 + rng.IntN(4) {
					mutate(rng, st, &seq)
				}
				if step%50 == 49 {
					hosts.mu.Lock()
					hosts.m["agent0.example"] = []netip.Addr{netip.AddrFrom4([4]byte{10, 8, 1, byte(step)})}
					hosts.mu.Unlock()
				}
				u.Update(context.Background(), st)
				got := u.Publish(prev)
				want := Build(context.Background(), st, o, nil)
				sameSets(t, fmt.Sprintf("step %d", step), got, want)
				hosts.mu.Lock()
				resolved := maps.Clone(hosts.m)
				hosts.mu.Unlock()
				sameAsReference(t, fmt.Sprintf("step %d", step), got, st, &o, resolved)
				if step%20 == 19 {
					sameDomainNamesAsReference(t, fmt.Sprintf("step %d", step), got, st, &o, resolved, false)
				}
				if n := broken(u); n != 0 {
					t.Fatalf("step %d: %d removals of what was never added", step, n)
				}
				if prev != nil && (got.serial == prev.serial) != (got.hash == prev.hash) {
					t.Fatalf("step %d: serial %d→%d with the records same=%v", step, prev.serial, got.serial, got.hash == prev.hash)
				}
				if prev != nil && SerialLess(got.serial, prev.serial) {
					t.Fatalf("step %d: serial went back from %d to %d", step, prev.serial, got.serial)
				}
				// The set before is untouched by the change: it still answers as it did.
				if prev != nil && dump(t, prev) != prevDump {
					t.Fatalf("step %d: publishing changed the set before it", step)
				}
				prev, prevDump = got, dump(t, got)
			}
		})
	}
}

// TestStreamChangesMatchBuild replays the event captures, publishing what each event
// changed as the stream does, and compares each set with a build of the whole state.
func TestStreamChangesMatchBuild(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/events-*.jsonl")
	if len(files) < 5 {
		t.Fatalf("found %d event captures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var records []string
			for rec := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
				records = append(records, rec)
			}
			replay(t, records)
		})
	}
	t.Run("random", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := synth.Write(&buf, synth.Config{Tasks: 200, Agents: 6, Frameworks: 3, Seed: 5, Duplicates: true}); err != nil {
			t.Fatal(err)
		}
		v1, err := fakemaster.ToV1(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		records := []string{`{"type":"SUBSCRIBED","subscribed":{"get_state":` + string(v1) + `,"heartbeat_interval_seconds":15}}`}
		st := synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 3, Seed: 5, Duplicates: true})
		rng := rand.New(rand.NewPCG(11, 13))
		for i := range 400 {
			f := st.Frameworks[rng.IntN(len(st.Frameworks))]
			a := st.Agents[rng.IntN(len(st.Agents))]
			var task string
			if len(f.Tasks) > 0 {
				task = f.Tasks[rng.IntN(len(f.Tasks))].ID
			}
			ip := fmt.Sprintf("10.9.%d.%d", rng.IntN(3), 1+rng.IntN(5))
			if i%100 == 99 {
				// A resync: the whole state again, as it was at the start.
				records = append(records, `{"type":"GET_STATE","get_state":`+string(v1)+`}`)
				continue
			}
			switch k := rng.IntN(10); {
			case k < 3:
				records = append(records, fakemaster.TaskRunning(f.ID, a.ID, fmt.Sprintf("new.%d", i), []string{"web", "api", "new"}[rng.IntN(3)]))
			case k < 5:
				records = append(records, fakemaster.TaskKilled(f.ID, []string{task, fmt.Sprintf("new.%d", rng.IntN(i+1))}[rng.IntN(2)]))
			case k < 7:
				records = append(records, fmt.Sprintf(`{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":%q},"state":"TASK_RUNNING","status":{"task_id":{"value":%q},"agent_id":{"value":%q},"state":"TASK_RUNNING","timestamp":%d,"healthy":%v,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":%q}]}]}}}}`,
					f.ID, []string{task, fmt.Sprintf("new.%d", rng.IntN(i+1))}[rng.IntN(2)], a.ID, i, rng.IntN(2) == 0, ip))
			case k == 7:
				records = append(records, fmt.Sprintf(`{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":%q,"id":{"value":%q},"port":5051},"pid":"slave(1)@%s:5051"}}}`, ip, a.ID, ip))
			case k == 8:
				records = append(records, fmt.Sprintf(`{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":%q}}}`, a.ID))
			default:
				name := []string{"marathon", "chronos", "other.fw"}[rng.IntN(3)]
				records = append(records, fmt.Sprintf(`{"type":"FRAMEWORK_UPDATED","framework_updated":{"framework":{"framework_info":{"id":{"value":%q},"name":%q,"user":"root","hostname":"10.0.0.8"}}}}`, f.ID, name))
			}
		}
		replay(t, records)
	})
}

// replay applies records to a Cluster one at a time and, after each, publishes its
// changes through an updater and compares the set with a build of the whole state.
func replay(t *testing.T, records []string) {
	t.Helper()
	replayVia(t, records, false)
	replayVia(t, records, true)
}

// replayVia is replay taking snapshots as the stream does (viaAll: Cluster.All, no
// copy) or as a State.
func replayVia(t *testing.T, records []string, viaAll bool) {
	t.Helper()
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	u := NewUpdater(&o)
	var c state.Cluster
	c.Leader = state.PID{ID: "master", Host: "10.0.0.2", Port: 5050}
	var prev *Set
	incremental := 0
	for n, rec := range records {
		ev, err := state.DecodeEvent([]byte(rec))
		if err != nil {
			t.Fatalf("record %d: %v", n+1, err)
		}
		c.Apply(ev)
		if !c.Ready() {
			continue
		}
		ch, all := c.Changes()
		switch {
		case all && !viaAll:
			u.Update(context.Background(), c.State())
		case all:
			u.updateAll(context.Background(), fromCluster(c.All()), &state.State{Leader: c.Leader, Skipped: c.Skipped})
		default:
			incremental++
			u.apply(context.Background(), &changes{agents: ch.Agents, fws: ch.Frameworks, tasks: ch.Tasks},
				&state.State{Leader: c.Leader, Skipped: c.Skipped})
		}
		got := u.Publish(prev)
		sameSets(t, fmt.Sprintf("after record %d (%s)", n+1, ev.Type), got, Build(context.Background(), c.State(), o, nil))
		sameAsReference(t, fmt.Sprintf("after record %d (%s)", n+1, ev.Type), got, c.State(), &o, nil)
		if b := broken(u); b != 0 {
			t.Fatalf("record %d: %d removals of what was never added", n+1, b)
		}
		prev = got
	}
	if incremental == 0 && len(records) > 2 {
		t.Errorf("no record went the incremental way")
	}
}

// TestNodeSize keeps a name at 128 octets: at 100k tasks there are 250k of them, and
// a field more puts each in the next size class (144).
func TestNodeSize(t *testing.T) {
	if n := unsafe.Sizeof(node{}); n > 128 {
		t.Errorf("a node takes %d octets, more than 128", n)
	}
}

// firstState is a state document to load first: each capture, and a synthetic
// cluster (last) with tasks sharing ids.
type firstState struct {
	name string
	json []byte
}

func firstStates(t *testing.T) []firstState {
	t.Helper()
	files, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d captures", len(files))
	}
	out := make([]firstState, 0, len(files)+1)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, firstState{filepath.Base(f), raw})
	}
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Tasks: 2000, Agents: 40, Frameworks: 5, Seed: 9, Duplicates: true}); err != nil {
		t.Fatal(err)
	}
	return append(out, firstState{"synthetic", buf.Bytes()})
}

// TestFirstStateInBulk checks the bulk path of a first state against the incremental
// one, which cannot share its shortcuts: the same state loaded into a fresh updater
// (in bulk) and into one that was given an empty state first (each record added and
// counted as it comes) gives the same names, records and counts. So does the stream's
// cluster, loaded as changes in its own order.
func TestFirstStateInBulk(t *testing.T) {
	inputs := firstStates(t)

	variants := map[string]func(*Options){
		"default": func(*Options) {},
		"reverse_healthy_host_first": func(o *Options) {
			o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
			o.HealthyOnly = true
			o.IPSources = []IPSource{SourceHost, SourceNetInfo}
			o.MaxTaskSRV = 6
		},
		"auto": func(o *Options) {
			o.IPSources = []IPSource{SourceAuto}
		},
		// The first build's SRV, PTR and instance records placed a few at a time, so
		// that lists are grown in several steps (deferMax).
		"reverse_placed_in_steps": func(o *Options) {
			o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
		},
	}
	defer func(n int) { deferMax = n }(deferMax)
	for _, in := range inputs {
		for vname, mod := range variants {
			t.Run(in.name+"/"+vname, func(t *testing.T) {
				deferMax = 32768
				if strings.HasSuffix(vname, "_in_steps") {
					deferMax = 3
				}
				o := DefaultOptions()
				o.Now = func() time.Time { return clockAt(1700000000) }
				mod(&o)
				st, err := state.Decode(bytes.NewReader(in.json))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()

				inc := NewUpdater(&o)
				// Its lists of tasks from the start: the first fault domain after the
				// first state would build the records again, in bulk (relist).
				inc.startInst()
				inc.Update(ctx, &state.State{})
				inc.Publish(nil)
				inc.Update(ctx, st)
				if inc.t.bulk {
					t.Fatal("the second state went the bulk way")
				}
				want := inc.Publish(nil)

				bulk := NewUpdater(&o)
				bulk.Update(ctx, st)
				if !bulk.t.bulk {
					t.Fatal("the first state did not go the bulk way")
				}
				sameTasks(t, "in bulk", bulk, inc)
				got := bulk.Publish(nil)
				sameSets(t, "a state in bulk", got, want)
				// The instance lists, where the state has fault domains (the
				// synthetic one): a bulk build makes them only then.
				if in.name == "synthetic" && got.inst == nil {
					t.Fatal("the synthetic state's bulk build made no instance lists")
				}
				if got.inst != nil {
					if line, a, b, differ := firstDiff(dumpInst(t, got), dumpInst(t, want)); differ {
						t.Fatalf("in bulk: the instance lists differ at line %d:\n bulk        %s\n incremental %s", line, a, b)
					}
				}

				v1, err := fakemaster.ToV1(in.json)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := state.DecodeEvent([]byte(`{"type":"SUBSCRIBED","subscribed":{"get_state":` + string(v1) + `}}`))
				if err != nil {
					t.Fatal(err)
				}
				var c state.Cluster
				c.Leader = st.Leader
				c.Apply(ev)
				streamed := NewUpdater(&o)
				streamed.updateAll(ctx, fromCluster(c.All()), &state.State{Leader: c.Leader, Skipped: c.Skipped})
				if !streamed.t.bulk {
					t.Fatal("the stream's first snapshot did not go the bulk way")
				}
				incStream := NewUpdater(&o)
				incStream.Update(ctx, &state.State{})
				incStream.Publish(nil)
				incStream.updateAll(ctx, fromCluster(c.All()), &state.State{Leader: c.Leader, Skipped: c.Skipped})
				sameSets(t, "a stream's snapshot in bulk", streamed.Publish(nil), incStream.Publish(nil))
				for _, u := range []*Updater{inc, bulk, streamed, incStream} {
					if n := broken(u); n != 0 {
						t.Fatalf("%d removals of what was never added", n)
					}
				}
			})
		}
	}
}

// TestSealSharedOut checks a large batch sealed on several CPUs against the same batch
// sealed on one, and naming.md's reference: every capture and a synthetic cluster
// (with fault domains, so the instance lists too), in bulk (addresses counted as
// sealed, the instance lists' records placed then) and incrementally. A share of one
// gives each of the 4 workers chunks of its own; the race detector watches them.
func TestSealSharedOut(t *testing.T) {
	inputs := firstStates(t)
	defer func(share, procs int) {
		sealShare = share
		runtime.GOMAXPROCS(procs)
	}(sealShare, runtime.GOMAXPROCS(4))
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
	ctx := context.Background()
	build := func(st *state.State, share int, bulk bool) *Set {
		sealShare = share
		u := NewUpdater(&o)
		if !bulk {
			u.Update(ctx, &state.State{})
			u.Publish(nil)
		}
		u.Update(ctx, st)
		s := u.Publish(nil)
		if n := broken(u); n != 0 {
			t.Fatalf("%d removals of what was never added", n)
		}
		return s
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			st, err := state.Decode(bytes.NewReader(in.json))
			if err != nil {
				t.Fatal(err)
			}
			for _, bulk := range []bool{true, false} {
				one := build(st, 1<<30, bulk)
				shared := build(st, 1, bulk)
				sameSets(t, fmt.Sprintf("sealed on 4 CPUs (bulk %v)", bulk), shared, one)
				lists := dumpInst(t, one)
				if line, a, b, differ := firstDiff(dumpInst(t, shared), lists); differ {
					t.Fatalf("sealed on 4 CPUs (bulk %v): the instance lists differ at line %d:\n shared %s\n one    %s", bulk, line, a, b)
				}
				if in.name == "synthetic" && !strings.Contains(lists, "*") {
					t.Fatal("no instance list holds a task: the test does not cover them")
				}
				sameAsReference(t, fmt.Sprintf("sealed on 4 CPUs (bulk %v)", bulk), shared, st, &o, nil)
			}
		})
	}
}

// TestLoadingDecoder checks the first state built while it is decoded against the same
// state loaded incrementally, on every capture and a synthetic cluster, and that what
// a decoding built is dropped when it is not the state given: the agents after the
// frameworks (the 0.19 and 0.25 captures), a framework id twice, a document that turns
// out invalid, a state other than the one decoded.
func TestLoadingDecoder(t *testing.T) {
	type input struct {
		firstState
		pipelined bool // built while decoded, rather than after
	}
	states := firstStates(t)
	inputs := make([]input, 0, len(states)+1)
	for _, in := range states {
		// Masters before 1.0 list their agents after the frameworks.
		old := strings.Contains(in.name, "0.19.0") || strings.Contains(in.name, "0.25.0")
		inputs = append(inputs, input{in, !old})
	}
	synthetic := inputs[len(inputs)-1].json
	// The first framework twice: the second's name holds for the tasks of both.
	var doc map[string]any
	if err := json.Unmarshal(synthetic, &doc); err != nil {
		t.Fatal(err)
	}
	fws := doc["frameworks"].([]any)
	again := maps.Clone(fws[0].(map[string]any))
	again["name"] = "again-" + again["name"].(string)
	// Agents first, as the decoding must see them to build as it goes.
	var twice []byte
	for i, key := range []string{"leader", "slaves", "frameworks"} {
		v := doc[key]
		if key == "frameworks" {
			v = append(fws, again)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sep := ","
		if i == 0 {
			sep = "{"
		}
		twice = fmt.Appendf(twice, "%s%q:%s", sep, key, b)
	}
	twice = append(twice, '}')
	inputs = append(inputs, input{firstState{"framework_twice", twice}, false})
	// Schedulers known by host name only (no pid): looked up once the frameworks are
	// built.
	hosts := &fakeHosts{m: map[string][]netip.Addr{}}
	for i := range 3 {
		hosts.m[fmt.Sprintf("master-%d", i)] = []netip.Addr{netip.AddrFrom4([4]byte{10, 9, 9, byte(i + 1)})}
	}
	named := regexp.MustCompile(`"pid":"scheduler-[0-9]+@[^"]*",`).ReplaceAll(synthetic, nil)
	if bytes.Equal(named, synthetic) || !bytes.Contains(named, []byte(`"hostname":"master-0"`)) {
		t.Fatal("the synthetic state's schedulers are not where this test looks")
	}
	inputs = append(inputs, input{firstState{"scheduler_host_names", named}, true})

	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
	o.Hosts = NewHostCache(hosts)
	o.Hosts.ttl, o.Hosts.negTTL = 0, 0
	defer func(n int) { deferMax = n }(deferMax)
	for _, in := range inputs {
		// Also with the records and addresses placed 3 at a time: a scheduler
		// known by host name is taken back when some are placed and more wait.
		for _, step := range []int{32768, 3} {
			t.Run(fmt.Sprintf("%s/placed_%d_at_a_time", in.name, step), func(t *testing.T) {
				deferMax = step
				loadingDecoderCase(t, in.firstState, in.pipelined, &o)
			})
		}
	}
}

// loadingDecoderCase is TestLoadingDecoder for one input; pipelined says whether its
// state can be built while decoded.
func loadingDecoderCase(t *testing.T, in firstState, pipelined bool, o *Options) {
	t.Helper()
	ctx := context.Background()
	st0, err := state.Decode(bytes.NewReader(in.json))
	if err != nil {
		t.Fatal(err)
	}
	inc := NewUpdater(o)
	inc.Update(ctx, &state.State{})
	inc.Publish(nil)
	inc.Update(ctx, st0)
	want := inc.Publish(nil)

	u := NewUpdater(o)
	decode := u.LoadingDecoder(ctx)
	// A decoding that fails half way, then the one that counts.
	if _, err := decode(bytes.NewReader(in.json[:len(in.json)/2])); err == nil {
		t.Fatal("half a document decoded")
	}
	if len(u.tasks)+len(u.agents) != 0 || u.Running() != 0 {
		t.Fatalf("a decoding that failed left %d tasks and %d agents", len(u.tasks), len(u.agents))
	}
	st, err := decode(bytes.NewReader(in.json))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.loaded(st); got != pipelined {
		t.Fatalf("built while decoded: %v, want %v", got, pipelined)
	}
	u.Update(ctx, st)
	sameSets(t, "a state built while decoded", u.Publish(nil), want)
	sameTasks(t, "built while decoded", u, inc)

	// A state other than the one decoded is loaded as any other.
	other := NewUpdater(o)
	if _, err := other.LoadingDecoder(ctx)(bytes.NewReader(in.json)); err != nil {
		t.Fatal(err)
	}
	other.Update(ctx, st0)
	sameSets(t, "another state after a decoding", other.Publish(nil), want)
	for _, x := range []*Updater{u, other} {
		if n := broken(x); n != 0 {
			t.Fatalf("%d removals of what was never added", n)
		}
	}
}

// sameTasks checks that u holds the tasks that inc, which loaded the same state
// incrementally, holds, under the same keys: the tasks the next state is compared
// with.
func sameTasks(t *testing.T, what string, u, inc *Updater) {
	t.Helper()
	if len(u.tasks) != len(inc.tasks) || u.nrun != inc.nrun {
		t.Fatalf("%s: %d tasks, %d running; incrementally %d, %d", what, len(u.tasks), u.nrun, len(inc.tasks), inc.nrun)
	}
	for k, it := range inc.tasks {
		if ut := u.tasks[k]; ut == nil || !state.SameTask(ut, it) {
			t.Fatalf("%s: task %+v is %+v, incrementally %+v", what, k, ut, it)
		}
	}
}

// broken counts the removals of what was never added, in every tree of u: a bug.
func broken(u *Updater) int {
	n := u.t.broken
	for _, t := range []*tree{u.inst, u.rev} {
		if t != nil {
			n += t.broken
		}
	}
	return n
}
