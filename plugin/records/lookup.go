package records

import (
	"hash/maphash"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Lookup answers qname (inside zone, any case) for qtype with whole RRsets. exists
// reports whether the name exists at all, empty non-terminals included, so that an
// empty answer can be told apart as NODATA or NXDOMAIN. The records are new on every
// call; answer owners are qname as asked. SRV answers carry their targets' addresses
// in extra.
func (s *Set) Lookup(qname, zone string, qtype uint16) (answer, extra []dns.RR, exists bool) {
	return s.lookup(qname, zone, qtype, 0, 0)
}

// Exists reports whether qname exists in zone (an empty non-terminal counts).
func (s *Set) Exists(qname, zone string) bool {
	if s.reverseZone(zone) {
		_, ok := s.lookupReverse(qname, zone, dns.TypeNone)
		return ok
	}
	rel, ok := Relative(qname, zone)
	if !ok {
		return false
	}
	return s.find(rel) != nil || s.findDomain(rel) != nil
}

// minRRLen is the smallest an answer record can be on the wire: a compression pointer,
// type, class, TTL, length and four octets of address.
const minRRLen = 16

// minAAAALen is minRRLen for sixteen octets of address.
const minAAAALen = 28

// srvLen is the least an SRV record can take: owner pointer, fixed fields, priority,
// weight and port, and its target: a pointer when the record before named the same
// target, else at least the target's first label and a pointer to the rest.
func srvLen(r *srv, prev string) int {
	if r.tn.name == prev {
		return 2 + 10 + 6 + 2
	}
	return 2 + 10 + 6 + 1 + int(r.first) + 2
}

// srvWindow returns which SRV records to build for a client with room octets (0:
// all), as count records from start on (wrapping around), and a lower bound of the
// octets they take. When they could all fit, all of them, in order; otherwise, from a
// random record on, just enough to be sure not to fit, so that the server truncates
// and sets TC, and every record is served in turn.
func srvWindow(n *node, room int) (start, count, used int) {
	srvs := n.srvs
	if room <= 0 || int(n.srvMin) <= room {
		return 0, len(srvs), int(n.srvMin)
	}
	start = rand.IntN(len(srvs)) // #nosec G404 -- load spreading, not a secret
	prev := "\x00"
	for ; count < len(srvs) && used <= room; count++ {
		r := &srvs[(start+count)%len(srvs)]
		used += srvLen(r, prev)
		prev = r.tn.name
	}
	return start, count, used
}

// srvsLen is the least the SRV records of a name take on the wire, in order.
func srvsLen(srvs []srv) int {
	used, prev := 0, "\x00"
	for i := range srvs {
		used += srvLen(&srvs[i], prev)
		prev = srvs[i].tn.name
	}
	return used
}

// LookupLimit is Lookup for a client that can take size octets (0: no limit). An
// RRset larger than could ever fit is cut to just over what fits, so the server still
// truncates it and sets TC, without building records it would throw away; the part
// kept starts at a random record, so that every record of a large RRset is served
// over UDP in turn, as with shuffling before truncation. A and AAAA answers carry at
// most Options.MaxAnswers records, a window starting at a random one: glibc's
// getaddrinfo sorts what it gets, so that every client of a large app given all its
// addresses would pick the same instance.
func (s *Set) LookupLimit(qname, zone string, qtype uint16, size int) (answer, extra []dns.RR, exists bool) {
	return s.lookup(qname, zone, qtype, size, s.maxAns)
}

// lookup answers for a client that can take size octets, with at most maxAns A or
// AAAA records (0: no bound for either).
func (s *Set) lookup(qname, zone string, qtype uint16, size, maxAns int) (answer, extra []dns.RR, exists bool) {
	if len(s.rzones) > 0 && s.reverseZone(zone) {
		answer, exists = s.lookupReverse(qname, zone, qtype)
		return answer, nil, exists
	}
	rel, ok := Relative(qname, zone)
	if !ok {
		return nil, nil, false
	}
	if rel == "" {
		switch qtype {
		case dns.TypeSOA:
			soa := s.SOA(zone)
			soa.Hdr.Name = qname
			return []dns.RR{soa}, nil, true
		case dns.TypeNS:
			ns := s.NS(zone)
			ns.Hdr.Name = qname
			return []dns.RR{ns}, nil, true
		}
	}
	n := s.find(rel)
	if n == nil {
		if n = s.findDomain(rel); n == nil {
			return nil, nil, false
		}
	}
	// Lower bounds of the reply's size decide what could fit: the header and
	// question, then each record as compressed as it could possibly be.
	room := 0
	if size > 0 {
		room = max(size-(12+len(qname)+1+4), 1)
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		addrs := n.addrs
		v4 := 0
		for v4 < len(addrs) && addrs[v4].Is4() {
			v4++
		}
		per := minRRLen
		if qtype == dns.TypeA {
			addrs = addrs[:v4]
		} else {
			addrs, per = addrs[v4:], minAAAALen
		}
		limit := maxAns
		if room > 0 && (limit == 0 || room/per+1 < limit) {
			limit = room/per + 1
		}
		answer = s.addrRRs(nil, qname, window(addrs, limit), qtype)
	case dns.TypeSRV:
		start, count, used := srvWindow(n, room)
		if count == 0 {
			break
		}
		answer = make([]dns.RR, count)
		slab := make([]dns.SRV, count)
		// Additional records past the client's size would be dropped by truncation
		// anyway, so they are not built.
		first := n.srvs[start].tn.name
		last := "\x00"
		var target string
		for k := range count {
			r := &n.srvs[(start+k)%len(n.srvs)]
			if r.tn.name != last {
				last = r.tn.name
				target = last + "." + zone
				// A wrapped window can end with the target it began with.
				if t := r.targetIn(s); t != nil && (k == 0 || last != first) && (room <= 0 || used+minRRLen*len(t.addrs) <= room) {
					extra = s.addrRRs(extra, target, t.addrs, 0)
					used += minRRLen * len(t.addrs)
				}
			}
			slab[k] = dns.SRV{
				Hdr:    dns.RR_Header{Name: qname, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: s.ttl},
				Weight: s.srvW,
				Port:   r.port,
				Target: target,
			}
			answer[k] = &slab[k]
		}
	}
	return answer, extra, true
}

// window returns all of rs, or, when there are more than limit, limit of them
// starting at a random one (wrapping around).
func window[T any](rs []T, limit int) []T {
	if limit <= 0 || len(rs) <= limit {
		return rs
	}
	start := rand.IntN(len(rs)) // #nosec G404 -- load spreading, not a secret
	out := make([]T, 0, limit)
	out = append(out, rs[start:min(len(rs), start+limit)]...)
	return append(out, rs[:limit-len(out)]...)
}

// addrRRs appends A and/or AAAA records (qtype 0: both). The records and their
// addresses come from one allocation each, however many there are.
func (s *Set) addrRRs(out []dns.RR, owner string, addrs []netip.Addr, qtype uint16) []dns.RR {
	n4, n6 := 0, 0
	for _, a := range addrs {
		if a.Is4() {
			n4++
		} else {
			n6++
		}
	}
	if qtype == dns.TypeAAAA {
		n4 = 0
	}
	if qtype == dns.TypeA {
		n6 = 0
	}
	if n4+n6 == 0 {
		return out
	}
	if out == nil {
		out = make([]dns.RR, 0, n4+n6)
	}
	ips := make([]byte, 4*n4+16*n6)
	var as []dns.A
	var aaaas []dns.AAAA
	if n4 > 0 {
		as = make([]dns.A, 0, n4)
	}
	if n6 > 0 {
		aaaas = make([]dns.AAAA, 0, n6)
	}
	for _, a := range addrs {
		is4 := a.Is4()
		if is4 && n4 == 0 || !is4 && n6 == 0 {
			continue
		}
		v := a.As16()
		raw := v[:]
		if is4 {
			raw = v[12:]
		}
		ip := net.IP(ips[:len(raw):len(raw)])
		ips = ips[len(raw):]
		copy(ip, raw)
		hdr := dns.RR_Header{Name: owner, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: s.ttl}
		if is4 {
			hdr.Rrtype = dns.TypeA
			as = append(as, dns.A{Hdr: hdr, A: ip})
			out = append(out, &as[len(as)-1])
		} else {
			aaaas = append(aaaas, dns.AAAA{Hdr: hdr, AAAA: ip})
			out = append(out, &aaaas[len(aaaas)-1])
		}
	}
	return out
}

// Relative strips zone from qname; ok is false when qname is not inside zone. The
// result keeps qname's case: find lowercases it without allocating.
func Relative(qname, zone string) (string, bool) {
	if len(qname) < len(zone) || !strings.EqualFold(qname[len(qname)-len(zone):], zone) {
		return "", false
	}
	rel := qname[:len(qname)-len(zone)]
	if rel == "" {
		return "", true
	}
	if rel[len(rel)-1] != '.' {
		return "", false
	}
	return rel[:len(rel)-1], true
}

// find looks rel up case-insensitively. Mixed-case names (DNS 0x20 resolvers send
// them) are lowered in a stack buffer, so a lookup still allocates nothing.
func (s *Set) find(rel string) *node {
	upper := false
	for i := range len(rel) {
		if c := rel[i]; c >= 'A' && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		return getIn(s.shards, s.mask, rel)
	}
	var buf [maxName + 1]byte
	if len(rel) > len(buf) {
		return nil
	}
	b := buf[:len(rel)]
	for i := range len(rel) {
		c := rel[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return getBytesIn(s.shards, s.mask, b)
}

// getIn returns the node named name (lower case) in shards, nil when there is none.
func getIn(shards []*shard, mask uint64, name string) *node {
	h := maphash.String(nameSeed, name)
	return shards[h&mask].get(name, h)
}

// getBytesIn is getIn for a name in a buffer, without allocating.
func getBytesIn(shards []*shard, mask uint64, name []byte) *node {
	h := maphash.Bytes(nameSeed, name)
	return shards[h&mask].getBytes(name, h)
}
