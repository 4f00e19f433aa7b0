package records

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/miekg/dns"
)

// The journal: what changed from one published set to the next, kept for the last
// serials so that a secondary holding one of them is sent only the difference
// (IXFR, RFC 1995) instead of the whole zone.
//
// A difference is found by what the sets share: the next set holds every shard and
// every node a change did not touch as the very same pointer (see tree), so only the
// shards and nodes that are new are compared, name by name. Finding one costs what
// the change touched, as publishing it did.

// Change is one record added to or deleted from the zones. Name is relative to the
// forward zones (every one of them holds it), or a whole reverse name for a PTR
// record; Target is an SRV or PTR record's target, relative to the forward zones.
type Change struct {
	Name   string
	Target string
	Addr   netip.Addr
	Port   uint16
	Type   uint16
	Del    bool
}

// step is the difference between two sets, named by their serials and their
// records' hashes: two writers may publish different sets under one serial (an old
// instance and its successor during a reload), and only a step from the very set the
// last one ended at continues the journal.
type step struct {
	from, to         uint32
	fromHash, toHash uint64
	fwd, rev         []Change
}

// Journal keeps the differences between the last sets published, up to a number of
// records. Its writer is the goroutine that publishes the sets; transfers read it.
type Journal struct {
	mu sync.RWMutex
	// limit bounds the changes held; 0 holds as many as the zone has records.
	limit int
	steps []step
	held  int
}

// NewJournal returns a journal that holds up to limit changes, or (limit 0) as many as
// the last set has records.
func NewJournal(limit int) *Journal { return &Journal{limit: limit} }

// Record adds the difference from prev to next, both published by the caller in
// turn. Sets that cannot be compared (none before, other zones or options) start the
// journal afresh: a secondary behind them gets the whole zone.
func (j *Journal) Record(prev, next *Set) {
	if prev == nil || next == nil || prev.serial == next.serial {
		return
	}
	if !comparable(prev, next) {
		j.Reset()
		return
	}
	st := step{from: prev.serial, to: next.serial, fromHash: prev.hash, toHash: next.hash}
	st.fwd = diffTrees(prev.shards, prev.mask, next.shards, next.mask, false)
	st.rev = diffTrees(prev.rev, prev.rmask, next.rev, next.rmask, true)
	limit := j.limit
	if limit == 0 {
		limit = next.Len()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.steps); n > 0 && (j.steps[n-1].to != st.from || j.steps[n-1].toHash != st.fromHash) {
		// Not from the set the journal ended at: another writer's, or a set
		// published without its difference. Nothing before it can be trusted.
		j.steps, j.held = nil, 0
	}
	j.steps = append(j.steps, st)
	j.held += len(st.fwd) + len(st.rev)
	drop := 0
	for j.held > limit && drop < len(j.steps) {
		j.held -= len(j.steps[drop].fwd) + len(j.steps[drop].rev)
		drop++
	}
	if drop > 0 {
		clear(j.steps[:drop])
		j.steps = j.steps[drop:]
	}
}

// Limit is the bound the journal was made with (NewJournal's).
func (j *Journal) Limit() int { return j.limit }

// Reset drops every difference held.
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.steps, j.held = nil, 0
}

// Held returns the changes the journal holds and the serial it reaches back to (ok
// false when it holds none).
func (j *Journal) Held() (changes int, oldest uint32, ok bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if len(j.steps) == 0 {
		return 0, 0, false
	}
	return j.held, j.steps[0].from, true
}

// comparable reports whether two sets' records are written alike, so that the
// difference of their nodes is the difference of their records (the SOA's options
// give the NS record's target).
func comparable(a, b *Set) bool {
	return a.ttl == b.ttl && a.srvW == b.srvW && a.soa == b.soa && slices.Equal(a.zones, b.zones) && slices.Equal(a.rzones, b.rzones)
}

// Since returns the records of zone that the changes from serial to set's serial
// deleted and added, each once (a record deleted and added again is in neither), for
// an IXFR of set. ok is false when the journal does not reach from serial to set, or
// when the difference holds more records than the zone itself: the client is sent
// the whole zone then.
func (j *Journal) Since(set *Set, zone string, serial uint32) (del, add []dns.RR, ok bool) {
	j.mu.RLock()
	first := -1
	for i, st := range j.steps {
		if st.from == serial {
			first = i
			break
		}
	}
	var steps []step
	if first >= 0 {
		for _, st := range j.steps[first:] {
			steps = append(steps, st)
			if st.to == set.serial {
				break
			}
		}
	}
	j.mu.RUnlock()
	if len(steps) == 0 || steps[len(steps)-1].to != set.serial || steps[len(steps)-1].toHash != set.hash {
		return nil, nil, false
	}
	rev := set.reverseZone(zone)
	if !rev && !slices.Contains(set.zones, zone) {
		return nil, nil, false
	}
	// Each record's first and last change say whether it was there at serial and
	// whether it is there now.
	type fate struct {
		c       Change
		was, is bool
	}
	fates := make(map[string]*fate)
	var order []*fate
	for _, st := range steps {
		changes := st.fwd
		if rev {
			changes = st.rev
		}
		for _, c := range changes {
			if rev {
				if r, in := Relative(c.Name+".", zone); !in || r == "" {
					continue
				}
			}
			k := c.key()
			f := fates[k]
			if f == nil {
				f = &fate{c: c, was: c.Del}
				fates[k] = f
				order = append(order, f)
			}
			f.is = !c.Del
		}
	}
	size := set.zoneLen(zone)
	for _, f := range order {
		switch {
		case f.was && !f.is:
			del = append(del, set.changeRR(f.c, zone, rev))
		case !f.was && f.is:
			add = append(add, set.changeRR(f.c, zone, rev))
		}
	}
	if len(del)+len(add) > size {
		return nil, nil, false
	}
	return del, add, true
}

