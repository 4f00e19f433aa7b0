package mesos

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/state"

	"github.com/miekg/dns"
)

// fakeResolver answers from a map and counts lookups; names not in it fail.
type fakeResolver struct {
	addrs map[string][]netip.Addr
	delay time.Duration
	mu    sync.Mutex
	calls int
}

func (f *fakeResolver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if a, ok := f.addrs[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func decode(t testing.TB, js string) *state.State {
	t.Helper()
	st, err := state.Decode(strings.NewReader(js))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return st
}

func build(t testing.TB, js string, mod func(*Options)) *Set {
	t.Helper()
	o := DefaultOptions()
	o.Now = func() time.Time { return time.Unix(1700000000, 0) }
	if mod != nil {
		mod(&o)
	}
	return Build(context.Background(), decode(t, js), o, nil)
}

// rdata returns the answer's rdata as text, sorted, for qname in zone mesos.
func rdata(t testing.TB, s *Set, qname string, qtype uint16) []string {
	t.Helper()
	ans, _, _ := s.Lookup(qname, zoneOf(qname, s), qtype)
	var out []string
	for _, rr := range ans {
		if rr.Header().Rrtype != qtype {
			t.Fatalf("%s %s: answer has type %s", qname, dns.TypeToString[qtype], dns.TypeToString[rr.Header().Rrtype])
		}
		f := strings.SplitN(rr.String(), "\t", 5)
		out = append(out, f[4])
	}
	slices.Sort(out)
	return out
}

func zoneOf(qname string, s *Set) string {
	q := strings.ToLower(qname)
	best := ""
	for _, z := range s.zones {
		if (q == z || strings.HasSuffix(q, "."+z)) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func want(t *testing.T, s *Set, qname string, qtype uint16, expect ...string) {
	t.Helper()
	got := rdata(t, s, qname, qtype)
	slices.Sort(expect)
	if !slices.Equal(got, expect) {
		t.Errorf("%s %s:\n got  %q\n want %q", qname, dns.TypeToString[qtype], got, expect)
	}
}

func exists(t *testing.T, s *Set, qname string, expect bool) {
	t.Helper()
	if _, _, ok := s.Lookup(qname, zoneOf(qname, s), dns.TypeA); ok != expect {
		t.Errorf("%s exists = %v, want %v", qname, ok, expect)
	}
	if ok := s.Exists(qname, zoneOf(qname, s)); ok != expect {
		t.Errorf("Exists(%s) = %v, want %v", qname, ok, expect)
	}
}

// base is a two-agent cluster; tests add frameworks and tasks.
const agentsJSON = `
	"leader": "master@10.0.0.2:5050",
	"slaves": [
		{"id": "20160107-001256-134875658-5050-27524-S0", "hostname": "a0", "pid": "slave(1)@10.0.1.1:5051"},
		{"id": "20160107-001256-134875658-5050-27524-S1", "hostname": "a1", "pid": "slave(1)@10.0.1.2:5051"}
	]`

func stateWith(tasks string) string {
	return `{` + agentsJSON + `,
	"frameworks": [{"id": "fw-1", "name": "marathon", "pid": "scheduler-1@10.0.0.9:25501", "hostname": "m9",
		"tasks": [` + tasks + `]}]}`
}

func TestTaskRecordsWithoutDiscovery(t *testing.T) {
	s := build(t, stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0",
		"state": "TASK_RUNNING", "resources": {"ports": "[31000-31001, 31005-31005]"},
		"statuses": [{"state": "TASK_RUNNING", "timestamp": 1,
			"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "172.17.0.5"}]}]}}]}`), nil)
	c := "web-" + taskHash("web.1") + "-s0"
	want(t, s, "web.marathon.mesos.", dns.TypeA, "172.17.0.5")
	want(t, s, c+".marathon.mesos.", dns.TypeA, "172.17.0.5")
	want(t, s, "web.marathon.slave.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, c+".marathon.slave.mesos.", dns.TypeA, "10.0.1.1")
	target := c + ".marathon.slave.mesos."
	srvs := []string{"0 1 31000 " + target, "0 1 31001 " + target, "0 1 31005 " + target}
	for _, n := range []string{"_web._tcp.marathon.mesos.", "_web._udp.marathon.mesos.", "_web._tcp.marathon.slave.mesos.", "_web._udp.marathon.slave.mesos."} {
		want(t, s, n, dns.TypeSRV, srvs...)
	}
	// SRV answers carry the targets' addresses.
	_, extra, _ := s.Lookup("_web._tcp.marathon.mesos.", "mesos.", dns.TypeSRV)
	if len(extra) != 1 || extra[0].Header().Name != target || extra[0].(*dns.A).A.String() != "10.0.1.1" {
		t.Errorf("extra = %v", extra)
	}
	want(t, s, "marathon.mesos.", dns.TypeA, "10.0.0.9")
	want(t, s, "_framework._tcp.marathon.mesos.", dns.TypeSRV, "0 1 25501 marathon.mesos.")
	want(t, s, "web.marathon.mesos.", dns.TypeAAAA)
	if st := s.Stats(); st.Tasks != 1 || st.Agents != 2 || st.Frameworks != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDiscoveryPorts(t *testing.T) {
	s := build(t, stateWith(`{"id": "db.1", "name": "db-task", "slave_id": "20160107-001256-134875658-5050-27524-S1",
		"state": "TASK_RUNNING", "resources": {"ports": "[31000-31002]"},
		"discovery": {"visibility": "FRAMEWORK", "name": "db", "ports": {"ports": [
			{"number": 31000, "name": "http"},
			{"number": 31001, "protocol": "tcp", "name": "Admin_Port"},
			{"number": 31002, "protocol": "UDP"}
		]}},
		"statuses": [{"state": "TASK_RUNNING", "timestamp": 1,
			"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "172.17.0.6"}]}]}}]}`), nil)
	c := "db-" + taskHash("db.1") + "-s1"
	task := c + ".marathon.mesos."
	// T comes from the discovery name, not the task name.
	want(t, s, "db.marathon.mesos.", dns.TypeA, "172.17.0.6")
	exists(t, s, "db-task.marathon.mesos.", false)
	// Empty protocol: both; "tcp": tcp only; "UDP": udp.
	want(t, s, "_db._tcp.marathon.mesos.", dns.TypeSRV, "0 1 31000 "+task, "0 1 31001 "+task)
	want(t, s, "_db._udp.marathon.mesos.", dns.TypeSRV, "0 1 31000 "+task, "0 1 31002 "+task)
	want(t, s, "_http._db._tcp.marathon.mesos.", dns.TypeSRV, "0 1 31000 "+task)
	want(t, s, "_http._db._udp.marathon.mesos.", dns.TypeSRV, "0 1 31000 "+task)
	want(t, s, "_admin-port._db._tcp.marathon.mesos.", dns.TypeSRV, "0 1 31001 "+task)
	exists(t, s, "_admin-port._db._udp.marathon.mesos.", false)
	// Resource ports are published under .slave only, for a task with DiscoveryInfo.
	slaveT := c + ".marathon.slave.mesos."
	want(t, s, "_db._tcp.marathon.slave.mesos.", dns.TypeSRV, "0 1 31000 "+slaveT, "0 1 31001 "+slaveT, "0 1 31002 "+slaveT)
	_, extra, _ := s.Lookup("_db._tcp.marathon.mesos.", "mesos.", dns.TypeSRV)
	if len(extra) != 1 || extra[0].Header().Name != task {
		t.Errorf("extra = %v", extra)
	}
}

func TestDottedDiscoveryNames(t *testing.T) {
	js := stateWith(`{"id": "app.1", "name": "app", "slave_id": "20160107-001256-134875658-5050-27524-S0",
		"state": "TASK_RUNNING", "resources": {"ports": "[31000-31000]"},
		"discovery": {"name": "app.group", "ports": {"ports": [{"number": 8080, "protocol": "tcp"}]}},
		"statuses": [{"state": "TASK_RUNNING", "timestamp": 1}]}`)
	suffix := "-" + taskHash("app.1") + "-s0"
	s := build(t, js, nil)
	want(t, s, "app-group.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "app.group.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "app.group"+suffix+".marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "_app-group._tcp.marathon.mesos.", dns.TypeSRV, "0 1 8080 app-group"+suffix+".marathon.mesos.")
	want(t, s, "_app.group._tcp.marathon.mesos.", dns.TypeSRV, "0 1 8080 app.group"+suffix+".marathon.mesos.")
	want(t, s, "app.group.marathon.slave.mesos.", dns.TypeA, "10.0.1.1")
	// The label between compatibility names is an empty non-terminal.
	exists(t, s, "group.marathon.mesos.", true)

	off := build(t, js, func(o *Options) { o.CompatNames = false })
	want(t, off, "app-group.marathon.mesos.", dns.TypeA, "10.0.1.1")
	exists(t, off, "app.group.marathon.mesos.", false)
	exists(t, off, "_app.group._tcp.marathon.mesos.", false)
	if off.Len() >= s.Len() {
		t.Errorf("compat names off: %d records, on: %d", off.Len(), s.Len())
	}
}

func TestTaskAddresses(t *testing.T) {
	tasks := `
	{"id": "v6.1", "name": "v6", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
	 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "fd00::5"}]}]}}]},
	{"id": "dual.1", "name": "dual", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
	 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [
		{"ip_addresses": [{"ip_address": "10.9.0.1"}, {"ip_address": "fd00::9"}, {"ip_address": "10.9.0.2"}]},
		{"ip_addresses": [{"ip_address": "not-an-ip"}, {"ip_address": "10.9.1.1"}]}]}}]},
	{"id": "old.1", "name": "old", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
	 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_address": "10.8.0.1"}]}}]},
	{"id": "unsorted.1", "name": "unsorted", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
	 "statuses": [
		{"state": "TASK_RUNNING", "timestamp": 30, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.7.0.30"}]}]}},
		{"state": "TASK_RUNNING", "timestamp": 50, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.7.0.50"}]}]}},
		{"state": "TASK_STARTING", "timestamp": 60, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.7.0.60"}]}]}},
		{"state": "TASK_RUNNING", "timestamp": 10, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.7.0.10"}]}]}}]},
	{"id": "docker.1", "name": "docker", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING",
	 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.9"}]}]},
	{"id": "mesosc.1", "name": "mesosc", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING",
	 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "labels": [
		{"key": "MesosContainerizer.NetworkSettings.IPAddress", "value": "10.11.0.3"},
		{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.10"}]}]},
	{"id": "plain.1", "name": "plain", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING"}`
	s := build(t, stateWith(tasks), nil)
	want(t, s, "v6.marathon.mesos.", dns.TypeAAAA, "fd00::5")
	want(t, s, "v6.marathon.mesos.", dns.TypeA)
	exists(t, s, "v6.marathon.mesos.", true)
	want(t, s, "dual.marathon.mesos.", dns.TypeA, "10.9.0.1", "10.9.0.2", "10.9.1.1")
	want(t, s, "dual.marathon.mesos.", dns.TypeAAAA, "fd00::9")
	want(t, s, "old.marathon.mesos.", dns.TypeA, "10.8.0.1")
	// The latest TASK_RUNNING status counts, wherever it sits in the array.
	want(t, s, "unsorted.marathon.mesos.", dns.TypeA, "10.7.0.50")
	// Default sources are netinfo, mesos, host: the Docker label is not consulted.
	want(t, s, "docker.marathon.mesos.", dns.TypeA, "10.0.1.2")
	want(t, s, "mesosc.marathon.mesos.", dns.TypeA, "10.11.0.3")
	want(t, s, "plain.marathon.mesos.", dns.TypeA, "10.0.1.2")

	d := build(t, stateWith(tasks), func(o *Options) { o.IPSources = []IPSource{SourceDocker, SourceMesos, SourceNetInfo} })
	want(t, d, "docker.marathon.mesos.", dns.TypeA, "172.17.0.9")
	want(t, d, "mesosc.marathon.mesos.", dns.TypeA, "172.17.0.10")
	want(t, d, "unsorted.marathon.mesos.", dns.TypeA, "10.7.0.50")
	// No host source: a task with no container address gets no address records.
	want(t, d, "plain.marathon.mesos.", dns.TypeA)
	want(t, d, "plain.marathon.slave.mesos.", dns.TypeA, "10.0.1.2")

	h := build(t, stateWith(tasks), func(o *Options) { o.IPSources = []IPSource{SourceHost} })
	want(t, h, "dual.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, h, "dual.marathon.mesos.", dns.TypeAAAA)
}

func TestLongTaskName(t *testing.T) {
	long := strings.Repeat("verylongname", 6) // 72 characters
	s := build(t, stateWith(`{"id": "long.1", "name": "`+long+`", "slave_id": "20160107-001256-134875658-5050-27524-S0",
		"state": "TASK_RUNNING", "resources": {"ports": "[31000-31000]"},
		"discovery": {"name": "`+long+`", "ports": {"ports": [{"number": 80, "name": "`+long+`"}]}}}`), nil)
	n := 0
	s.Walk("mesos.", func(rr dns.RR) bool {
		n++
		name := rr.Header().Name
		if len(name) > 254 {
			t.Errorf("name over 253 octets: %s", name)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
			if len(l) > 63 {
				t.Errorf("label over 63 octets (%d): %s", len(l), l)
			}
		}
		// Every owner packs into a message and is found again by its own name.
		m := new(dns.Msg)
		m.SetQuestion(name, rr.Header().Rrtype)
		m.Answer = []dns.RR{rr}
		if _, err := m.Pack(); err != nil {
			t.Errorf("pack %s: %v", name, err)
		}
		if len(rdata(t, s, name, rr.Header().Rrtype)) == 0 {
			t.Errorf("%s %s not found by lookup", name, dns.TypeToString[rr.Header().Rrtype])
		}
		return true
	})
	if n < 10 {
		t.Fatalf("only %d records", n)
	}
	t63 := long[:63]
	want(t, s, t63+".marathon.mesos.", dns.TypeA, "10.0.1.1")
	c := long[:63-len("-xxxxx-s0")] + "-" + taskHash("long.1") + "-s0"
	want(t, s, c+".marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "_"+long[:62]+"._tcp.marathon.slave.mesos.", dns.TypeSRV, "0 1 31000 "+c+".marathon.slave.mesos.")
	want(t, s, "_"+long[:62]+"._"+long[:62]+"._tcp.marathon.mesos.", dns.TypeSRV, "0 1 80 "+c+".marathon.mesos.")
}

func TestRFC952(t *testing.T) {
	s := build(t, `{`+agentsJSON+`, "frameworks": [{"id": "f", "name": "Chronos 2.0", "tasks": [
		{"id": "x.1", "name": "0day-`+"reporting_job_with_long_name"+`", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"}]}]}`,
		func(o *Options) { o.RFC952 = true })
	// Leading digits and dashes go, then 24 octets; "chronos2.0" keeps its labels minus the all-digit one.
	want(t, s, "day-reporting-job-with-l.chronos2.mesos.", dns.TypeA, "10.0.1.1")
	d := build(t, `{`+agentsJSON+`, "frameworks": [{"id": "f", "name": "Chronos 2.0", "tasks": [
		{"id": "x.1", "name": "0day-reporting_job_with_long_name", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"}]}]}`, nil)
	want(t, d, "0day-reporting-job-with-long-name.chronos2.0.mesos.", dns.TypeA, "10.0.1.1")
}

func TestDuplicatesAndSkips(t *testing.T) {
	js := `{` + agentsJSON + `, "frameworks": [
		{"id": "fw-a", "name": "marathon", "tasks": [
			{"id": "web.a", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"},
			{"id": "orphan.1", "name": "orphan", "slave_id": "no-such-agent", "state": "TASK_RUNNING"},
			{"id": "staging.1", "name": "staging", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_STAGING"},
			{"id": "done.1", "name": "done", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_FINISHED"},
			{"id": "sym.1", "name": "$$$", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"}]},
		{"id": "fw-b", "name": "marathon", "tasks": [
			{"id": "web.b", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING"}]}]}`
	s := build(t, js, nil)
	// Same framework name, same task name: one name, both tasks.
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.0.1.1", "10.0.1.2")
	want(t, s, "web-"+taskHash("web.a")+"-s0.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "web-"+taskHash("web.b")+"-s1.marathon.mesos.", dns.TypeA, "10.0.1.2")
	for _, n := range []string{"orphan", "staging", "done"} {
		exists(t, s, n+".marathon.mesos.", false)
	}
	st := s.Stats()
	if st.Skipped[SkipTaskUnknownAgent] != 1 || st.Skipped[SkipTaskEmptyName] != 1 || st.Tasks != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestHealthyOnly(t *testing.T) {
	js := stateWith(`
		{"id": "ok.1", "name": "svc", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
		 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "healthy": false}, {"state": "TASK_RUNNING", "timestamp": 2, "healthy": true}]},
		{"id": "sick.1", "name": "svc", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING",
		 "statuses": [{"state": "TASK_RUNNING", "timestamp": 2, "healthy": false}, {"state": "TASK_RUNNING", "timestamp": 1, "healthy": true}]},
		{"id": "nocheck.1", "name": "other", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING",
		 "statuses": [{"state": "TASK_RUNNING", "timestamp": 2}]}`)
	all := build(t, js, nil)
	want(t, all, "svc.marathon.mesos.", dns.TypeA, "10.0.1.1", "10.0.1.2")
	h := build(t, js, func(o *Options) { o.HealthyOnly = true })
	want(t, h, "svc.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, h, "other.marathon.mesos.", dns.TypeA, "10.0.1.2")
	if h.Stats().Unhealthy != 1 {
		t.Errorf("unhealthy = %d", h.Stats().Unhealthy)
	}
}

func TestHostnamesThroughResolver(t *testing.T) {
	js := `{"leader": "master@m1.example:5050", "slaves": [
		{"id": "x-S0", "pid": "slave(1)@agent0.example:5051"},
		{"id": "x-S1", "pid": "slave(1)@unresolvable.example:5051"}],
		"frameworks": [
		{"id": "f1", "name": "byhost", "hostname": "sched.example", "tasks": [
			{"id": "t.1", "name": "t", "slave_id": "x-S0", "state": "TASK_RUNNING"},
			{"id": "u.1", "name": "u", "slave_id": "x-S1", "state": "TASK_RUNNING", "resources": {"ports": "[80-80]"}}]},
		{"id": "f2", "name": "bypid", "pid": "scheduler@sched2.example:9000", "hostname": "ignored.example"}]}`
	r := &fakeResolver{addrs: map[string][]netip.Addr{
		"agent0.example": {netip.MustParseAddr("192.0.2.10")},
		"sched.example":  {netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("2001:db8::20")},
		"sched2.example": {netip.MustParseAddr("192.0.2.21")},
		"m1.example":     {netip.MustParseAddr("192.0.2.1")},
	}}
	hc := NewHostCache(r)
	s := build(t, js, func(o *Options) { o.Hosts = hc })
	want(t, s, "t.byhost.mesos.", dns.TypeA, "192.0.2.10")
	want(t, s, "byhost.mesos.", dns.TypeA, "192.0.2.20")
	want(t, s, "byhost.mesos.", dns.TypeAAAA, "2001:db8::20")
	want(t, s, "bypid.mesos.", dns.TypeA, "192.0.2.21")
	want(t, s, "leader.mesos.", dns.TypeA, "192.0.2.1")
	want(t, s, "slave.mesos.", dns.TypeA, "192.0.2.10")
	// Unresolvable: the address records are left out, never filled with the name.
	want(t, s, "u.byhost.mesos.", dns.TypeA)
	want(t, s, "_u._tcp.byhost.mesos.", dns.TypeSRV, "0 1 80 u-"+taskHash("u.1")+"-s1.byhost.slave.mesos.")
	calls := r.count()
	if calls != 5 {
		t.Errorf("%d lookups, want 5 (each name once)", calls)
	}
	build(t, js, func(o *Options) { o.Hosts = hc })
	if r.count() != calls {
		t.Errorf("second build made %d lookups; the cache should answer", r.count()-calls)
	}
	// Without a resolver, names are simply left out.
	n := build(t, js, nil)
	want(t, n, "t.byhost.mesos.", dns.TypeA)
	exists(t, n, "t.byhost.mesos.", true)
}

func TestHostCacheBudget(t *testing.T) {
	r := &fakeResolver{delay: time.Hour}
	hc := NewHostCache(r)
	hc.budget = 50 * time.Millisecond
	start := time.Now()
	got := hc.Resolve(context.Background(), []string{"a.example", "b.example"})
	if len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("resolve ignored its budget")
	}
}

func TestHostCacheBound(t *testing.T) {
	r := &fakeResolver{addrs: map[string][]netip.Addr{}}
	hc := NewHostCache(r)
	hc.max = 10
	var names []string
	for i := range 50 {
		n := fmt.Sprintf("h%d.example", i)
		r.addrs[n] = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})}
		names = append(names, n)
	}
	got := hc.Resolve(context.Background(), names)
	if len(got) != 50 {
		t.Fatalf("resolved %d of 50", len(got))
	}
	if len(hc.m) > 10 {
		t.Fatalf("cache holds %d entries, bound is 10", len(hc.m))
	}
}

func TestMasters(t *testing.T) {
	js := `{"leader": "master@10.0.0.3:5050", "slaves": [], "frameworks": []}`
	// Leader in the list: the list's order, leader where it stands.
	in := build(t, js, func(o *Options) { o.Masters = []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"} })
	want(t, in, "master0.mesos.", dns.TypeA, "10.0.0.1")
	want(t, in, "master1.mesos.", dns.TypeA, "10.0.0.2")
	want(t, in, "master2.mesos.", dns.TypeA, "10.0.0.3")
	exists(t, in, "master3.mesos.", false)
	want(t, in, "master.mesos.", dns.TypeA, "10.0.0.1", "10.0.0.2", "10.0.0.3")
	want(t, in, "leader.mesos.", dns.TypeA, "10.0.0.3")
	want(t, in, "_leader._tcp.mesos.", dns.TypeSRV, "0 1 5050 leader.mesos.")
	want(t, in, "_leader._udp.mesos.", dns.TypeSRV, "0 1 5050 leader.mesos.")
	// Leader not in the list: appended last.
	out := build(t, js, func(o *Options) { o.Masters = []string{"10.0.0.2:5050", "10.0.0.1:5050"} })
	want(t, out, "master0.mesos.", dns.TypeA, "10.0.0.2")
	want(t, out, "master1.mesos.", dns.TypeA, "10.0.0.1")
	want(t, out, "master2.mesos.", dns.TypeA, "10.0.0.3")
	want(t, out, "master.mesos.", dns.TypeA, "10.0.0.1", "10.0.0.2", "10.0.0.3")
	// A master named by host name matches the leader through its resolved address.
	hc := NewHostCache(&fakeResolver{addrs: map[string][]netip.Addr{"m3.example": {netip.MustParseAddr("10.0.0.3")}}})
	named := build(t, js, func(o *Options) {
		o.Masters = []string{"m3.example:5050", "10.0.0.1:5050"}
		o.Hosts = hc
	})
	want(t, named, "master0.mesos.", dns.TypeA, "10.0.0.3")
	want(t, named, "master1.mesos.", dns.TypeA, "10.0.0.1")
	exists(t, named, "master2.mesos.", false)
	// No masters configured: the leader alone is master0.
	none := build(t, js, nil)
	want(t, none, "master0.mesos.", dns.TypeA, "10.0.0.3")
	want(t, none, "master.mesos.", dns.TypeA, "10.0.0.3")
}

func TestAgentRecords(t *testing.T) {
	s := build(t, `{"leader": "master@10.0.0.2:5050", "slaves": [
		{"id": "a-S0", "pid": "slave(1)@10.0.1.1:5051"},
		{"id": "a-S1", "pid": "slave(1)@10.0.1.2:5051"},
		{"id": "a-S2", "pid": "slave(1)@[fd00::3]:5052"}], "frameworks": []}`, nil)
	want(t, s, "slave.mesos.", dns.TypeA, "10.0.1.1", "10.0.1.2")
	want(t, s, "slave.mesos.", dns.TypeAAAA, "fd00::3")
	want(t, s, "_slave._tcp.mesos.", dns.TypeSRV, "0 1 5051 slave.mesos.", "0 1 5052 slave.mesos.")
}

func TestZoneSemantics(t *testing.T) {
	js := stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[80-80]"}}`)
	s := build(t, js, func(o *Options) {
		o.Zones = []string{"mesos.", "mesos.example.org."}
		o.TTL = 30
		o.SRVWeight = 7
		o.SOA = SOAOptions{Refresh: 1, Retry: 2, Expire: 3, Minimum: 4}
	})
	for _, z := range []string{"mesos.", "mesos.example.org."} {
		want(t, s, "web.marathon."+z, dns.TypeA, "10.0.1.1")
		want(t, s, "WeB.MaRaThOn."+strings.ToUpper(z), dns.TypeA, "10.0.1.1")
		want(t, s, z, dns.TypeSOA, fmt.Sprintf("ns1.%s root.ns1.%s 1700000000 1 2 3 4", z, z))
		want(t, s, z, dns.TypeNS, "ns1."+z)
		// Empty non-terminals exist; names below nothing do not.
		exists(t, s, "marathon."+z, true)
		exists(t, s, "_tcp.marathon."+z, true)
		exists(t, s, "nope.marathon."+z, false)
		exists(t, s, "web.nope."+z, false)
		exists(t, s, z, true)
		ans, _, ok := s.Lookup("_web._tcp.marathon."+z, z, dns.TypeSRV)
		if !ok || len(ans) != 1 || ans[0].Header().Ttl != 30 || ans[0].(*dns.SRV).Weight != 7 || ans[0].(*dns.SRV).Target != "web-"+taskHash("web.1")+"-s0.marathon.slave."+z {
			t.Errorf("SRV in %s = %v", z, ans)
		}
		// Known name, other type: exists with nothing to say.
		if ans, _, ok := s.Lookup("web.marathon."+z, z, dns.TypeTXT); !ok || len(ans) != 0 {
			t.Errorf("TXT: %v %v", ans, ok)
		}
	}
	if _, _, ok := s.Lookup("web.marathon.other.", "mesos.", dns.TypeA); ok {
		t.Error("a name outside the zone exists")
	}
	if _, _, ok := s.Lookup("xmesos.", "mesos.", dns.TypeA); ok {
		t.Error("xmesos. is not inside mesos.")
	}
}

func TestSOAOptions(t *testing.T) {
	s := build(t, `{"slaves": [], "frameworks": []}`, func(o *Options) {
		o.SOA.Mname = "ns.example.org."
		o.SOA.Mbox = "hostmaster.example.org."
	})
	want(t, s, "mesos.", dns.TypeSOA, "ns.example.org. hostmaster.example.org. 1700000000 60 600 86400 60")
	want(t, s, "mesos.", dns.TypeNS, "ns.example.org.")
}

func TestLookupHandsOutCopies(t *testing.T) {
	s := build(t, stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[80-80]"}}`), nil)
	a, _, _ := s.Lookup("web.marathon.mesos.", "mesos.", dns.TypeA)
	a[0].(*dns.A).A[0] = 99
	a[0].Header().Ttl = 1
	srvs, extra, _ := s.Lookup("_web._tcp.marathon.mesos.", "mesos.", dns.TypeSRV)
	srvs[0].(*dns.SRV).Target = "evil."
	extra[0].(*dns.A).A[3] = 99
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "_web._tcp.marathon.mesos.", dns.TypeSRV, "0 1 80 web-"+taskHash("web.1")+"-s0.marathon.slave.mesos.")
	_, extra, _ = s.Lookup("_web._tcp.marathon.mesos.", "mesos.", dns.TypeSRV)
	if extra[0].(*dns.A).A.String() != "10.0.1.1" {
		t.Errorf("extra changed: %v", extra[0])
	}
}

func TestSerial(t *testing.T) {
	a := `{"id": "a.1", "name": "a", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"}`
	b := `{"id": "b.1", "name": "b", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING"}`
	now := time.Unix(1700000000, 0)
	opts := DefaultOptions()
	opts.Now = func() time.Time { return now }
	s1 := Build(context.Background(), decode(t, stateWith(a+","+b)), opts, nil)
	now = now.Add(time.Hour)
	// Same records in another order: same content, same serial.
	s2 := Build(context.Background(), decode(t, stateWith(b+","+a)), opts, s1)
	if s2.Serial() != s1.Serial() || s2.Hash() != s1.Hash() {
		t.Errorf("serial %d -> %d for the same records", s1.Serial(), s2.Serial())
	}
	s3 := Build(context.Background(), decode(t, stateWith(a)), opts, s2)
	if s3.Serial() <= s2.Serial() || s3.Hash() == s2.Hash() {
		t.Errorf("serial %d -> %d after a change", s2.Serial(), s3.Serial())
	}
	// A clock that went backwards still never lowers the serial.
	now = time.Unix(1600000000, 0)
	s4 := Build(context.Background(), decode(t, stateWith(a+","+b)), opts, s3)
	if s4.Serial() != s3.Serial()+1 {
		t.Errorf("serial %d -> %d with the clock behind", s3.Serial(), s4.Serial())
	}
}

func TestWalkOrder(t *testing.T) {
	s := build(t, stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[80-81]"}}`),
		func(o *Options) { o.Masters = []string{"10.0.0.2:5050"} })
	var rrs []dns.RR
	s.Walk("mesos.", func(rr dns.RR) bool { rrs = append(rrs, rr); return true })
	if rrs[0].Header().Rrtype != dns.TypeSOA || rrs[1].Header().Rrtype != dns.TypeNS {
		t.Fatalf("walk starts with %v %v", rrs[0], rrs[1])
	}
	if len(rrs) != s.Len()+2 {
		t.Errorf("walk gave %d records, set has %d + SOA + NS", len(rrs), s.Len())
	}
	for i := 3; i < len(rrs); i++ {
		a, b := strings.TrimSuffix(rrs[i-1].Header().Name, "mesos."), strings.TrimSuffix(rrs[i].Header().Name, "mesos.")
		if canonicalCompare(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, ".")) > 0 {
			t.Errorf("out of order: %s before %s", rrs[i-1].Header().Name, rrs[i].Header().Name)
		}
	}
	// Every walked record is what a lookup of its name and type returns.
	for _, rr := range rrs[2:] {
		found := false
		for _, v := range rdata(t, s, rr.Header().Name, rr.Header().Rrtype) {
			if strings.HasSuffix(rr.String(), "\t"+v) {
				found = true
			}
		}
		if !found {
			t.Errorf("walked %v, lookup disagrees", rr)
		}
	}
	n := 0
	s.Walk("mesos.", func(dns.RR) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("walk went on after false: %d", n)
	}
}

func TestCanonicalCompare(t *testing.T) {
	names := []string{"z", "a.b", "", "b", "_x.a", "a", "yljkjljk.a", "z.a", "zabc.a", "*.z.a", "\001.z.a"}
	slices.SortFunc(names, canonicalCompare)
	// RFC 4034 §6.1's own example: fewer labels first, then octet order ("\001" < "*" < "_").
	wantOrder := []string{"", "a", "_x.a", "yljkjljk.a", "z.a", "\001.z.a", "*.z.a", "zabc.a", "b", "a.b", "z"}
	if !slices.Equal(names, wantOrder) {
		t.Errorf("order %q", names)
	}
}

// overflows reports whether a reply with these records, compressed, is larger than
// size: a cut answer must still be truncated by the server, which then sets TC.
func overflows(t *testing.T, qname string, qtype uint16, ans, extra []dns.RR, size int) bool {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Answer, m.Extra = ans, extra
	m.Compress = true
	m.Truncate(size)
	return m.Truncated
}

func TestLookupLimit(t *testing.T) {
	var tasks []string
	for i := range 100 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "big.%d", "name": "big", "slave_id": "20160107-001256-134875658-5050-27524-S%d", "state": "TASK_RUNNING",
			"resources": {"ports": "[%d-%d]"},
			"statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.1.0.%d"}]}]}}]}`, i, i%2, 31000+i, 31000+i, i+1))
	}
	s := build(t, stateWith(strings.Join(tasks, ",")), nil)
	all, _, _ := s.Lookup("big.marathon.mesos.", "mesos.", dns.TypeA)
	if len(all) != 100 {
		t.Fatalf("%d records", len(all))
	}
	seen := map[string]bool{}
	for range 400 {
		ans, _, ok := s.LookupLimit("big.marathon.mesos.", "mesos.", dns.TypeA, 512)
		// Just over what 512 octets can hold, so the server still truncates and sets TC.
		if !ok || len(ans) >= 100 || !overflows(t, "big.marathon.mesos.", dns.TypeA, ans, nil, 512) {
			t.Fatalf("%d records for a 512-octet client", len(ans))
		}
		for _, rr := range ans {
			seen[rr.(*dns.A).A.String()] = true
		}
	}
	if len(seen) != 100 {
		t.Errorf("only %d of 100 records ever served under the limit", len(seen))
	}
	if ans, _, _ := s.LookupLimit("big.marathon.mesos.", "mesos.", dns.TypeA, 65535); len(ans) != 100 {
		t.Errorf("TCP-sized client got %d", len(ans))
	}
	if ans, _, _ := s.LookupLimit("leader.mesos.", "mesos.", dns.TypeA, 512); len(ans) != 1 {
		t.Errorf("small answer cut: %d", len(ans))
	}
	// SRV cut by the limit: the SRV records alone exceed it, so no additional record
	// could fit and none is built; uncut, each target's addresses come once.
	for range 50 {
		ans, extra, _ := s.LookupLimit("_big._tcp.marathon.slave.mesos.", "mesos.", dns.TypeSRV, 1232)
		if len(ans) >= 100 || len(extra) != 0 || !overflows(t, "_big._tcp.marathon.slave.mesos.", dns.TypeSRV, ans, extra, 1232) {
			t.Fatalf("1232 octets: %d answers, %d additional", len(ans), len(extra))
		}
	}
	ans, extra, _ := s.LookupLimit("_big._tcp.marathon.slave.mesos.", "mesos.", dns.TypeSRV, 0)
	names := map[string]int{}
	for _, rr := range extra {
		names[rr.Header().Name]++
	}
	for _, rr := range ans {
		if names[rr.(*dns.SRV).Target] != 1 {
			t.Fatalf("target %s has %d additional records", rr.(*dns.SRV).Target, names[rr.(*dns.SRV).Target])
		}
	}
	if len(names) != 100 {
		t.Errorf("%d additional names for 100 targets", len(names))
	}
}

// TestLookupLimitAdditional: additional records that could not fit are not built, and
// the ones that can are.
func TestLookupLimitAdditional(t *testing.T) {
	var tasks []string
	for i := range 40 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "s.%d", "name": "s", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[%d-%d]"}}`, i, 31000+i, 31000+i))
	}
	s := build(t, stateWith(strings.Join(tasks, ",")), nil)
	_, full, _ := s.LookupLimit("_s._tcp.marathon.mesos.", "mesos.", dns.TypeSRV, 65535)
	if len(full) != 40 {
		t.Fatalf("%d additional records with room for all", len(full))
	}
	ans, extra, _ := s.LookupLimit("_s._tcp.marathon.mesos.", "mesos.", dns.TypeSRV, 512)
	if len(ans) >= 40 || len(extra) != 0 || !overflows(t, "_s._tcp.marathon.mesos.", dns.TypeSRV, ans, extra, 512) {
		t.Errorf("512 octets: %d answers, %d additional (none can fit)", len(ans), len(extra))
	}
	m := new(dns.Msg)
	m.SetQuestion("_s._tcp.marathon.mesos.", dns.TypeSRV)
	m.Answer, m.Extra, _ = s.LookupLimit("_s._tcp.marathon.mesos.", "mesos.", dns.TypeSRV, 1232)
	built := len(m.Extra)
	m.Compress = true
	m.Truncate(1232)
	if len(m.Extra) > built || built == 0 && len(m.Extra) > 0 {
		t.Errorf("built %d additional, %d fit", built, len(m.Extra))
	}
}

// TestStatsCarryDecoderSkips: the set counts what the decoder left out beside what the
// builder did, without writing into the state's own counts.
func TestStatsCarryDecoderSkips(t *testing.T) {
	st := decode(t, `{"leader": "master@10.0.0.2:5050", "slaves": [{"id": "a-S0", "pid": "bad"}],
		"frameworks": [{"id": "f", "name": "m", "tasks": [{"id": "t", "name": "t", "slave_id": "a-S0", "state": "TASK_RUNNING"}]}]}`)
	s := Build(context.Background(), st, DefaultOptions(), nil)
	got := s.Stats().Skipped
	if got[state.SkipAgentBadPID] != 1 || got[SkipTaskUnknownAgent] != 1 || got.Total() != 2 {
		t.Errorf("set skips %v", got)
	}
	if st.Skipped.Total() != 1 || st.Skipped[SkipTaskUnknownAgent] != 0 {
		t.Errorf("the state's own skips changed: %v", st.Skipped)
	}
}
