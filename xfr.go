package mesos

import (
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// Transfer implements transfer.Transferer: AXFR of the current record set, and IXFR
// answered with the SOA alone when the client is up to date.
func (m *Mesos) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	z := ""
	for _, mz := range m.Zones {
		if mz == zone {
			z = mz
		}
	}
	if z == "" {
		return nil, transfer.ErrNotAuthoritative
	}
	set := m.set.Load()
	if set == nil {
		return nil, plugin.Error(pluginName, records.ErrNoRecords)
	}
	ch := make(chan []dns.RR)
	go func() {
		defer close(ch)
		stall := time.NewTimer(xfrStall)
		defer stall.Stop()
		// A client that stops reading (allowed by transfer to, never reading) would
		// hold this goroutine and the whole record set forever.
		send := func(rrs []dns.RR) bool {
			stall.Reset(xfrStall)
			select {
			case ch <- rrs:
				return true
			case <-stall.C:
				log.Warningf("abandoned a transfer of %s that made no progress for %v", z, xfrStall)
				return false
			}
		}
		soa := set.SOA(z)
		if serial != 0 && !records.SerialLess(serial, soa.Serial) {
			send([]dns.RR{soa})
			return
		}
		batch := make([]dns.RR, 0, 256)
		ok := true
		set.Walk(z, func(rr dns.RR) bool {
			batch = append(batch, rr)
			if len(batch) == cap(batch) {
				ok = send(batch)
				batch = make([]dns.RR, 0, 256)
			}
			return ok
		})
		if ok {
			send(append(batch, soa))
		}
	}()
	return ch, nil
}

// xfrStall is how long a transfer may wait for the client to take the next batch.
var xfrStall = 5 * time.Second
