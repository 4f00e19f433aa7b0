// Package mesos is a CoreDNS plugin that serves Apache Mesos service discovery names
// (those of Mesos-DNS) from the leading master's state.
package mesos

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-mesos/mesos/plugin/api"
	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

var log = clog.NewWithPlugin(pluginName)

// Mesos is the plugin handler. It answers from a record set that the follower of the
// masters replaces whole and queries read without locks. Its other fields are grouped
// by the goroutines that may touch them, each group a type of its own.
type Mesos struct {
	// The handler's: what queries read. Next, Zones and Fall are set at setup; set is
	// nil until the first records are loaded or handed over (records.ErrNoRecords), then the
	// follower replaces it whole.
	Next  plugin.Handler
	Zones []string
	Fall  fall.F
	set   atomic.Pointer[records.Set]
	// lastOK is when the records were last refreshed, in unix nanoseconds (0: never):
	// the follower writes it, the instance after a reload reads it (handed.lastOK).
	lastOK atomic.Int64

	// The block: set at setup, completed at startup before any of the block's
	// goroutines runs (the transfer plugin, the NS addresses), read-only from then on.
	cfg  *config
	key  handoffKey
	bind []string           // the server block's listen addresses
	xfer *transfer.Transfer // the server block's transfer plugin, if any
	// signed: the server block's dnssec plugin signs the answers. A query with the DO
	// bit then gets whole RRsets, the same on every query, whose signatures the
	// signer caches; one that does not fit is truncated (TC) for TCP.
	signed bool
	// journal keeps the differences between the last serials for IXFR; nil with
	// ixfr_journal 0. The follower writes it, transfers read it, under its own lock.
	journal *records.Journal

	follower follower                   // the refresh goroutine's
	zk       zkElection                 // ZooKeeper's word: its detector writes, the follower reads
	httpAPI  atomic.Pointer[api.Server] // the HTTP API while it listens: started and stopped under life.mu
	life     lifecycle                  // caddy's start, stop and reload callbacks', under life.mu
}

// follower is the refresh goroutine's (run, and all it calls): what it keeps from one
// refresh, and one stream, to the next. start sets up the first five before that
// goroutine runs; from then on nothing else touches the fields.
type follower struct {
	// updater builds the records from the states and the events. The HTTP API holds
	// it too, to enumerate the tasks, which the updater does under its own lock.
	updater *records.Updater
	// guard holds back a state that would drop most records, and keeps the tasks of
	// the agents that have not re-registered after a failover.
	guard *records.Failover
	// notify sends the secondaries NOTIFY when the serial changes; nil without any.
	notify *notifier
	// handOn is what this instance hands on across a reload: each set published goes
	// in.
	handOn *handed
	// metrics are the block's series, curried by its server and zone.
	metrics *blockMetrics

	leader   *url.URL // the master the last good state came from
	failures int      // the refreshes that failed since the last good one
	held     holdBack
	// pids are the scheduler pids, which the event stream lacks; cluster is the
	// stream's view, kept from one stream to the next: a resync's snapshot keeps the
	// values that did not change (state.Cluster's reset).
	pids    map[string]state.PID
	cluster *state.Cluster
}

// holdBack is what the failover guard holds back, as the follower last heard from it.
type holdBack struct {
	// drop: the last state would drop most records, and waits for a second look.
	drop bool
	// tasks are the tasks of agents not re-registered yet that the last state
	// published kept.
	tasks int
}

// keepsTasks says the last state published kept tasks of agents that have not
// re-registered: until none is left, every state goes through the guard whole, which
// lets them go as their agents come back or their bound passes.
func (h holdBack) keepsTasks() bool { return h.tasks > 0 }

// zkElection is ZooKeeper's word on the masters, on a block that finds them there. Its
// detector's goroutine writes it; the follower, and the masters' client on its behalf
// (zkURLs), read it.
type zkElection struct {
	// masters are the masters in election order, the leader first; nil until
	// ZooKeeper has named them.
	masters atomic.Pointer[[]state.PID]
	// changed wakes the follower when masters changes. start makes it before the
	// detector runs; nil without ZooKeeper.
	changed chan struct{}
}

