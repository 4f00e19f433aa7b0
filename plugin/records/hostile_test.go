package records

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

// Builder tests for hostile states (issue "hold under hostile input"): each ends in
// correct records, bounded work and a reason counted.

func allRecords(s *Set) []dns.RR {
	var rrs []dns.RR
	s.Walk("mesos.", func(rr dns.RR) bool { rrs = append(rrs, rr); return true })
	return rrs
}

const agentS0 = "20160107-001256-134875658-5050-27524-S0"

func task(id, name, agent, extra string) string {
	return fmt.Sprintf(`{"id": %q, "name": %q, "slave_id": %q, "state": "TASK_RUNNING"%s}`, id, name, agent, extra)
}

func netinfo(ips ...string) string {
	parts := make([]string, 0, len(ips))
	for _, ip := range ips {
		parts = append(parts, fmt.Sprintf(`{"ip_address": %q}`, ip))
	}
	return `, "statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [` + strings.Join(parts, ",") + `]}]}}]`
}

// TestReservedNames: frameworks named like the masters, the agents or the NS target
// add nothing to those names, and a framework "x.slave" cannot answer for framework
// x's agent names.
func TestReservedNames(t *testing.T) {
	fw := func(id, name, pid string, tasks ...string) string {
		return fmt.Sprintf(`{"id": %q, "name": %q, "pid": %q, "tasks": [%s]}`, id, name, pid, strings.Join(tasks, ","))
	}
	js := `{` + agentsJSON + `, "frameworks": [` + strings.Join([]string{
		fw("f1", "leader", "scheduler@10.6.0.1:1"),
		fw("f2", "master0", "scheduler@10.6.0.2:1"),
		fw("f3", "Master", "scheduler@10.6.0.3:1"),
		fw("f4", "slave", "scheduler@10.6.0.4:1", task("s.1", "web", agentS0, netinfo("10.6.1.4"))),
		fw("f5", "ns1", "scheduler@10.6.0.5:1"),
		fw("f6", "x", "scheduler@10.6.0.6:1", task("x.1", "web", agentS0, netinfo("10.6.1.6"))),
		fw("f7", "x.slave", "scheduler@10.6.0.7:1", task("xs.1", "web", agentS0, netinfo("10.6.1.7")+`, "resources": {"ports": "[99-99]"}`)),
		fw("f8", "master12x", "scheduler@10.6.0.8:1"),
	}, ",") + `]}`
	s := build(t, js, func(o *Options) { o.Masters = []string{"10.0.0.2:5050"} })
	want(t, s, "leader.mesos.", dns.TypeA, "10.0.0.2")
	want(t, s, "master0.mesos.", dns.TypeA, "10.0.0.2")
	want(t, s, "master.mesos.", dns.TypeA, "10.0.0.2")
	want(t, s, "slave.mesos.", dns.TypeA, "10.0.1.1", "10.0.1.2")
	exists(t, s, "ns1.mesos.", false)
	want(t, s, "_leader._tcp.mesos.", dns.TypeSRV, "0 1 5050 leader.mesos.")
	// Framework x's agent name is its agent's, whatever framework x.slave runs.
	want(t, s, "web.x.slave.mesos.", dns.TypeA, "10.0.1.1")
	exists(t, s, "_web._tcp.x.slave.mesos.", false)
	exists(t, s, "_framework._tcp.x.slave.mesos.", false)
	// What collides with nothing stays: x.slave's own framework name and agent names,
	// the tasks of framework "slave", a framework that only starts like "master".
	want(t, s, "x.slave.mesos.", dns.TypeA, "10.6.0.7")
	want(t, s, "web.x.slave.slave.mesos.", dns.TypeA, "10.0.1.1")
	want(t, s, "_web._tcp.x.slave.slave.mesos.", dns.TypeSRV, "0 1 99 web-"+TaskHash("xs.1")+"-s0.x.slave.slave.mesos.")
	want(t, s, "web.slave.mesos.", dns.TypeA, "10.6.1.4")
	want(t, s, "master12x.mesos.", dns.TypeA, "10.6.0.8")
	want(t, s, "_framework._tcp.leader.mesos.", dns.TypeSRV)
	if n := s.Stats().Skipped[SkipReservedName]; n < 10 {
		t.Errorf("%d reserved names counted, want every one left out", n)
	}
}

// TestNSAddresses: the default NS target has the server's addresses; an operator's own
// soa_mname is theirs to serve.
func TestNSAddresses(t *testing.T) {
	ns := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("::1")}
	s := build(t, stateWith(""), func(o *Options) { o.NSAddrs = ns })
	want(t, s, "ns1.mesos.", dns.TypeA, "127.0.0.53")
	want(t, s, "ns1.mesos.", dns.TypeAAAA, "::1")
	s = build(t, stateWith(""), func(o *Options) { o.NSAddrs = ns; o.SOA.Mname = "ns.example.org." })
	exists(t, s, "ns1.mesos.", false)
}

