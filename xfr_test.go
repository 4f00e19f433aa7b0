package mesos

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

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
