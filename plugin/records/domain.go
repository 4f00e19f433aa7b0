package records

import (
	"net/netip"
	"slices"
	"strings"
)

// The names by fault domain (naming.md): Z.pin._zone.N, Z.prefer._zone.N,
// R.pin._region.N and R.prefer._region.N, for every name N that gathers a task
// group's instances. They are computed when asked for, from N's records and the fault
// domain of each instance's agent: they cost no memory per name, and a zone transfer
// does not list them.

// Labels of the names by fault domain. No task or framework name makes a label that
// starts with "_", so none can fall on them.
const (
	labelZone   = "_zone"
	labelRegion = "_region"
	labelPin    = "pin"
	labelPrefer = "prefer"
)

// domainName is a name by fault domain, taken apart.
type domainName struct {
	// base is N; value is Z or R.
	base, value string
	// region: by region, not zone; pref: prefer, not pin.
	region, pref bool
	// emptyNonTerm is one of the names above the others (pin._zone.N, _zone.N):
	// they exist, with no records.
	emptyNonTerm bool
}

// parseDomainName takes rel (lower case) apart when it is a name by fault domain.
func parseDomainName(rel string) (dn domainName, ok bool) {
	// Cheap for every other name: this runs on each name the set does not hold.
	if strings.IndexByte(rel, '_') < 0 {
		return dn, false
	}
	l0, rest, _ := strings.Cut(rel, ".")
	scope := func(l string) (region, ok bool) {
		switch l {
		case labelZone:
			return false, true
		case labelRegion:
			return true, true
		}
		return false, false
	}
	kind := func(l string) (pref, ok bool) {
		switch l {
		case labelPin:
			return false, true
		case labelPrefer:
			return true, true
		}
		return false, false
	}
	// _zone.N
	if region, ok := scope(l0); ok && rest != "" {
		return domainName{base: rest, region: region, emptyNonTerm: true}, true
	}
	l1, rest2, _ := strings.Cut(rest, ".")
	// pin._zone.N
	if pref, ok := kind(l0); ok {
		if region, ok := scope(l1); ok && rest2 != "" {
			return domainName{base: rest2, region: region, pref: pref, emptyNonTerm: true}, true
		}
		return dn, false
	}
	// Z.pin._zone.N
	pref, ok := kind(l1)
	if !ok || l0 == "" {
		return dn, false
	}
	l2, base, _ := strings.Cut(rest2, ".")
	region, ok := scope(l2)
	if !ok || base == "" {
		return dn, false
	}
	return domainName{base: base, value: l0, region: region, pref: pref}, true
}

// findDomain returns the node a name by fault domain answers with, made for this
// query, or nil when the name does not exist: its N is not a name that gathers a task
// group. Its records are the set's; the node is the caller's.
func (s *Set) findDomain(rel string) *node {
	if strings.IndexByte(rel, '_') < 0 {
		// Every other miss, without lowering a mixed-case (0x20) name.
		return nil
	}
	dn, ok := parseDomainName(strings.ToLower(rel))
	if !ok {
		return nil
	}
	base := s.find(dn.base)
	if base == nil {
		return nil
	}
	// A name that gathered a group and now stands only for names below it (an empty
	// non-terminal) gathers none.
	isGroup := base.inst&instGroup != 0 && base.own > 0
	isSRVGroup := len(base.srvs) > 0 && base.srvs[0].tn.inst&instDomain != 0
	if !isGroup && !isSRVGroup {
		return nil
	}
	if dn.emptyNonTerm {
		return &node{name: rel}
	}
	// Without lists no agent is in a fault domain: pin picks nothing. T.F.slave's
	// tasks are T.F's; a list of its own name would be a framework's named F.slave,
	// whose T.F names are reserved (never a group: naming.md, "Reserved names").
	var list *node
	agentNames := false
	if tf, ok := strings.CutSuffix(dn.base, ".slave"); ok && isGroup {
		list = s.findInst(tf)
		agentNames = list != nil
	}
	if list == nil {
		list = s.findInst(dn.base)
	}
	in := func(inst uint16) bool {
		inst &= instDomain
		if inst <= 1 || int(inst-1) >= len(s.doms) {
			// Not a task's name, or a task on an agent in no domain.
			return false
		}
		d := s.doms[inst-1]
		if dn.region {
			return d[0] == dn.value
		}
		return d[1] == dn.value
	}
	n := &node{name: rel}
	if list != nil {
		for i := range list.srvs {
			t := list.srvs[i].targetIn(s)
			if t == nil || !in(t.inst) {
				continue
			}
			switch isAgent := t.inst&instAgent != 0; {
			case agentNames && !isAgent:
				// C.F.slave is C.F's name and ".slave".
				t = s.findAgentName(t.name)
			case !agentNames && isAgent:
				// A task with no C.F: none of its addresses is T.F's to pick by name.
				t = nil
			}
			if t != nil {
				n.addrs = append(n.addrs, t.addrs...)
			}
		}
		if len(n.addrs) > 0 {
			slices.SortFunc(n.addrs, netip.Addr.Compare)
			n.addrs = slices.Compact(n.addrs)
		}
	}
	if isSRVGroup {
		for i := range base.srvs {
			if t := base.srvs[i].targetIn(s); t != nil && in(t.inst) {
				n.srvs = append(n.srvs, base.srvs[i])
			}
		}
		n.srvMin = int32(srvsLen(n.srvs)) // #nosec G115 -- at most the records of one name
	}
	if dn.pref && len(n.addrs)+len(n.srvs) == 0 {
		// No instance in the domain: every instance. Only the fields a lookup reads
		// are taken: a published node's others are the writer's (replaced).
		return &node{name: rel, addrs: base.addrs, srvs: base.srvs, srvMin: base.srvMin}
	}
	return n
}

// findAgentName returns the node of the task name cf (C.F) and ".slave", if any.
func (s *Set) findAgentName(cf string) *node {
	var buf [maxName + 1]byte
	k := append(append(buf[:0], cf...), ".slave"...)
	if len(k) > maxName {
		return nil
	}
	return getBytesIn(s.shards, s.mask, k)
}

// findInst returns the inst tree's node for the group name rel (lower case), nil when
// there is none.
func (s *Set) findInst(rel string) *node {
	if s.inst == nil {
		return nil
	}
	n := getIn(s.inst, s.imask, rel)
	if n == nil || len(n.srvs) == 0 {
		return nil
	}
	return n
}
