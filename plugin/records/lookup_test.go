package records

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

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
		if !ok || len(ans) != 1 || ans[0].Header().Ttl != 30 || ans[0].(*dns.SRV).Weight != 7 || ans[0].(*dns.SRV).Target != "web-"+TaskHash("web.1")+"-s0.marathon.slave."+z {
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
	want(t, s, "_web._tcp.marathon.mesos.", dns.TypeSRV, "0 1 80 web-"+TaskHash("web.1")+"-s0.marathon.slave.mesos.")
	_, extra, _ = s.Lookup("_web._tcp.marathon.mesos.", "mesos.", dns.TypeSRV)
	if extra[0].(*dns.A).A.String() != "10.0.1.1" {
		t.Errorf("extra changed: %v", extra[0])
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
	tasks := make([]string, 0, 100)
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

// max_answers: each A or AAAA answer carries at most MaxAnswers records, a window of
// consecutive addresses (in the set's order, wrapping) starting at a random one, so
// that over many answers every address is served; SRV answers and whole lookups (the
// HTTP API's view) keep every record.
func TestMaxAnswers(t *testing.T) {
	tasks := make([]string, 0, 20)
	for i := range 20 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "big.%d", "name": "big", "slave_id": "20160107-001256-134875658-5050-27524-S%d", "state": "TASK_RUNNING",
			"resources": {"ports": "[%d-%d]"},
			"statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.1.0.%d"}, {"ip_address": "fd00::%x"}]}]}}]}`, i, i%2, 31000+i, 31000+i, i+1, i+1))
	}
	s := build(t, stateWith(strings.Join(tasks, ",")), func(o *Options) { o.MaxAnswers = 3 })
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		all, _, _ := s.Lookup("big.marathon.mesos.", "mesos.", qtype)
		if len(all) != 20 {
			t.Fatalf("%s: a whole lookup gives %d records", dns.TypeToString[qtype], len(all))
		}
		order := make([]string, len(all))
		for i, rr := range all {
			order[i] = rrValue(rr)
		}
		windows := map[string]bool{}
		seen := map[string]bool{}
		for range 200 {
			for _, size := range []int{0, 512, 65535} {
				ans, _, ok := s.LookupLimit("big.marathon.mesos.", "mesos.", qtype, size)
				if !ok || len(ans) != 3 {
					t.Fatalf("%s, size %d: %d records, want 3", dns.TypeToString[qtype], size, len(ans))
				}
				// Consecutive in the set's order.
				first := slices.Index(order, rrValue(ans[0]))
				var w []string
				for k, rr := range ans {
					if got, want := rrValue(rr), order[(first+k)%len(order)]; got != want {
						t.Fatalf("%s: window %v is not consecutive in %v", dns.TypeToString[qtype], ans, order)
					}
					seen[rrValue(rr)] = true
					w = append(w, rrValue(rr))
				}
				windows[strings.Join(w, " ")] = true
			}
		}
		if len(seen) != 20 || len(windows) < 10 {
			t.Errorf("%s: %d of 20 addresses served, in %d windows", dns.TypeToString[qtype], len(seen), len(windows))
		}
	}
	// A small client still gets fewer, and a name with fewer addresses all of them.
	if ans, _, _ := s.LookupLimit("leader.mesos.", "mesos.", dns.TypeA, 512); len(ans) != 1 {
		t.Errorf("leader: %d records", len(ans))
	}
	if ans, _, _ := s.LookupLimit("_big._tcp.marathon.slave.mesos.", "mesos.", dns.TypeSRV, 0); len(ans) != 20 {
		t.Errorf("SRV: %d records, want every one of 20", len(ans))
	}
}

// rrValue is the value of an A or AAAA record.
func rrValue(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.A:
		return r.A.String()
	case *dns.AAAA:
		return r.AAAA.String()
	}
	return rr.String()
}

// TestLookupLimitAdditional: additional records that could not fit are not built, and
// the ones that can are.
func TestLookupLimitAdditional(t *testing.T) {
	tasks := make([]string, 0, 40)
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
