package mesos

import (
	"errors"

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
		return nil, errNotLoaded
	}
	ch := make(chan []dns.RR)
	go func() {
		defer close(ch)
		soa := set.SOA(z)
		if serial != 0 && !serialLess(serial, soa.Serial) {
			ch <- []dns.RR{soa}
			return
		}
		batch := make([]dns.RR, 0, 256)
		set.Walk(z, func(rr dns.RR) bool {
			batch = append(batch, rr)
			if len(batch) == cap(batch) {
				ch <- batch
				batch = make([]dns.RR, 0, 256)
			}
			return true
		})
		ch <- append(batch, soa)
	}()
	return ch, nil
}

// serialLess compares SOA serials with RFC 1982 arithmetic.
func serialLess(a, b uint32) bool { return a != b && b-a < 1<<31 }

var errNotLoaded = errors.New("mesos: no state loaded yet")
