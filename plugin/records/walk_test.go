package records

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

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
		if CanonicalCompare(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, ".")) > 0 {
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
	slices.SortFunc(names, CanonicalCompare)
	// RFC 4034 §6.1's own example: fewer labels first, then octet order ("\001" < "*" < "_").
	wantOrder := []string{"", "a", "_x.a", "yljkjljk.a", "z.a", "\001.z.a", "*.z.a", "zabc.a", "b", "a.b", "z"}
	if !slices.Equal(names, wantOrder) {
		t.Errorf("order %q", names)
	}
}
