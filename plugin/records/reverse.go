package records

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// The reverse zones: a PTR for each task address that exactly one running task holds,
// to that task's canonical name C.F.D in the first forward zone. An address several
// tasks hold (host networking) has its name, and no PTR: no guess.

// reverseZone reports whether zone is one of s's reverse zones.
func (s *Set) reverseZone(zone string) bool {
	return len(s.rzones) > 0 && slices.Contains(s.rzones, zone)
}

// findRev returns the reverse tree's node for qname, any case, with or without the
// final dot.
func (s *Set) findRev(qname string) *node {
	if len(s.rev) == 0 {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(qname, "."))
	return getIn(s.rev, s.rmask, name)
}

// ptrTarget is the PTR record's target of n, "" when n has none (an empty
// non-terminal, or an address several tasks hold).
func (s *Set) ptrTarget(n *node) string {
	if len(n.srvs) != 1 {
		return ""
	}
	return n.srvs[0].tn.name + "." + s.zones[0]
}

// lookupReverse is LookupLimit for a reverse zone.
func (s *Set) lookupReverse(qname, zone string, qtype uint16) (answer []dns.RR, exists bool) {
	rel, ok := Relative(qname, zone)
	if !ok {
		return nil, false
	}
	if rel == "" {
		switch qtype {
		case dns.TypeSOA:
			soa := s.SOA(zone)
			soa.Hdr.Name = qname
			return []dns.RR{soa}, true
		case dns.TypeNS:
			ns := s.NS(zone)
			ns.Hdr.Name = qname
			return []dns.RR{ns}, true
		}
		return nil, true
	}
	n := s.findRev(qname)
	if n == nil {
		return nil, false
	}
	if t := s.ptrTarget(n); t != "" && qtype == dns.TypePTR {
		answer = []dns.RR{&dns.PTR{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: s.ttl}, Ptr: t}}
	}
	return answer, true
}

// walkReverse is Walk for a reverse zone.
func (s *Set) walkReverse(zone string, fn func(dns.RR) bool) {
	s.rsortOnce.Do(func() {
		for _, sh := range s.rev {
			sh.each(func(n *node) {
				if len(n.srvs) == 1 {
					s.rsorted = append(s.rsorted, n)
				}
			})
		}
		slices.SortFunc(s.rsorted, func(a, b *node) int { return CanonicalCompare(a.name, b.name) })
	})
	if !fn(s.SOA(zone)) || !fn(s.NS(zone)) {
		return
	}
	for _, n := range s.rsorted {
		owner := n.name + "."
		if rel, ok := Relative(owner, zone); !ok || rel == "" {
			continue
		}
		if !fn(&dns.PTR{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: s.ttl}, Ptr: s.ptrTarget(n)}) {
			return
		}
	}
}
