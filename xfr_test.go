package mesos

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/transfer"

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

func TestTransfer(t *testing.T) {
	m := handler(t, []string{"mesos."})
	set := m.set.Load()
	if _, err := m.Transfer("example.org.", 0); !errors.Is(err, transfer.ErrNotAuthoritative) {
		t.Errorf("other zone: %v", err)
	}
	if _, err := m.Transfer("marathon.mesos.", 0); !errors.Is(err, transfer.ErrNotAuthoritative) {
		t.Errorf("sub zone: %v", err)
	}
	collect := func(serial uint32) []dns.RR {
		ch, err := m.Transfer("mesos.", serial)
		if err != nil {
			t.Fatal(err)
		}
		var out []dns.RR
		for batch := range ch {
			out = append(out, batch...)
		}
		return out
	}
	axfr := collect(0)
	if len(axfr) != set.Len()+3 || axfr[0].Header().Rrtype != dns.TypeSOA || axfr[len(axfr)-1].Header().Rrtype != dns.TypeSOA {
		t.Errorf("AXFR: %d records (set %d), first %v last %v", len(axfr), set.Len(), axfr[0], axfr[len(axfr)-1])
	}
	if up := collect(set.Serial()); len(up) != 1 || up[0].Header().Rrtype != dns.TypeSOA {
		t.Errorf("IXFR from the current serial: %v", up)
	}
	if newer := collect(set.Serial() + 5); len(newer) != 1 {
		t.Errorf("IXFR from a newer serial: %d records", len(newer))
	}
	if old := collect(set.Serial() - 1); len(old) != len(axfr) {
		t.Errorf("IXFR from an older serial: %d records, want AXFR's %d", len(old), len(axfr))
	}
}

// TestTransferAbandonsStalledClient: a client that stops taking records does not hold
// the transfer, and the record set, forever.
func TestTransferAbandonsStalledClient(t *testing.T) {
	saved := xfrStall
	xfrStall = 100 * time.Millisecond
	t.Cleanup(func() { xfrStall = saved })
	tasks := make([]string, 0, 300)
	for i := range 300 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "web.%d", "name": "web%d", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[80-80]"}}`, i, i))
	}
	m := &Mesos{Zones: []string{"mesos."}}
	m.set.Store(build(t, stateWith(strings.Join(tasks, ",")), nil))
	ch, err := m.Transfer("mesos.", 0)
	if err != nil {
		t.Fatal(err)
	}
	if first := <-ch; len(first) == 0 {
		t.Fatal("no first batch")
	}
	time.Sleep(5 * xfrStall)
	select {
	case rrs, ok := <-ch:
		if ok {
			t.Fatalf("the transfer still waited with %d records after the client stalled", len(rrs))
		}
	case <-time.After(time.Second):
		t.Fatal("the channel was never closed")
	}
	// A client that keeps reading gets everything.
	ch, _ = m.Transfer("mesos.", 0)
	n := 0
	for rrs := range ch {
		n += len(rrs)
		time.Sleep(xfrStall / 4)
	}
	if n != m.set.Load().Len()+3 {
		t.Errorf("a slow but steady client got %d records, want %d", n, m.set.Load().Len()+3)
	}
}