// lifecycle is the block's background work as caddy's callbacks (start, stop,
// restarting, restartFailed) start and stop it, from caddy's goroutines: under mu.
type lifecycle struct {
	mu sync.Mutex
	// handOn is this instance's entry in handoff (the follower's handOn): start
	// publishes it, a failed reload again; stop removes it unless a newer instance
	// replaced it.
	handOn *handed
	// updater is the follower's, for the HTTP API that start and a failed reload
	// start (startAPI).
	updater *records.Updater
	// restartSeq is running.seq when a reload began: the instances started after it
	// are the reload's, stopped if it fails. Under running's lock, with the list.
	restartSeq uint64
	// cancel ends the background work, nil when none runs; done is closed when it has
	// ended.
	cancel context.CancelFunc
	done   chan struct{}
	client *master.Client
}

// Name implements plugin.Handler.
func (m *Mesos) Name() string { return pluginName }

// Ready implements ready.Readiness: ready once a first state is loaded.
func (m *Mesos) Ready() bool { return m.set.Load() != nil }

// maxUDP is the largest DNS message one UDP datagram over IPv4 carries (65535 less
// the IPv4 and UDP headers). A client may offer an EDNS0 size of 65535; a reply sized
// to that could not be sent at all.
const maxUDP = 65535 - 20 - 8

// ServeDNS implements plugin.Handler.
func (m *Mesos) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	qname := state.Name()
	zone := plugin.Zones(m.Zones).Matches(qname)
	if zone == "" {
		return plugin.NextOrFailure(m.Name(), m.Next, ctx, w, r)
	}
	if r.Opcode != dns.OpcodeQuery {
		// NOTIFY, UPDATE and the rest: this zone has no primary to hear from.
		return dns.RcodeNotImplemented, nil
	}
	qtype := state.QType()
	if qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
		// Only the transfer plugin, in front of this one, may hand out the zone.
		return dns.RcodeRefused, nil
	}

	set := m.set.Load()
	if set == nil {
		// records.ErrNoRecords: an NXDOMAIN now would be cached as a lie.
		return dns.RcodeServerFailure, nil
	}

	msg := new(dns.Msg)
	msg.SetReply(r)
	msg.Authoritative = true
	var exists bool
	size, clamped := state.Size(), false
	if size > maxUDP && state.Proto() == "udp" {
		size, clamped = maxUDP, true
	}
	if qtype == dns.TypeANY {
		// RFC 8482: one small answer instead of everything the name has.
		if exists = set.Exists(qname, zone); exists {
			msg.Answer = []dns.RR{&dns.HINFO{
				Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: set.TTL()},
				Cpu: "RFC8482",
			}}
		}
	} else if m.signed && state.Do() {
		msg.Answer, msg.Extra, exists = set.Lookup(qname, zone, qtype)
	} else {
		msg.Answer, msg.Extra, exists = set.LookupLimit(qname, zone, qtype, size)
	}
	if !exists {
		if m.Fall.Through(qname) {
			return plugin.NextOrFailure(m.Name(), m.Next, ctx, w, r)
		}
		msg.Rcode = dns.RcodeNameError
	}
	if len(msg.Answer) == 0 {
		msg.Ns = []dns.RR{negativeSOA(set, zone)}
	}
	if clamped {
		// The server truncates to the client's size, which a datagram cannot carry.
		msg.Truncate(size)
	}
	w.WriteMsg(msg)
	return dns.RcodeSuccess, nil
}

// negativeSOA is the zone's SOA with the TTL RFC 2308 asks for in negative answers.
func negativeSOA(set *records.Set, zone string) dns.RR {
	soa := set.SOA(zone)
	soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	return soa
}

// staleness is how long ago the records were last refreshed, or -1 before the first.
func (m *Mesos) staleness() time.Duration {
	t := m.lastOK.Load()
	if t == 0 {
		return -1
	}
	return time.Since(time.Unix(0, t))
}
