package mesos

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/coredns-mesos/mesos/internal/state"

	"github.com/miekg/dns"
)

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

// Set is an immutable set of records for one or more zones. It is built once from a
// state and then only read, by any number of goroutines without locks; a refresh
// builds a new Set and swaps it in whole.
type Set struct {
	// idx maps a name relative to the zone ("" is the apex) to its node.
	idx   map[string]int32
	nodes []node
	zones []string
	ttl   uint32
	soa   SOAOptions
	srvW  uint16

	hash   uint64
	serial uint32
	stats  Stats

	sortOnce sync.Once
	sorted   []int32
}

type node struct {
	name  string
	addrs []netip.Addr // IPv4 first, then IPv6, sorted, no duplicates
	srvs  []srv
}

type srv struct {
	target int32
	port   uint16
}

// Serial is the SOA serial: it changes only when the records change, and only grows.
func (s *Set) Serial() uint32 { return s.serial }

// Stats describe the build that produced s.
func (s *Set) Stats() Stats { return s.stats }

// TTL is the records' TTL.
func (s *Set) TTL() uint32 { return s.ttl }

// SOA returns a new SOA record for zone.
func (s *Set) SOA(zone string) *dns.SOA {
	mname, mbox := s.soa.Mname, s.soa.Mbox
	if mname == "" {
		mname = "ns1." + zone
	}
	if mbox == "" {
		mbox = "root.ns1." + zone
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
		mname = "ns1." + zone
	}
	return &dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: s.ttl}, Ns: mname}
}

// Len is the number of address and SRV records (per zone, SOA and NS aside).
func (s *Set) Len() int { return s.stats.Records }

// String summarises s for logs.
func (s *Set) String() string {
	return fmt.Sprintf("%d records, %d tasks, %d agents, serial %d", s.stats.Records, s.stats.Tasks, s.stats.Agents, s.serial)
}
