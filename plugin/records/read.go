package records

import (
	"net/netip"
	"strings"
)

// Name is a name of a set and its records, for readers outside this package (the
// HTTP API) that must not depend on how the set keeps them. What it returns is the
// set's own: read it, never change it.
type Name struct {
	s *Set
	n *node
}

// Find returns the name rel, relative to the zone ("" is the apex), if s has it:
// with records, or as an empty non-terminal.
//
// The names by fault domain (Z.pin._zone.N...) are found too, made for the call: their
// answers change when N's records, or its tasks' agents, do (Derived).
func (s *Set) Find(rel string) (Name, bool) {
	n := s.find(rel)
	if n == nil {
		if n = s.findDomain(rel); n == nil {
			return Name{}, false
		}
	}
	return Name{s, n}, true
}

// Derived returns, for a name by fault domain, the name N whose tasks it picks from:
// its answer changes only when N's records, or the agents of N's tasks, do (N is
// touched then). ok is false for every other name.
func Derived(rel string) (base string, ok bool) {
	dn, ok := parseDomainName(strings.ToLower(rel))
	return dn.base, ok
}

// Names calls fn with each name that holds records, in canonical order (a zone
// transfer's). It stops when fn returns false.
func (s *Set) Names(fn func(Name) bool) {
	for _, n := range s.inOrder() {
		if !fn(Name{s, n}) {
			return
		}
	}
}

// Rel is the name relative to the zone, "" for the apex.
func (nm Name) Rel() string { return nm.n.name }

// Addrs are the name's addresses, IPv4 first, each sorted.
func (nm Name) Addrs() []netip.Addr { return nm.n.addrs }

// SRVs is the number of the name's SRV records.
func (nm Name) SRVs() int { return len(nm.n.srvs) }

// SRV returns the name's i-th SRV record (by target name, then port): its target and
// its port.
func (nm Name) SRV(i int) (target Name, port uint16) {
	r := &nm.n.srvs[i]
	return Name{nm.s, r.targetIn(nm.s)}, r.port
}
