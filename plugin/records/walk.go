package records

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Walk calls fn with every record of zone in canonical order: SOA, NS, then every name
// from the apex down. It stops when fn returns false.
func (s *Set) Walk(zone string, fn func(dns.RR) bool) {
	if s.reverseZone(zone) {
		s.walkReverse(zone, fn)
		return
	}
	if !fn(s.SOA(zone)) || !fn(s.NS(zone)) {
		return
	}
	for _, n := range s.inOrder() {
		owner := zone
		if n.name != "" {
			owner = n.name + "." + zone
		}
		for _, rr := range s.addrRRs(nil, owner, n.addrs, 0) {
			if !fn(rr) {
				return
			}
		}
		for _, r := range n.srvs {
			rr := &dns.SRV{
				Hdr:    dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: s.ttl},
				Weight: s.srvW, Port: r.port, Target: r.tn.name + "." + zone,
			}
			if !fn(rr) {
				return
			}
		}
	}
}

// inOrder returns the names that hold records, in canonical order: sorted once a set,
// for the transfers and the HTTP API's axfr.
func (s *Set) inOrder() []*node {
	s.sortOnce.Do(func() {
		s.sorted = make([]*node, 0, s.stats.Records)
		for _, sh := range s.shards {
			sh.each(func(n *node) {
				if len(n.addrs)+len(n.srvs) > 0 {
					s.sorted = append(s.sorted, n)
				}
			})
		}
		slices.SortFunc(s.sorted, func(a, b *node) int {
			return CanonicalCompare(a.name, b.name)
		})
	})
	return s.sorted
}

// CanonicalCompare orders names as RFC 4034 §6.1 does: label by label from the right.
func CanonicalCompare(a, b string) int {
	for a != "" || b != "" {
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
		var la, lb string
		la, a = lastLabel(a)
		lb, b = lastLabel(b)
		if c := strings.Compare(la, lb); c != 0 {
			return c
		}
	}
	return 0
}

// lastLabel splits "a.b.c" into "c" and "a.b".
func lastLabel(s string) (label, rest string) {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:], s[:i]
	}
	return s, ""
}

// SerialLess compares SOA serials with RFC 1982 arithmetic.
func SerialLess(a, b uint32) bool { return a != b && b-a < 1<<31 }
