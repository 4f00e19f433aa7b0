package mesos

import (
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// Transfer implements transfer.Transferer: AXFR of the current record set; IXFR
// answered with the SOA alone when the client is up to date, with the difference
// since its serial when the journal holds it (RFC 1995's condensed form: the new SOA,
// the client's SOA, the deletions, the new SOA, the additions, the new SOA), and
// else with the whole zone.
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
	soa := set.SOA(z)
	kind := "axfr"
	var del, add []dns.RR
	if serial != 0 {
		kind = "ixfr_full"
		if !records.SerialLess(serial, soa.Serial) {
			kind = "ixfr_current"
		} else if m.journal != nil {
			var ok bool
			if del, add, ok = m.journal.Since(set, z, serial); ok {
				kind = "ixfr"
			}
		}
	}
	transfers.WithLabelValues(m.key.server, z, kind).Inc()
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
		switch kind {
		case "ixfr_current":
			send([]dns.RR{soa})
		case "ixfr":
			old := dns.Copy(soa).(*dns.SOA)
			old.Serial = serial
			_ = send([]dns.RR{soa, old}) && sendAll(send, del) && send([]dns.RR{soa}) && sendAll(send, add) && send([]dns.RR{soa})
		default:
			batch := make([]dns.RR, 0, xfrBatch)
			ok := true
			set.Walk(z, func(rr dns.RR) bool {
				batch = append(batch, rr)
				if len(batch) == cap(batch) {
					ok = send(batch)
					batch = make([]dns.RR, 0, xfrBatch)
				}
				return ok
			})
			if ok {
				send(append(batch, soa))
			}
		}
	}()
	return ch, nil
}

// sendAll sends rrs in batches.
func sendAll(send func([]dns.RR) bool, rrs []dns.RR) bool {
	for len(rrs) > 0 {
		n := min(len(rrs), xfrBatch)
		if !send(rrs[:n:n]) {
			return false
		}
		rrs = rrs[n:]
	}
	return true
}

// xfrBatch is the records a transfer hands the transfer plugin at a time.
const xfrBatch = 256

// xfrStall is how long a transfer may wait for the client to take the next batch.
var xfrStall = 5 * time.Second
