package mesos

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/internal/state"

	"github.com/miekg/dns"
)

// IPSource names one place a task's addresses may come from.
type IPSource string

// The IP sources of naming.md, "Task addresses".
const (
	SourceNetInfo IPSource = "netinfo"
	SourceMesos   IPSource = "mesos"
	SourceDocker  IPSource = "docker"
	SourceHost    IPSource = "host"
)

// Status labels that carry a container's address.
const (
	labelMesosIP  = "MesosContainerizer.NetworkSettings.IPAddress"
	labelDockerIP = "Docker.NetworkSettings.IPAddress"
)

// Reasons the builder leaves a task or record out, counted beside the decoder's.
const (
	SkipTaskUnknownAgent   = "task_unknown_agent"
	SkipTaskEmptyName      = "task_empty_name"
	SkipFrameworkEmptyName = "framework_empty_name"
	SkipNameTooLong        = "name_too_long"
)

// SOAOptions are the zone's SOA fields. Empty names mean ns1.ZONE and root.ns1.ZONE.
type SOAOptions struct {
	Mname   string
	Mbox    string
	Refresh uint32
	Retry   uint32
	Expire  uint32
	Minimum uint32
}

// Options configure the record set of one plugin block.
type Options struct {
	// Zones are the fully qualified, lowercase origins served; each gets the same names.
	Zones     []string
	TTL       uint32
	SOA       SOAOptions
	IPSources []IPSource
	RFC952    bool
	SRVWeight uint16
	// CompatNames also publishes dotted DiscoveryInfo names as Mesos-DNS did.
	CompatNames bool
	// HealthyOnly leaves out tasks whose latest status reports a failed health check.
	HealthyOnly bool
	// Masters are the configured masters, "host:port", in the order that numbers masterN.
	Masters []string
	// Hosts resolves host names found where addresses are expected; nil leaves them out.
	Hosts *HostCache
	// Now stamps the SOA serial; time.Now when nil.
	Now func() time.Time
}

// DefaultOptions are Mesos-DNS's defaults for the zone mesos.
func DefaultOptions() Options {
	return Options{
		Zones:       []string{"mesos."},
		TTL:         60,
		SOA:         SOAOptions{Refresh: 60, Retry: 600, Expire: 86400, Minimum: 60},
		IPSources:   []IPSource{SourceNetInfo, SourceMesos, SourceHost},
		SRVWeight:   1,
		CompatNames: true,
	}
}

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

// Build turns a decoded state into a record set. prev, when not nil, is the set it
// replaces: the serial stays when the records are the same and grows when they differ.
func Build(ctx context.Context, st *state.State, opts Options, prev *Set) *Set {
	// A task's two canonical names are its own, the rest is shared by its app: about
	// 2.2 names a task in a synthetic cluster. Sizing up front saves re-hashing and
	// copying the index; a low guess only costs one more growth.
	tasks := 0
	for i := range st.Frameworks {
		tasks += len(st.Frameworks[i].Tasks)
	}
	b := newBuilder(&opts, 2*tasks+tasks/4+2*len(st.Frameworks)+len(st.Agents)+64)
	b.stats.Skipped = maps.Clone(st.Skipped)
	b.resolve(ctx, st)
	b.agents(st)
	b.masters(st)
	for i := range st.Frameworks {
		b.framework(&st.Frameworks[i])
	}
	return b.finish(prev)
}

type agentInfo struct {
	ips []netip.Addr
	s   string
}

type builder struct {
	o      *Options
	lab    labeler
	maxRel int
	idx    map[string]int32
	nodes  []node
	key    []byte
	hosts  map[string][]netip.Addr
	agent  map[string]*agentInfo
	stats  Stats
}

func newBuilder(o *Options, sizeHint int) *builder {
	longest := 0
	for _, z := range o.Zones {
		longest = max(longest, len(z))
	}
	b := &builder{
		o:      o,
		lab:    labeler{o.RFC952},
		maxRel: maxName - longest, // "rel" + "." + zone-without-its-dot
		idx:    make(map[string]int32, sizeHint),
		nodes:  make([]node, 0, sizeHint),
	}
	b.node0("")
	return b
}

