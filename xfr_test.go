package mesos

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// transferred is what m.Transfer sends for zone to a client at serial (0: AXFR).
func transferred(t *testing.T, m *Mesos, zone string, serial uint32) []dns.RR {
	t.Helper()
	ch, err := m.Transfer(zone, serial)
	if err != nil {
		t.Fatal(err)
	}
	var out []dns.RR
	for batch := range ch {
		out = append(out, batch...)
	}
	return out
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
	collect := func(serial uint32) []dns.RR { return transferred(t, m, "mesos.", serial) }
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

// TestTransferIncremental: an IXFR from a serial the journal holds gets RFC 1995's
// condensed difference, which applied to the zone at that serial gives the zone now;
// from a serial it does not hold, or without a journal, the whole zone.
func TestTransferIncremental(t *testing.T) {
	task := func(i int) string {
		return fmt.Sprintf(`{"id": "web.%d", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S%d", "state": "TASK_RUNNING", "resources": {"ports": "[%d-%d]"}}`, i, i%2, 31000+i, 31000+i)
	}
	tasksOf := func(ids ...int) string {
		out := make([]string, 0, len(ids))
		for _, i := range ids {
			out = append(out, task(i))
		}
		return strings.Join(out, ",")
	}
	at := func(sec int64) func(*records.Options) {
		return func(o *records.Options) { o.Now = func() time.Time { return time.Unix(sec, 0) } }
	}
	before := build(t, stateWith(tasksOf(1, 2, 3)), at(1700000000))
	after := build(t, stateWith(tasksOf(2, 3, 4)), at(1700000100))
	m := &Mesos{Zones: []string{"mesos."}, journal: records.NewJournal(0)}
	m.journal.Record(before, after)
	m.set.Store(after)
	collect := func(serial uint32) []dns.RR { return transferred(t, m, "mesos.", serial) }
	zone := func(s *records.Set) map[string]bool {
		out := map[string]bool{}
		s.Walk("mesos.", func(rr dns.RR) bool {
			if rr.Header().Rrtype != dns.TypeSOA {
				out[rr.String()] = true
			}
			return true
		})
		return out
	}
	ixfr := collect(before.Serial())
	soaAt := func(i int) uint32 {
		if soa, ok := ixfr[i].(*dns.SOA); ok {
			return soa.Serial
		}
		return 0
	}
	if len(ixfr) < 4 || soaAt(0) != after.Serial() || soaAt(1) != before.Serial() || soaAt(len(ixfr)-1) != after.Serial() {
		t.Fatalf("IXFR is not new SOA, old SOA, ..., new SOA: %v", ixfr)
	}
	// Deletions up to the second new SOA, additions after it.
	have := zone(before)
	mid := 2
	for mid < len(ixfr) && soaAt(mid) != after.Serial() {
		if !have[ixfr[mid].String()] {
			t.Errorf("deletes %v, which the zone at %d does not hold", ixfr[mid], before.Serial())
		}
		delete(have, ixfr[mid].String())
		mid++
	}
	for _, rr := range ixfr[mid+1 : len(ixfr)-1] {
		if have[rr.String()] {
			t.Errorf("adds %v, which the zone holds", rr)
		}
		have[rr.String()] = true
	}
	want := zone(after)
	if len(have) != len(want) {
		t.Errorf("the difference applied gives %d records, the zone has %d", len(have), len(want))
	}
	for rr := range want {
		if !have[rr] {
			t.Errorf("the difference applied lacks %s", rr)
		}
	}
	if n := len(ixfr) - 4; n == 0 || n >= len(want) {
		t.Errorf("the difference has %d records for a zone of %d: not incremental", n, len(want))
	}
	axfr := collect(0)
	if old := collect(before.Serial() - 1); len(old) != len(axfr) {
		t.Errorf("IXFR from a serial the journal does not hold: %d records, want the whole zone's %d", len(old), len(axfr))
	}
	m.journal = nil
	if full := collect(before.Serial()); len(full) != len(axfr) {
		t.Errorf("IXFR without a journal: %d records, want the whole zone's %d", len(full), len(axfr))
	}
}
