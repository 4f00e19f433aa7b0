// Package mesos is a CoreDNS plugin that serves Apache Mesos service discovery names
// (those of Mesos-DNS) from the leading master's state.
package mesos

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-mesos/mesos/internal/master"
	"github.com/coredns-mesos/mesos/internal/state"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

var log = clog.NewWithPlugin(pluginName)

// errNoRecords is the one way to say there is no record set yet: none was loaded from
// the masters, nor handed over by a reload. Queries are answered SERVFAIL, a transfer
// is refused, the HTTP API answers 503.
var errNoRecords = errors.New("no records yet")

// Mesos is the plugin handler. Its record set is replaced whole on every refresh and
// read without locks.
type Mesos struct {
	Next  plugin.Handler
	Zones []string
	Fall  fall.F

	cfg    *config
	set    atomic.Pointer[Set]
	leader atomic.Pointer[url.URL]
	lastOK atomic.Int64 // unix nanoseconds of the last good refresh
	// Only the refresh goroutine touches these: the refreshes that failed since the
	// last good one, the failover guard, whether a large drop is being held back, the
	// tasks held back last logged.
	failures   int
	fo         *failover
	up         *updater
	holding    bool
	heldLogged int
	pids       map[string]state.PID // scheduler pids, which the event stream lacks
	// cluster is the stream's view, kept from one stream to the next: a resync's
	// snapshot keeps the values that did not change (state.Cluster's reset).
	cluster *state.Cluster

	// zkMasters is what ZooKeeper last said of the masters; zkChanged wakes the stream
	// when it changes.
	zkMasters atomic.Pointer[[]state.PID]
	zkChanged chan struct{}

	// xfer is the server block's transfer plugin, if any; notify sends its
	// secondaries NOTIFY.
	xfer   *transfer.Transfer
	notify *notifier

	// api is the HTTP API while it listens.
	api atomic.Pointer[api]

	key  handoffKey
	bind []string // the server block's listen addresses

	mu          sync.Mutex
	box         *handed
	restartMark uint64
	cancel      context.CancelFunc
	done        chan struct{}
	client      *master.Client
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
		// errNoRecords: an NXDOMAIN now would be cached as a lie.
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
func negativeSOA(set *Set, zone string) dns.RR {
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