// resolve looks up, once and together, every host name that stands where an address
// is expected.
func (b *builder) resolve(ctx context.Context, st *state.State) {
	var names []string
	want := func(h string) {
		if h != "" {
			if _, ok := state.ParseIP(h); !ok {
				names = append(names, strings.ToLower(h))
			}
		}
	}
	for _, a := range st.Agents {
		want(a.PID.Host)
	}
	for _, f := range st.Frameworks {
		if !f.PID.IsZero() {
			want(f.PID.Host)
		} else {
			want(f.Hostname)
		}
	}
	want(st.Leader.Host)
	for _, m := range b.o.Masters {
		h, _ := splitHostPort(m)
		want(h)
	}
	if len(names) > 0 && b.o.Hosts != nil {
		b.hosts = b.o.Hosts.Resolve(ctx, names)
	}
}

// ips returns the addresses of an IP literal or a resolved host name.
func (b *builder) ips(host string) []netip.Addr {
	if host == "" {
		return nil
	}
	if a, ok := state.ParseIP(host); ok {
		return []netip.Addr{a}
	}
	return b.hosts[strings.ToLower(host)]
}

func (b *builder) agents(st *state.State) {
	b.agent = make(map[string]*agentInfo, len(st.Agents))
	slave := b.node0("slave")
	srvName := b.node0("_slave._tcp")
	for _, a := range st.Agents {
		s := a.ID
		if i := strings.LastIndexByte(s, '-'); i >= 0 {
			s = s[i+1:]
		}
		// S shares a label with "-H-" and at least one octet of the task name.
		info := &agentInfo{ips: b.ips(a.PID.Host), s: cut(labeler{}.label(s), maxLabel-len("-xxxxx-")-1)}
		b.agent[a.ID] = info
		b.addAddrs(slave, info.ips)
		b.addSRV(srvName, slave, a.PID.Port)
	}
	b.stats.Agents = len(st.Agents)
}

func (b *builder) masters(st *state.State) {
	leader := st.Leader
	var leaderIPs []netip.Addr
	if !leader.IsZero() {
		leaderIPs = b.ips(leader.Host)
		n := b.node0("leader")
		b.addAddrs(n, leaderIPs)
		b.addSRV(b.node0("_leader._tcp"), n, leader.Port)
		b.addSRV(b.node0("_leader._udp"), n, leader.Port)
	}
	all := b.node0("master")
	found := false
	for i, m := range b.o.Masters {
		host, port := splitHostPort(m)
		ips := b.ips(host)
		if !leader.IsZero() && (port == 0 || port == leader.Port) &&
			(strings.EqualFold(host, leader.Host) || overlaps(ips, leaderIPs)) {
			found = true
		}
		b.addAddrs(all, ips)
		b.addAddrs(b.node0("master"+strconv.Itoa(i)), ips)
	}
	if !leader.IsZero() && !found {
		b.addAddrs(all, leaderIPs)
		b.addAddrs(b.node0("master"+strconv.Itoa(len(b.o.Masters))), leaderIPs)
	}
}

func overlaps(a, b []netip.Addr) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// splitHostPort accepts "host:port", "[v6]:port" and a bare host (port 0).
func splitHostPort(s string) (string, uint16) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return strings.Trim(s, "[]"), 0
	}
	n, _ := strconv.ParseUint(p, 10, 16)
	return h, uint16(n)
}