// key names a record whatever its change.
func (c Change) key() string {
	b := make([]byte, 0, len(c.Name)+len(c.Target)+21)
	b = append(b, c.Name...)
	b = binary.BigEndian.AppendUint16(append(b, 0), c.Type)
	switch c.Type {
	case dns.TypeA, dns.TypeAAAA:
		v := c.Addr.As16()
		b = append(b, v[:]...)
	default:
		b = append(binary.BigEndian.AppendUint16(b, c.Port), c.Target...)
	}
	return string(b)
}

// changeRR writes a change's record as a transfer of zone sends it.
func (s *Set) changeRR(c Change, zone string, rev bool) dns.RR {
	if rev {
		return &dns.PTR{Hdr: dns.RR_Header{Name: c.Name + ".", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: s.ttl}, Ptr: c.Target + "." + s.zones[0]}
	}
	owner := zone
	if c.Name != "" {
		owner = c.Name + "." + zone
	}
	hdr := dns.RR_Header{Name: owner, Rrtype: c.Type, Class: dns.ClassINET, Ttl: s.ttl}
	switch c.Type {
	case dns.TypeA:
		v := c.Addr.As4()
		return &dns.A{Hdr: hdr, A: net.IP(v[:])}
	case dns.TypeAAAA:
		v := c.Addr.As16()
		return &dns.AAAA{Hdr: hdr, AAAA: net.IP(v[:])}
	}
	return &dns.SRV{Hdr: hdr, Weight: s.srvW, Port: c.Port, Target: c.Target + "." + zone}
}

// zoneLen is the records of zone besides its SOA and NS: a transfer of it sends
// these.
func (s *Set) zoneLen(zone string) int {
	if !s.reverseZone(zone) {
		return s.Len()
	}
	n := -2
	s.walkReverse(zone, func(dns.RR) bool {
		n++
		return true
	})
	return n
}

// diffTrees returns the changes from the nodes of one tree to another's: shards
// shared by both are passed over, and so are nodes shared by the shards compared.
func diffTrees(a []*shard, amask uint64, b []*shard, bmask uint64, rev bool) []Change {
	var out []Change
	if amask != bmask || len(a) != len(b) {
		// Resharded: every name is compared.
		for _, sh := range b {
			sh.each(func(n *node) { out = diffNode(out, getIn(a, amask, n.name), n, rev) })
		}
		for _, sh := range a {
			sh.each(func(o *node) {
				if getIn(b, bmask, o.name) == nil {
					out = diffNode(out, o, nil, rev)
				}
			})
		}
		return out
	}
	for i := range b {
		sa, sb := a[i], b[i]
		if sa == sb {
			continue
		}
		sb.each(func(n *node) {
			o := sa.get(n.name, n.nh)
			if o != n {
				out = diffNode(out, o, n, rev)
			}
		})
		sa.each(func(o *node) {
			if sb.get(o.name, o.nh) == nil {
				out = diffNode(out, o, nil, rev)
			}
		})
	}
	return out
}

// diffNode appends the changes from node o's records to node n's (either may be nil).
func diffNode(out []Change, o, n *node, rev bool) []Change {
	var name string
	if n != nil {
		name = n.name
	} else {
		name = o.name
	}
	if rev {
		// A reverse name has one PTR record when one task holds its address.
		ot, nt := "", ""
		if o != nil && len(o.srvs) == 1 && o.name != "" {
			ot = o.srvs[0].tn.name
		}
		if n != nil && len(n.srvs) == 1 && n.name != "" {
			nt = n.srvs[0].tn.name
		}
		if ot != nt {
			if ot != "" {
				out = append(out, Change{Name: name, Type: dns.TypePTR, Target: ot, Del: true})
			}
			if nt != "" {
				out = append(out, Change{Name: name, Type: dns.TypePTR, Target: nt})
			}
		}
		return out
	}
	var oa, na []netip.Addr
	var os, ns []srv
	if o != nil {
		oa, os = o.addrs, o.srvs
	}
	if n != nil {
		na, ns = n.addrs, n.srvs
	}
	// Both address lists are sorted and hold no duplicate; so are both SRV lists, by
	// target name then port.
	out = mergeDiff(out, oa, na, netip.Addr.Compare, func(a netip.Addr, del bool) Change {
		return Change{Name: name, Type: addrType(a), Addr: a, Del: del}
	})
	return mergeDiff(out, os, ns, srvCompare, func(r srv, del bool) Change {
		return Change{Name: name, Type: dns.TypeSRV, Port: r.port, Target: r.tn.name, Del: del}
	})
}

// mergeDiff appends what is in old and not in next as deletions, and the reverse as
// additions: both sorted by cmp, without duplicates.
func mergeDiff[T any](out []Change, old, next []T, cmp func(T, T) int, change func(T, bool) Change) []Change {
	i, k := 0, 0
	for i < len(old) || k < len(next) {
		var c int
		switch {
		case i == len(old):
			c = 1
		case k == len(next):
			c = -1
		default:
			c = cmp(old[i], next[k])
		}
		switch {
		case c < 0:
			out = append(out, change(old[i], true))
			i++
		case c > 0:
			out = append(out, change(next[k], false))
			k++
		default:
			i++
			k++
		}
	}
	return out
}

func addrType(a netip.Addr) uint16 {
	if a.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}
