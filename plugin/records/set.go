package records

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

// ErrNoRecords is the one way to say there is no record set yet: none was loaded from
// the masters, nor handed over by a reload. Queries are answered SERVFAIL, a transfer
// is refused, the HTTP API answers 503.
var ErrNoRecords = errors.New("no records yet")

// Stats describe what a build produced and what it left out.
type Stats struct {
	Agents     int
	Frameworks int
	// Tasks is the number of running tasks that got records.
	Tasks   int
	Records int
	// Unhealthy is the number of running tasks left out by HealthyOnly.
	Unhealthy int
	// Skipped counts entities left out by the decoder and the builder, by reason.
	Skipped state.Skips
}

// Set is an immutable set of records for one or more zones, read by any number of
// goroutines without locks. Its names are spread over shards by hash; the next set
// shares every shard and every name that a change did not touch (see tree), so that
// publishing a change costs what the change touched, not what the cluster holds.
type Set struct {
	shards []*shard
	mask   uint64
	gen    uint64 // the tree's batch that made it
	zones  []string
	ttl    uint32
	soa    SOAOptions
	srvW   uint16
	// maxAns is Options.MaxAnswers.
	maxAns int

	hash   uint64
	serial uint32
	stats  Stats

	sortOnce sync.Once
	sorted   []*node

	// The PTR records of the reverse zones: names are whole reverse names without
	// the final dot, each with one srv-like record a task that holds the address.
	rev       []*shard
	rmask     uint64
	rzones    []string
	rsortOnce sync.Once
	rsorted   []*node

	// The tasks of each group name, for the names by fault domain (domain.go): inst
	// holds, under T.F, an srv-like record per task pointing at its canonical name;
	// doms are the fault domains' labels, region and zone, by number.
	inst  []*shard
	imask uint64
	doms  [][2]string
}

// node is one name and its records. Lookups read name, addrs and srvs; the rest is the
// writer's bookkeeping. A published node is never written again: the writer changes a
// copy (tree.get).
type node struct {
	// What lookups read comes first: an SRV answer's additional section reads the
	// target's addresses, name and replaced, on one cache line.
	addrs []netip.Addr // IPv4 first, then IPv6, sorted, no duplicates
	name  string
	// replaced is the batch whose set no longer holds this node (a copy or nothing in
	// its place), zero while it is current. The writer stores it, lookups load it, so
	// that an SRV record's pointer to its target can be trusted (srv.targetIn).
	replaced uint64
	srvs     []srv // by target name, then port, no duplicates

	// arefs counts, per address, the contributions (tasks, agents...) that give it; an
	// srv counts its own in ref.
	arefs []int32
	nh    uint64 // hash of the name
	// The fields below are ordered so that a node takes 128 octets.
	srvMin int32 // the least its SRV records take on the wire (srvsLen)
	// own counts the contributions that name this node, kids its live children: the
	// node exists while either is above zero (an empty non-terminal has only kids).
	own, kids int32
	// The first sortedA addresses and sortedS SRV records are in order; what a batch
	// appends after them is sorted when it is sealed.
	sortedA, sortedS int32
	// batch marks a node created or copied by the batch under way: the writer may
	// change it. Sealing clears it before the node is published.
	batch bool
	// inst is, on a task's canonical name (C.F or C.F.slave), 1 + the number of its
	// agent's fault domain (Set.doms), and 0 on every other name; instGroup marks a
	// name that gathers a task group's addresses (T.F, T.F.slave), instAgent C.F.slave.
	inst uint16
}

// The bits of node.inst: instGroup marks a group name, instAgent a task's canonical
// agent name (C.F.slave), and the bits of instDomain hold a canonical name's domain.
const (
	instGroup  = 1 << 15
	instAgent  = 1 << 14
	instDomain = instAgent - 1
)

type srv struct {
	// tn is the target's node as it was when the record was added or last sealed;
	// every copy of a node has the same name.
	tn    *node
	port  uint16
	first uint16 // the length of the target's first label
	ref   int32
}

// targetIn returns r's target as set s holds it.
func (r *srv) targetIn(s *Set) *node {
	if g := atomic.LoadUint64(&r.tn.replaced); g == 0 || g > s.gen {
		return r.tn
	}
	return s.find(r.tn.name)
}

func (n *node) live() bool { return n.own > 0 || n.kids > 0 }

// Serial is the SOA serial: it changes only when the records change, and only grows.
func (s *Set) Serial() uint32 { return s.serial }

// Stats describe the build that produced s.
func (s *Set) Stats() Stats { return s.stats }

// TTL is the records' TTL.
func (s *Set) TTL() uint32 { return s.ttl }

// SOA returns a new SOA record for zone.
func (s *Set) SOA(zone string) *dns.SOA {
	mname, mbox := s.soa.Mname, s.soa.Mbox
	if mname == "" || mbox == "" {
		ns := s.defaultNS(zone)
		if mname == "" {
			mname = ns
		}
		if mbox == "" {
			mbox = "root." + ns
		}
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.ttl},
		Ns:      mname,
		Mbox:    mbox,
		Serial:  s.serial,
		Refresh: s.soa.Refresh,
		Retry:   s.soa.Retry,
		Expire:  s.soa.Expire,
		Minttl:  s.soa.Minimum,
	}
}

// NS returns a new NS record for zone.
func (s *Set) NS(zone string) *dns.NS {
	mname := s.soa.Mname
	if mname == "" {
		mname = s.defaultNS(zone)
	}
	return &dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: s.ttl}, Ns: mname}
}

// defaultNS is zone's SOA primary and NS target when soa_mname is not set: ns1.ZONE,
// which has the server's addresses. A reverse zone has no such name (its names are
// addresses), so it takes the first forward zone's.
func (s *Set) defaultNS(zone string) string {
	if s.reverseZone(zone) {
		zone = s.zones[0]
	}
	return "ns1." + zone
}

// Len is the number of address and SRV records (per zone, SOA and NS aside).
func (s *Set) Len() int { return s.stats.Records }

// String summarises s for logs.
func (s *Set) String() string {
	return fmt.Sprintf("%d records, %d tasks, %d agents, serial %d", s.stats.Records, s.stats.Tasks, s.stats.Agents, s.serial)
}