func (b *builder) framework(f *state.Framework) {
	fl := b.lab.labels(f.Name)
	if fl == "" {
		b.stats.Skipped.Add(SkipFrameworkEmptyName)
		return
	}
	b.stats.Frameworks++
	var ips []netip.Addr
	if !f.PID.IsZero() {
		ips = b.ips(f.PID.Host)
	} else {
		ips = b.ips(f.Hostname)
	}
	fn := b.name("", fl, "", "")
	if fn >= 0 {
		b.addAddrs(fn, ips)
		if !f.PID.IsZero() {
			if s := b.name("_framework._tcp.", "", "", fl); s >= 0 {
				b.addSRV(s, fn, f.PID.Port)
			}
		}
	}
	for i := range f.Tasks {
		b.task(&f.Tasks[i], fl)
	}
}

func (b *builder) task(t *state.Task, fl string) {
	if t.State != state.TaskRunning {
		return
	}
	ag, ok := b.agent[t.AgentID]
	if !ok {
		b.stats.Skipped.Add(SkipTaskUnknownAgent)
		return
	}
	if b.o.HealthyOnly {
		if s, ok := t.Latest(); ok && s.Healthy == state.Unhealthy {
			b.stats.Unhealthy++
			return
		}
	}
	name := t.Name
	if t.Discovery != nil && t.Discovery.Name != "" {
		name = t.Discovery.Name
	}
	tl := b.lab.label(name)
	if tl == "" {
		b.stats.Skipped.Add(SkipTaskEmptyName)
		return
	}
	b.stats.Tasks++
	ips := b.taskIPs(t, ag)
	suffix := "-" + taskHash(t.ID) + "-" + ag.s
	b.taskNames(t, tl, suffix, fl, ips, ag)
	if b.o.CompatNames && t.Discovery != nil && strings.IndexByte(t.Discovery.Name, '.') >= 0 {
		if dl := b.lab.labels(t.Discovery.Name); dl != "" && dl != tl {
			b.taskNames(t, dl, suffix, fl, ips, ag)
		}
	}
}

// taskNames publishes one task under one spelling of its name; tl may hold dots
// (compatibility names), in which case "_" goes on its first label and the canonical
// suffix on its last.
func (b *builder) taskNames(t *state.Task, tl, suffix, fl string, ips []netip.Addr, ag *agentInfo) {
	first, last := tl, tl
	if i := strings.IndexByte(tl, '.'); i >= 0 {
		first, last = tl[:i], tl[strings.LastIndexByte(tl, '.')+1:]
	}
	// Both composed labels keep their affix whole and give up task-name octets instead.
	canon := tl[:len(tl)-len(last)] + cut(last, maxLabel-len(suffix)) + suffix
	under := "_" + cut(first, maxLabel-1) + tl[len(first):]
	f := "." + fl
	fs := "." + fl + ".slave"

	if n := b.name("", tl, "", f); n >= 0 {
		b.addAddrs(n, ips)
	}
	cf := b.name("", canon, "", f)
	if cf >= 0 {
		b.addAddrs(cf, ips)
	}
	if n := b.name("", tl, "", fs); n >= 0 {
		b.addAddrs(n, ag.ips)
	}
	cs := b.name("", canon, "", fs)
	if cs >= 0 {
		b.addAddrs(cs, ag.ips)
		if len(t.Ports) > 0 {
			// The SRV owners do not depend on the port: find them once per task.
			var owners [4]int32
			k := 0
			for _, proto := range [...]string{"._tcp", "._udp"} {
				if t.Discovery == nil {
					owners[k], k = b.name("", under, proto, f), k+1
				}
				owners[k], k = b.name("", under, proto, fs), k+1
			}
			for _, pr := range t.Ports {
				for p := int(pr.Begin); p <= int(pr.End); p++ {
					for _, n := range owners[:k] {
						if n >= 0 {
							b.addSRV(n, cs, uint16(p))
						}
					}
				}
			}
		}
	}
	if t.Discovery == nil || cf < 0 {
		return
	}
	for _, dp := range t.Discovery.Ports {
		protos := [2]string{"._tcp", "._udp"}
		np := 2
		if dp.Protocol != "" {
			pl := b.lab.label(dp.Protocol)
			if pl == "" {
				continue
			}
			protos[0], np = "._"+cut(pl, maxLabel-1), 1
		}
		var named string
		if dp.Name != "" {
			if nl := b.lab.label(dp.Name); nl != "" {
				named = "_" + cut(nl, maxLabel-1) + "."
			}
		}
		for _, proto := range protos[:np] {
			if n := b.name("", under, proto, f); n >= 0 {
				b.addSRV(n, cf, dp.Number)
			}
			if named != "" {
				if n := b.name(named, under, proto, f); n >= 0 {
					b.addSRV(n, cf, dp.Number)
				}
			}
		}
	}
}

