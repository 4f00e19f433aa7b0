package records

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/fixture"
	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

func decode(tb testing.TB, js string) *state.State {
	tb.Helper()
	st, err := state.Decode(strings.NewReader(js))
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return st
}

func build(tb testing.TB, js string, mod func(*Options)) *Set {
	tb.Helper()
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	if mod != nil {
		mod(&o)
	}
	return Build(context.Background(), decode(tb, js), o, nil)
}

// rdata returns the answer's rdata as text, sorted, for qname in zone mesos.
func rdata(tb testing.TB, s *Set, qname string, qtype uint16) []string {
	tb.Helper()
	ans, _, _ := s.Lookup(qname, zoneOf(qname, s), qtype)
	out := make([]string, 0, len(ans))
	for _, rr := range ans {
		if rr.Header().Rrtype != qtype {
			tb.Fatalf("%s %s: answer has type %s", qname, dns.TypeToString[qtype], dns.TypeToString[rr.Header().Rrtype])
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

// agentsJSON and stateWith are the two-agent cluster the tests add frameworks and
// tasks to (fixture).
const agentsJSON = fixture.Agents

func stateWith(tasks string) string { return fixture.StateWith(tasks) }

func TestTaskRecordsWithoutDiscovery(t *testing.T) {
	s := build(t, stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0",
		"state": "TASK_RUNNING", "resources": {"ports": "[31000-31001, 31005-31005]"},
		"statuses": [{"state": "TASK_RUNNING", "timestamp": 1,
			"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "172.17.0.5"}]}]}}]}`), nil)
	c := "web-" + TaskHash("web.1") + "-s0"
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
	c := "db-" + TaskHash("db.1") + "-s1"
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
	suffix := "-" + TaskHash("app.1") + "-s0"
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
	c := long[:63-len("-xxxxx-s0")] + "-" + TaskHash("long.1") + "-s0"
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
	want(t, s, "web-"+TaskHash("web.a")+"-s0.marathon.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "web-"+TaskHash("web.b")+"-s1.marathon.mesos.", dns.TypeA, "10.0.1.2")
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
	want(t, s, "_u._tcp.byhost.mesos.", dns.TypeSRV, "0 1 80 u-"+TaskHash("u.1")+"-s1.byhost.slave.mesos.")
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

func TestSerial(t *testing.T) {
	a := `{"id": "a.1", "name": "a", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING"}`
	b := `{"id": "b.1", "name": "b", "slave_id": "20160107-001256-134875658-5050-27524-S1", "state": "TASK_RUNNING"}`
	now := time.Unix(1800000000, 0)
	opts := DefaultOptions()
	opts.Now = func() time.Time { return now }
	s1 := Build(context.Background(), decode(t, stateWith(a+","+b)), opts, nil)
	if s1.Serial() != clockSerial(now) {
		t.Errorf("first serial %d, want the clock's %d", s1.Serial(), clockSerial(now))
	}
	now = now.Add(time.Hour)
	// Same records in another order: same content, same serial.
	s2 := Build(context.Background(), decode(t, stateWith(b+","+a)), opts, s1)
	if s2.Serial() != s1.Serial() || s2.hash != s1.hash {
		t.Errorf("serial %d -> %d for the same records", s1.Serial(), s2.Serial())
	}
	s3 := Build(context.Background(), decode(t, stateWith(a)), opts, s2)
	if s3.Serial() != clockSerial(now) || s3.hash == s2.hash {
		t.Errorf("serial %d -> %d after a change, want the clock's %d", s2.Serial(), s3.Serial(), clockSerial(now))
	}
	// A clock that went backwards still never lowers the serial.
	now = now.Add(-time.Hour)
	s4 := Build(context.Background(), decode(t, stateWith(a+","+b)), opts, s3)
	if s4.Serial() != s3.Serial()+1 {
		t.Errorf("serial %d -> %d with the clock behind", s3.Serial(), s4.Serial())
	}
}

// TestSerialAcrossRestart: a burst of changes faster than the serial's clock waits for
// its ticks instead of running ahead of it, so that a restarted server, which starts
// from the clock, starts above every serial served before (naming.md, "The zone
// itself"). Before, 200 changes a second for 10 s put the serial 1,239 s ahead.
func TestSerialAcrossRestart(t *testing.T) {
	now := time.Unix(1800000000, 0)
	var slept time.Duration
	opts := DefaultOptions()
	opts.Now = func() time.Time { return now }
	opts.Sleep = func(d time.Duration) {
		if d <= 0 || d > serialTick {
			t.Fatalf("asked to sleep %v", d)
		}
		slept += d
		now = now.Add(d)
	}
	u := NewUpdater(&opts)
	var s *Set
	st := decode(t, stateWith(""))
	for i := range 2000 {
		// A change every millisecond: ten a tick.
		now = now.Add(time.Millisecond)
		st.Frameworks[0].Tasks = append(st.Frameworks[0].Tasks, state.Task{ID: fmt.Sprintf("t.%d", i), Name: "web",
			AgentID: "20160107-001256-134875658-5050-27524-S0", State: state.TaskRunning})
		u.Update(context.Background(), clone(st))
		prev := s
		s = u.Publish(prev)
		if prev != nil && !SerialLess(prev.Serial(), s.Serial()) {
			t.Fatalf("change %d: serial %d -> %d", i, prev.Serial(), s.Serial())
		}
		if c := clockSerial(now); SerialLess(c, s.Serial()) {
			t.Fatalf("change %d: serial %d ahead of the clock's %d", i, s.Serial(), c)
		}
	}
	if slept == 0 {
		t.Fatal("the burst never waited for the clock")
	}
	// A restart takes longer than a tick; the new server remembers nothing.
	now = now.Add(time.Second)
	restarted := Build(context.Background(), st, opts, nil)
	if !SerialLess(s.Serial(), restarted.Serial()) {
		t.Errorf("after a restart the serial went from %d to %d", s.Serial(), restarted.Serial())
	}
	// An upgrade from the serials before this clock (Unix seconds, run ahead by bursts)
	// goes up too.
	old := uint32(now.Unix()) + 30*86400 // #nosec G115 -- a serial
	if !SerialLess(old, restarted.Serial()) {
		t.Errorf("a serial %d of the old scheme is not below the new %d", old, restarted.Serial())
	}
}

// TestStatsCarryDecoderSkips: the set counts what the decoder left out beside what the
// builder did, without writing into the state's own counts.
func TestStatsCarryDecoderSkips(t *testing.T) {
	st := decode(t, `{"leader": "master@10.0.0.2:5050", "slaves": [{"id": "a-S0", "pid": "bad"}, {"id": "a-S1", "pid": "slave(1)@10.0.1.1:5051"}],
		"frameworks": [{"id": "f", "name": "m", "tasks": [{"id": "t", "name": "t", "slave_id": "a-S9", "state": "TASK_RUNNING"}]}]}`)
	s := Build(context.Background(), st, DefaultOptions(), nil)
	got := s.Stats().Skipped
	if got[state.SkipAgentBadPID] != 1 || got[SkipTaskUnknownAgent] != 1 || got.Total() != 2 {
		t.Errorf("set skips %v", got)
	}
	if st.Skipped.Total() != 1 || st.Skipped[SkipTaskUnknownAgent] != 0 {
		t.Errorf("the state's own skips changed: %v", st.Skipped)
	}
}

// clockAt is a time at which the serial's clock reads serial: tests keep the serials
// their expectations were written with.
func clockAt(serial int64) time.Time {
	return time.UnixMilli(serialEpoch*1000 + (serial-serialBase)*serialTick.Milliseconds())
}