// TestAgentWithBadPID: an agent whose pid does not parse keeps its tasks' own
// addresses; only the records that need the agent's address go.
func TestAgentWithBadPID(t *testing.T) {
	js := `{"leader": "master@10.0.0.2:5050", "slaves": [
		{"id": "a-S0", "pid": "slave(1)@[fe80::1%eth0]:5051"},
		{"id": "a-S1", "pid": "slave(1)@10.0.1.2:5051"}],
		"frameworks": [{"id": "f", "name": "marathon", "tasks": [` +
		task("w.1", "web", "a-S0", netinfo("10.9.0.1")+`, "resources": {"ports": "[80-80]"}`) + `,` +
		task("w.2", "web", "a-S1", netinfo("10.9.0.2")+`, "resources": {"ports": "[80-80]"}`) + `]}]}`
	s := build(t, js, nil)
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.9.0.1", "10.9.0.2")
	want(t, s, "web-"+TaskHash("w.1")+"-s0.marathon.mesos.", dns.TypeA, "10.9.0.1")
	want(t, s, "web.marathon.slave.mesos.", dns.TypeA, "10.0.1.2")
	exists(t, s, "web-"+TaskHash("w.1")+"-s0.marathon.slave.mesos.", false)
	want(t, s, "_web._tcp.marathon.mesos.", dns.TypeSRV, "0 1 80 web-"+TaskHash("w.2")+"-s1.marathon.slave.mesos.")
	want(t, s, "slave.mesos.", dns.TypeA, "10.0.1.2")
	want(t, s, "_slave._tcp.mesos.", dns.TypeSRV, "0 1 5051 slave.mesos.")
	if s.Stats().Skipped[state.SkipAgentBadPID] != 1 || s.Stats().Tasks != 2 {
		t.Errorf("stats %+v", s.Stats())
	}
}

// TestMalformedStatusKeepsTask: one bad status entry is left out, not its task.
func TestMalformedStatusKeepsTask(t *testing.T) {
	js := stateWith(task("w.1", "web", agentS0, `, "statuses": ["junk", {"state": 7},
		{"state": "TASK_RUNNING", "timestamp": 2, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.9.0.1"}]}]}}]`))
	s := build(t, js, nil)
	want(t, s, "web.marathon.mesos.", dns.TypeA, "10.9.0.1")
	if n := s.Stats().Skipped[state.SkipStatusMalformed]; n != 2 {
		t.Errorf("%d malformed statuses counted, want 2", n)
	}
}

// TestUnusableAddresses: no record carries an unspecified, multicast or broadcast
// address, however the state spells it.
func TestUnusableAddresses(t *testing.T) {
	js := `{"leader": "master@0.0.0.0:5050", "slaves": [
		{"id": "a-S0", "pid": "slave(1)@0.0.0.0:5051"},
		{"id": "a-S1", "pid": "slave(1)@[::ffff:0.0.0.0]:5051"},
		{"id": "a-S2", "pid": "slave(1)@10.0.1.2:5051"}],
		"frameworks": [{"id": "f", "name": "marathon", "pid": "scheduler@224.0.0.1:1", "tasks": [` +
		task("w.1", "web", "a-S2", netinfo("::ffff:0.0.0.0", "224.0.0.1", "255.255.255.255", "0.0.0.0", "ff02::1", "::")) + `,` +
		task("w.2", "api", "a-S0", netinfo("::ffff:10.9.0.2")) + `]}]}`
	s := build(t, js, func(o *Options) { o.IPSources = []IPSource{SourceNetInfo} })
	for _, rr := range allRecords(s) {
		var ip netip.Addr
		switch r := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(r.A)
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(r.AAAA)
		default:
			continue
		}
		if !state.Usable(ip.Unmap()) {
			t.Errorf("record with an unusable address: %v", rr)
		}
	}
	want(t, s, "api.marathon.mesos.", dns.TypeA, "10.9.0.2")
	exists(t, s, "web.marathon.mesos.", true)
	want(t, s, "web.marathon.mesos.", dns.TypeA)
	if n := s.Stats().Skipped[state.SkipBadAddress]; n != 6 {
		t.Errorf("%d bad addresses counted, want 6", n)
	}
}

// TestNoLabelStartsOrEndsWithDash, whatever the ids: an agent id ending in "-" has
// no S, and the canonical name ends in the hash.
func TestNoLabelStartsOrEndsWithDash(t *testing.T) {
	js := `{"leader": "master@10.0.0.2:5050", "slaves": [{"id": "agent-", "pid": "slave(1)@10.0.1.1:5051"}],
		"frameworks": [{"id": "f", "name": "-marathon-", "tasks": [` + task("w.1", "-web-", "agent-", `, "resources": {"ports": "[80-80]"}`) + `]}]}`
	s := build(t, js, nil)
	want(t, s, "web-"+TaskHash("w.1")+".marathon.mesos.", dns.TypeA, "10.0.1.1")
	for _, rr := range allRecords(s) {
		names := []string{rr.Header().Name}
		if srv, ok := rr.(*dns.SRV); ok {
			names = append(names, srv.Target)
		}
		for _, n := range names {
			for _, l := range dns.SplitDomainName(n) {
				if strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
					t.Errorf("label %q in %v", l, rr)
				}
			}
		}
	}
}

// TestSRVLimit: a task that holds every port, twice, makes a bounded number of SRV
// records, and the excess is counted.
func TestSRVLimit(t *testing.T) {
	js := stateWith(task("w.1", "web", agentS0, `, "resources": {"ports": "[1-65535, 1-65535, 1-65535]"}`))
	s := build(t, js, nil)
	if n := s.Stats().Records; n > defaultMaxTaskSRV+16 {
		t.Errorf("%d records from one task", n)
	}
	if got, want := s.Stats().Skipped[SkipSRVOverLimit], 65535*4-defaultMaxTaskSRV; got != want {
		t.Errorf("%d SRV records counted over the limit, want %d", got, want)
	}
	if n := len(rdata(t, s, "_web._tcp.marathon.mesos.", dns.TypeSRV)); n != defaultMaxTaskSRV/4 {
		t.Errorf("%d SRV records for one name, want %d", n, defaultMaxTaskSRV/4)
	}
	s = build(t, js, func(o *Options) { o.MaxTaskSRV = 8 })
	if n := len(rdata(t, s, "_web._udp.marathon.slave.mesos.", dns.TypeSRV)); n != 2 {
		t.Errorf("limit 8: %d SRV records for one name, want 2", n)
	}
}