// taskIPs takes all addresses of the first source that yields any.
func (b *builder) taskIPs(t *state.Task, ag *agentInfo) []netip.Addr {
	st, hasStatus := t.LatestRunning()
	for _, src := range b.o.IPSources {
		var out []netip.Addr
		switch src {
		case SourceNetInfo:
			if hasStatus {
				out = st.IPs
			}
		case SourceMesos, SourceDocker:
			key := labelMesosIP
			if src == SourceDocker {
				key = labelDockerIP
			}
			if hasStatus {
				if v, ok := st.Label(key); ok {
					if a, ok := state.ParseIP(strings.TrimSpace(v)); ok {
						out = []netip.Addr{a}
					}
				}
			}
		case SourceHost:
			out = ag.ips
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// name finds or creates the node for pre+part+post+rest, enforcing the name length
// limit; it returns -1 when the name cannot fit. The key is assembled in a reused
// buffer so that names already present cost no allocation.
func (b *builder) name(pre, part, post, rest string) int32 {
	k := append(b.key[:0], pre...)
	k = append(k, part...)
	k = append(k, post...)
	k = append(k, rest...)
	b.key = k
	if len(k) > b.maxRel {
		b.stats.Skipped.Add(SkipNameTooLong)
		return -1
	}
	if i, ok := b.idx[string(k)]; ok {
		return i
	}
	return b.insert(string(k))
}

// node0 is name for fixed, known-short names.
func (b *builder) node0(s string) int32 {
	if i, ok := b.idx[s]; ok {
		return i
	}
	return b.insert(s)
}

// insert adds a node and the empty non-terminals above it.
func (b *builder) insert(s string) int32 {
	i := int32(len(b.nodes))
	b.nodes = append(b.nodes, node{name: s})
	b.idx[s] = i
	for p := s; p != ""; {
		dot := strings.IndexByte(p, '.')
		if dot < 0 {
			p = ""
		} else {
			p = p[dot+1:]
		}
		if _, ok := b.idx[p]; ok {
			break
		}
		b.idx[p] = int32(len(b.nodes))
		b.nodes = append(b.nodes, node{name: p})
	}
	return i
}

func (b *builder) addAddrs(n int32, ips []netip.Addr) {
	if len(ips) > 0 {
		b.nodes[n].addrs = append(b.nodes[n].addrs, ips...)
	}
}

func (b *builder) addSRV(n, target int32, port uint16) {
	b.nodes[n].srvs = append(b.nodes[n].srvs, srv{target: target, port: port})
}

var hashSeed = maphash.MakeSeed()

func (b *builder) finish(prev *Set) *Set {
	o := b.o
	s := &Set{
		idx:   b.idx,
		nodes: b.nodes,
		zones: slices.Clone(o.Zones),
		ttl:   o.TTL,
		soa:   o.SOA,
		srvW:  o.SRVWeight,
		stats: b.stats,
	}
	nameHash := make([]uint64, len(s.nodes))
	for i := range s.nodes {
		nameHash[i] = maphash.String(hashSeed, s.nodes[i].name)
	}
	// The content hash is a sum of per-record hashes: independent of the order in
	// which the state listed things, so the serial only moves when the answers do.
	h := mix(uint64(o.TTL)<<16 | uint64(o.SRVWeight))
	records := 0
	for i := range s.nodes {
		n := &s.nodes[i]
		if len(n.addrs) > 1 {
			slices.SortFunc(n.addrs, netip.Addr.Compare)
			n.addrs = slices.Compact(n.addrs)
		}
		if len(n.srvs) > 1 {
			slices.SortFunc(n.srvs, func(x, y srv) int {
				if c := strings.Compare(s.nodes[x.target].name, s.nodes[y.target].name); c != 0 {
					return c
				}
				return cmp.Compare(x.port, y.port)
			})
			n.srvs = slices.Compact(n.srvs)
		}
		nh := nameHash[i]
		for _, a := range n.addrs {
			v := a.As16()
			h += mix(nh ^ mix(be64(v[:8])^mix(be64(v[8:]))))
		}
		for _, r := range n.srvs {
			h += mix(nh ^ mix(nameHash[r.target]+uint64(r.port)+1<<40))
		}
		records += len(n.addrs) + len(n.srvs)
	}
	s.stats.Records = records
	s.hash = h
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	switch {
	case prev == nil:
		s.serial = uint32(now().Unix())
	case prev.hash == h:
		s.serial = prev.serial
	default:
		s.serial = max(prev.serial+1, uint32(now().Unix()))
	}
	return s
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Serial is the SOA serial: it changes only when the records change, and only grows.
func (s *Set) Serial() uint32 { return s.serial }

// Hash fingerprints the records' content.
func (s *Set) Hash() uint64 { return s.hash }

// Stats describe the build that produced s.
func (s *Set) Stats() Stats { return s.stats }

// Zones are the origins s answers for.
func (s *Set) Zones() []string { return slices.Clone(s.zones) }

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

// Lookup answers qname (inside zone, any case) for qtype. exists reports whether the
// name exists at all, empty non-terminals included, so that an empty answer can be told
// apart as NODATA or NXDOMAIN. The records are new on every call; answer owners are
// qname as asked. SRV answers carry their targets' addresses in extra.
func (s *Set) Lookup(qname, zone string, qtype uint16) (answer, extra []dns.RR, exists bool) {
	return s.LookupLimit(qname, zone, qtype, 0)
}

// Exists reports whether qname exists in zone (an empty non-terminal counts).
func (s *Set) Exists(qname, zone string) bool {
	rel, ok := relative(qname, zone)
	if !ok {
		return false
	}
	_, ok = s.find(rel)
	return ok
}

// minRRLen is the smallest an answer record can be on the wire: a compression pointer,
// type, class, TTL, length and four octets of address.
const minRRLen = 16

// minAAAALen is minRRLen for sixteen octets of address.
const minAAAALen = 28

// srvLen is the least an SRV record can take: owner pointer, fixed fields, priority,
// weight and port, and its target: a pointer when the record before named the same
// target, else at least the target's first label and a pointer to the rest.
func (s *Set) srvLen(r srv, prev int32) int {
	if r.target == prev {
		return 2 + 10 + 6 + 2
	}
	name := s.nodes[r.target].name
	first := len(name)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		first = i
	}
	return 2 + 10 + 6 + 1 + first + 2
}

// srvWindow returns the SRV records to build for a client with room octets (0: all)
// and a lower bound of the octets they take. When they could all fit, all of them,
// in order; otherwise, from a random record on (wrapping around), just enough to be
// sure not to fit, so that the server truncates and sets TC, and every record is
// served in turn.
func (s *Set) srvWindow(srvs []srv, room int) ([]srv, int) {
	used, prev := 0, int32(-1)
	for _, r := range srvs {
		used += s.srvLen(r, prev)
		prev = r.target
	}
	if room <= 0 || used <= room {
		return srvs, used
	}
	start := rand.IntN(len(srvs))
	out := make([]srv, 0, 16)
	used, prev = 0, -1
	for k := 0; k < len(srvs) && used <= room; k++ {
		r := srvs[(start+k)%len(srvs)]
		used += s.srvLen(r, prev)
		prev = r.target
		out = append(out, r)
	}
	return out, used
}

// LookupLimit is Lookup for a client that can take size octets (0: no limit). An
// RRset larger than could ever fit is cut to just over what fits, so the server still
// truncates it and sets TC, without building records it would throw away; the part
// kept starts at a random record, so that every record of a large RRset is served
// over UDP in turn, as with shuffling before truncation.
func (s *Set) LookupLimit(qname, zone string, qtype uint16, size int) (answer, extra []dns.RR, exists bool) {
	rel, ok := relative(qname, zone)
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
	i, ok := s.find(rel)
	if !ok {
		return nil, nil, false
	}
	// Lower bounds of the reply's size decide what could fit: the header and
	// question, then each record as compressed as it could possibly be.
	room := 0
	if size > 0 {
		room = max(size-(12+len(qname)+1+4), 1)
	}
	n := &s.nodes[i]
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
		limit := 0
		if room > 0 {
			limit = room/per + 1
		}
		answer = s.addrRRs(nil, qname, window(addrs, limit), qtype)
	case dns.TypeSRV:
		srvs, used := s.srvWindow(n.srvs, room)
		if len(srvs) == 0 {
			break
		}
		answer = make([]dns.RR, len(srvs))
		slab := make([]dns.SRV, len(srvs))
		// Additional records past the client's size would be dropped by truncation
		// anyway, so they are not built.
		last := int32(-1)
		var target string
		for k, r := range srvs {
			t := &s.nodes[r.target]
			if r.target != last {
				target = t.name + "." + zone
				last = r.target
				// A wrapped window can end with the target it began with.
				if (k == 0 || r.target != srvs[0].target) && (room <= 0 || used+minRRLen*len(t.addrs) <= room) {
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
	start := rand.IntN(len(rs))
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

// relative strips zone from qname; ok is false when qname is not inside zone. The
// result keeps qname's case: find lowercases it without allocating.
func relative(qname, zone string) (string, bool) {
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
func (s *Set) find(rel string) (int32, bool) {
	upper := false
	for i := 0; i < len(rel); i++ {
		if c := rel[i]; c >= 'A' && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		i, ok := s.idx[rel]
		return i, ok
	}
	var buf [maxName + 1]byte
	if len(rel) > len(buf) {
		return 0, false
	}
	b := buf[:len(rel)]
	for i := 0; i < len(rel); i++ {
		c := rel[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	i, ok := s.idx[string(b)]
	return i, ok
}

// Len is the number of address and SRV records (per zone, SOA and NS aside).
func (s *Set) Len() int { return s.stats.Records }

// Walk calls fn with every record of zone in canonical order: SOA, NS, then every name
// from the apex down. It stops when fn returns false.
func (s *Set) Walk(zone string, fn func(dns.RR) bool) {
	s.sortOnce.Do(func() {
		s.sorted = make([]int32, 0, len(s.nodes))
		for i := range s.nodes {
			if len(s.nodes[i].addrs)+len(s.nodes[i].srvs) > 0 {
				s.sorted = append(s.sorted, int32(i))
			}
		}
		slices.SortFunc(s.sorted, func(a, b int32) int {
			return canonicalCompare(s.nodes[a].name, s.nodes[b].name)
		})
	})
	if !fn(s.SOA(zone)) || !fn(s.NS(zone)) {
		return
	}
	for _, i := range s.sorted {
		n := &s.nodes[i]
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
				Weight: s.srvW, Port: r.port, Target: s.nodes[r.target].name + "." + zone,
			}
			if !fn(rr) {
				return
			}
		}
	}
}

// canonicalCompare orders names as RFC 4034 §6.1 does: label by label from the right.
func canonicalCompare(a, b string) int {
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

// String summarises s for logs.
func (s *Set) String() string {
	return fmt.Sprintf("%d records, %d tasks, %d agents, serial %d", s.stats.Records, s.stats.Tasks, s.stats.Agents, s.serial)
}
