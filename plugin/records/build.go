package records

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
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
	SkipReservedName       = "reserved_name"
	SkipSRVOverLimit       = "srv_over_limit"
)

// Build turns a decoded state into a record set. prev, when not nil, is the set it
// replaces: the serial stays when the records are the same and grows when they differ.
// The refresh goroutine does not call it: it keeps an updater, which changes only what
// changed.
func Build(ctx context.Context, st *state.State, opts Options, prev *Set) *Set {
	u := NewUpdater(&opts)
	u.Update(ctx, st)
	return u.Publish(prev)
}

type agentInfo struct {
	ips []netip.Addr
	s   string
	// noPID marks an agent whose pid did not parse: it has no address, and its tasks
	// lose only the records that would point at one.
	noPID bool
	// dom is the agent's fault domain (builder.domainOf), 0 for none.
	dom uint16
}

func (a *agentInfo) equal(b *agentInfo) bool {
	return a.s == b.s && a.noPID == b.noPID && a.dom == b.dom && slices.Equal(a.ips, b.ips)
}

// builder turns one entity (an agent, a framework, a task, the masters) into the
// names and records it contributes: added to the tree with sign 1, taken back with -1.
// Both run the same code on the same inputs, so what one adds the other removes.
type builder struct {
	o      *Options
	lab    labeler
	maxRel int
	key    []byte
	hosts  map[string][]netip.Addr
	t      *tree
	// rev holds the PTR records, nil without reverse zones.
	rev *tree
	// inst lists, under each name that gathers a task group's addresses (T.F and
	// T.F.slave), the canonical names of the group's tasks: the names by fault domain
	// pick from them (domain.go).
	inst *tree
	// doms are the fault domains seen, as the labels of their region and zone,
	// numbered from 1 (domIndex) for as long as the builder lives.
	doms     [][2]string
	domIndex map[[2]string]uint16
	// share is the agent name a task's new canonical name was cut from (canonical).
	share string
	sign  int32
	stats *Stats
	// suffixOf is the framework label whose suffixes f and fs were made last.
	suffixOf, f, fs string
}

func newBuilder(o *Options, t *tree, stats *Stats) *builder {
	longest := 0
	for _, z := range o.Zones {
		longest = max(longest, len(z))
	}
	return &builder{
		o:      o,
		lab:    labeler{o.RFC952},
		maxRel: maxName - longest, // "rel" + "." + zone-without-its-dot
		t:      t,
		stats:  stats,
		// Index 0 is no domain.
		doms:     [][2]string{{}},
		domIndex: make(map[[2]string]uint16),
	}
}

// maxDomains bounds the fault domains numbered: a node keeps the number, plus one, in
// the bits of node.inst below instGroup.
const maxDomains = instDomain - 1

// domainOf numbers the fault domain region/zone by the labels the names by fault domain
// use (naming.md: the part after the last "/"); 0 for none, or past maxDomains.
func (b *builder) domainOf(region, zone string) uint16 {
	if region == "" || zone == "" {
		return 0
	}
	k := [2]string{domainLabel(region), domainLabel(zone)}
	if k[0] == "" || k[1] == "" {
		return 0
	}
	if i, ok := b.domIndex[k]; ok {
		return i
	}
	if len(b.doms) > maxDomains {
		return 0
	}
	i := uint16(len(b.doms)) // #nosec G115 -- bounded by maxDomains
	b.doms = append(b.doms, k)
	b.domIndex[k] = i
	return i
}

// domainLabel is the label of a region's or zone's name: label() of what follows its
// last "/" (aws/us-west-2a gives us-west-2a).
func domainLabel(name string) string {
	return labeler{}.label(name[strings.LastIndexByte(name, '/')+1:])
}

// markGroup marks n as a name that gathers a task group's addresses, which has names
// by fault domain. A name stops being one only when its tasks are gone, and then it
// is gone too.
func (b *builder) markGroup(n *node) {
	if b.sign > 0 {
		n.inst |= instGroup
	}
}

// instance marks a task's canonical names, cn (C.F) and cs (C.F.slave), either may
// be nil, with the fault domain of the task's agent, and lists the task under T.F
// (part+rest) in the inst tree, which exists once a fault domain has been seen: by cn,
// or by cs where there is no cn. The names by fault domain of T.F.slave read the same
// list, going from C.F to C.F.slave by name (domain.go), so a task is listed once.
func (b *builder) instance(part, rest string, cn, cs *node, ag *agentInfo) {
	if b.sign > 0 {
		if cn != nil {
			cn.inst = cn.inst&instGroup | (ag.dom + 1)
		}
		if cs != nil {
			cs.inst = cs.inst&instGroup | instAgent | (ag.dom + 1)
		}
	}
	target := cn
	if target == nil {
		target = cs
	}
	if b.inst == nil || target == nil {
		// No agent in a fault domain (or a builder of the enumeration's): no name
		// by fault domain picks a task, none needs the lists.
		return
	}
	n := b.inst.touchBytes(b.compose("", part, "", rest), b.sign)
	b.inst.srv(n, target, 0, b.sign)
}

// skip counts (or, taking back, uncounts) a name or entity left out.
func (b *builder) skip(reason string, n int) {
	b.stats.Skipped.AddN(reason, int(b.sign)*n)
	if b.stats.Skipped[reason] == 0 {
		delete(b.stats.Skipped, reason)
	}
}

// static contributes the names that exist whatever the state: the apex, the agents'
// and the masters' names, and the default SOA primary.
func (b *builder) static() {
	for _, n := range [...]string{"", "slave", "_slave._tcp", "master"} {
		b.fixed(n)
	}
	if b.o.SOA.Mname == "" && len(b.o.NSAddrs) > 0 {
		// The default SOA primary and NS target; its addresses are the server's own.
		b.addAddrs(b.fixed("ns1"), b.o.NSAddrs)
	}
}

// resolve looks up, once and together, every host name that stands where an address
// is expected.
func (b *builder) resolve(ctx context.Context, names []string) {
	b.hosts = nil
	if len(names) > 0 && b.o.Hosts != nil {
		b.hosts = b.o.Hosts.Resolve(ctx, names)
	}
}

// hostName appends h to names when it is a host name rather than an address.
func hostName(names []string, h string) []string {
	if h != "" {
		if _, ok := state.ParseIP(h); !ok {
			names = append(names, strings.ToLower(h))
		}
	}
	return names
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

func (b *builder) agentInfo(a *state.Agent) agentInfo {
	s := a.ID
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s = s[i+1:]
	}
	// S shares a label with "-H-" and at least one octet of the task name.
	return agentInfo{ips: b.ips(a.PID.Host), s: cut(labeler{}.label(s), maxLabel-len("-xxxxx-")-1), noPID: a.PID.IsZero(),
		dom: b.domainOf(a.Region, a.Zone)}
}

func (b *builder) agent(a *state.Agent, info *agentInfo) {
	slave := b.fixed("slave")
	b.addAddrs(slave, info.ips)
	if !info.noPID {
		b.addSRV(b.fixed("_slave._tcp"), slave, a.PID.Port)
	}
	b.stats.Agents += int(b.sign)
}

// mastersInfo is what the masters' names are made of.
type mastersInfo struct {
	leader    state.PID
	leaderIPs []netip.Addr
	hosts     []string
	ports     []uint16
	ips       [][]netip.Addr
}

func (m *mastersInfo) equal(o *mastersInfo) bool {
	return m.leader == o.leader && slices.Equal(m.leaderIPs, o.leaderIPs) && slices.Equal(m.hosts, o.hosts) &&
		slices.Equal(m.ports, o.ports) && slices.EqualFunc(m.ips, o.ips, slices.Equal)
}

// mastersNames lists the host names of the masters to resolve.
func (b *builder) mastersNames(names []string, st *state.State) []string {
	names = hostName(names, st.Leader.Host)
	for _, m := range b.o.Masters {
		h, _ := splitHostPort(m)
		names = hostName(names, h)
	}
	for _, p := range st.Masters {
		names = hostName(names, p.Host)
	}
	return names
}

func (b *builder) mastersInfo(leader state.PID, listed []state.PID) *mastersInfo {
	mi := &mastersInfo{leader: leader}
	if !leader.IsZero() {
		mi.leaderIPs = b.ips(leader.Host)
	}
	masters := b.o.Masters
	if len(listed) > 0 {
		masters = make([]string, len(listed))
		for i, p := range listed {
			masters[i] = net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
		}
	}
	for _, m := range masters {
		host, port := splitHostPort(m)
		mi.hosts = append(mi.hosts, host)
		mi.ports = append(mi.ports, port)
		mi.ips = append(mi.ips, b.ips(host))
	}
	return mi
}

func (b *builder) masters(mi *mastersInfo) {
	leader, leaderIPs := mi.leader, mi.leaderIPs
	if !leader.IsZero() {
		n := b.fixed("leader")
		b.addAddrs(n, leaderIPs)
		b.addSRV(b.fixed("_leader._tcp"), n, leader.Port)
		b.addSRV(b.fixed("_leader._udp"), n, leader.Port)
	}
	all := b.fixed("master")
	found := false
	for i, host := range mi.hosts {
		port, ips := mi.ports[i], mi.ips[i]
		if !leader.IsZero() && (port == 0 || port == leader.Port) &&
			(strings.EqualFold(host, leader.Host) || overlaps(ips, leaderIPs)) {
			found = true
		}
		b.addAddrs(all, ips)
		b.addAddrs(b.fixed("master"+strconv.Itoa(i)), ips)
	}
	if !leader.IsZero() && !found {
		b.addAddrs(all, leaderIPs)
		b.addAddrs(b.fixed("master"+strconv.Itoa(len(mi.hosts))), leaderIPs)
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

// fwInfo is what a framework's names are made of.
type fwInfo struct {
	label string
	ips   []netip.Addr
}

func (b *builder) fwInfo(f *state.Framework) fwInfo {
	return fwInfo{label: b.lab.labels(f.Name), ips: b.ips(schedulerHost(f))}
}

// schedulerHost is the host of a framework's scheduler: its pid's, or without one the
// framework's hostname.
func schedulerHost(f *state.Framework) string {
	if !f.PID.IsZero() {
		return f.PID.Host
	}
	return f.Hostname
}

// agentEntry is what the updater keeps of an agent: its value, and its names' makings.
func (b *builder) agentEntry(a *state.Agent) *agentEntry {
	return &agentEntry{a: *a, info: b.agentInfo(a)}
}

// fwEntry is what the updater keeps of a framework: its value without its tasks, and
// its names' makings.
func (b *builder) fwEntry(f *state.Framework) *fwEntry {
	return &fwEntry{f: state.Framework{ID: f.ID, Name: f.Name, Hostname: f.Hostname, PID: f.PID}, info: b.fwInfo(f)}
}

func (b *builder) framework(f *state.Framework, fi *fwInfo) {
	fwLabel := fi.label
	if fwLabel == "" {
		b.skip(SkipFrameworkEmptyName, 1)
		return
	}
	b.stats.Frameworks += int(b.sign)
	fn := b.public("", fwLabel, "", "")
	if fn != nil {
		b.addAddrs(fn, fi.ips)
		if !f.PID.IsZero() {
			if s := b.public("_framework._tcp.", "", "", fwLabel); s != nil {
				b.addSRV(s, fn, f.PID.Port)
			}
		}
	}
}

// task contributes a running task's names; ag is nil when its agent is not known.
func (b *builder) task(t *state.Task, fwLabel string, ag *agentInfo) {
	if t.State != state.TaskRunning {
		return
	}
	if ag == nil {
		b.skip(SkipTaskUnknownAgent, 1)
		return
	}
	if b.o.HealthyOnly {
		if s, ok := t.Latest(); ok && s.Healthy == state.Unhealthy {
			b.stats.Unhealthy += int(b.sign)
			return
		}
	}
	name := t.Name
	if t.Discovery != nil && t.Discovery.Name != "" {
		name = t.Discovery.Name
	}
	label := b.lab.label(name)
	if label == "" {
		b.skip(SkipTaskEmptyName, 1)
		return
	}
	b.stats.Tasks += int(b.sign)
	ips := b.taskIPs(t, ag)
	// An agent id ending in "-" has no S: the label must not end in a dash.
	var buf [64]byte // "-" H "-" S: at most 62 octets (agentInfo)
	suffix := appendTaskHash(append(buf[:0], '-'), t.ID)
	if ag.s != "" {
		suffix = append(append(suffix, '-'), ag.s...)
	}
	cnode := b.taskNames(t, label, suffix, fwLabel, ips, ag)
	if b.rev != nil && cnode != nil {
		for _, ip := range ips {
			b.ptr(ip, cnode)
		}
	}
	if b.o.CompatNames && t.Discovery != nil && strings.IndexByte(t.Discovery.Name, '.') >= 0 {
		if dl := b.lab.labels(t.Discovery.Name); dl != "" && dl != label {
			b.taskNames(t, dl, suffix, fwLabel, ips, ag)
		}
	}
}

// taskNames publishes one task under one spelling of its name; label may hold dots
// (compatibility names), in which case "_" goes on its first label and the canonical
// suffix on its last.
func (b *builder) taskNames(t *state.Task, label string, suffix []byte, fwLabel string, ips []netip.Addr, ag *agentInfo) (cnode *node) {
	first, last := label, label
	if before, _, ok := strings.Cut(label, "."); ok {
		first, last = before, label[strings.LastIndexByte(label, '.')+1:]
	}
	// Both composed labels keep their affix whole and give up task-name octets instead.
	canon := label[:len(label)-len(last)] + cut(last, maxLabel-len(suffix)) + string(suffix)
	under := "_" + cut(first, maxLabel-1) + label[len(first):]
	f, fs := b.suffixes(fwLabel)

	group := b.public("", label, "", f)
	if group != nil {
		b.addAddrs(group, ips)
		b.markGroup(group)
	}
	cnode = b.canonical(canon, f, fs, ag.noPID)
	if cnode != nil {
		b.addAddrs(cnode, ips)
	}
	var cs *node // C.F.slave
	if !ag.noPID {
		cs = b.agentNames(t, label, canon, under, f, fs, ag)
	}
	b.instance(label, f, cnode, cs, ag)
	b.share = ""
	if t.Discovery == nil {
		return cnode
	}
	for i := range t.Discovery.Ports {
		dp := &t.Discovery.Ports[i]
		// A port of the agent is reached at the agent's addresses (naming.md, "Ports
		// and the network they live on").
		target := cnode
		if t.HostPort(dp) {
			target = cs
		}
		if target == nil {
			continue
		}
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
			if n := b.public("", under, proto, f); n != nil {
				b.addSRV(n, target, dp.Number)
			}
			if named != "" {
				if n := b.public(named, under, proto, f); n != nil {
					b.addSRV(n, target, dp.Number)
				}
			}
		}
	}
	return cnode
}

// suffixes returns ".F" and ".F.slave" for the framework label fwLabel, made once for the
// tasks of one framework that come one after the other.
func (b *builder) suffixes(fwLabel string) (f, fs string) {
	if fwLabel != b.suffixOf {
		b.suffixOf, b.f, b.fs = fwLabel, "."+fwLabel, "."+fwLabel+".slave"
	}
	return b.f, b.fs
}

// ptr counts one task more (or less) holding ip, with cnode its canonical name, when ip
// is in a reverse zone. A PTR is served only while one task holds the address.
func (b *builder) ptr(ip netip.Addr, cnode *node) {
	name := reverseName(ip)
	in := false
	for _, z := range b.o.ReverseZones {
		if rel, ok := Relative(name+".", z); ok && rel != "" {
			in = true
			break
		}
	}
	if !in {
		return
	}
	n := b.rev.touch(name, b.sign)
	b.rev.srv(n, cnode, 0, b.sign)
}

// reverseName is ip's name under in-addr.arpa or ip6.arpa, without the final dot.
func reverseName(ip netip.Addr) string {
	name, _ := dns.ReverseAddr(ip.String()) // a valid address: no error
	return strings.TrimSuffix(name, ".")
}

// agentNames publishes the names of a task that carry its agent's address, and the
// SRV records of its resource ports, which point at them; at most MaxTaskSRV of those.
// It returns the task's canonical agent name C.F.slave, nil when it has none.
func (b *builder) agentNames(t *state.Task, label, canon, under, f, fs string, ag *agentInfo) (cs *node) {
	group := b.name("", label, "", fs)
	if group != nil {
		b.addAddrs(group, ag.ips)
		b.markGroup(group)
	}
	cs = b.name("", canon, "", fs)
	if cs == nil {
		return nil
	}
	b.addAddrs(cs, ag.ips)
	if len(t.Ports) == 0 {
		return cs
	}
	// The SRV owners do not depend on the port: find them once per task.
	var owners [4]*node
	k := 0
	for _, proto := range [...]string{"._tcp", "._udp"} {
		if t.Discovery == nil {
			if n := b.public("", under, proto, f); n != nil {
				owners[k], k = n, k+1
			}
		}
		if n := b.name("", under, proto, fs); n != nil {
			owners[k], k = n, k+1
		}
	}
	if k == 0 {
		return cs
	}
	ports := 0
	for _, pr := range t.Ports {
		ports += int(pr.End) - int(pr.Begin) + 1
	}
	// A task holding a huge range would otherwise make 4 records a port.
	if limit := b.o.MaxTaskSRV; limit > 0 && ports*k > limit {
		b.skip(SkipSRVOverLimit, ports*k-limit/k*k)
		ports = limit / k
	}
	for _, pr := range t.Ports {
		for p := int(pr.Begin); p <= int(pr.End) && ports > 0; p, ports = p+1, ports-1 {
			for _, n := range owners[:k] {
				b.addSRV(n, cs, uint16(p)) // #nosec G115 -- p runs over a PortRange of uint16
			}
		}
	}
	return cs
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
		case SourceAuto:
			if t.ViaAgent() {
				out = ag.ips
			} else if hasStatus {
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

// name touches the node for pre+part+post+rest, enforcing the name length limit; it
// returns nil when the name cannot fit. The key is assembled in a reused buffer so
// that names already present cost no allocation.
func (b *builder) name(pre, part, post, rest string) *node {
	return b.node(b.compose(pre, part, post, rest))
}

// public is name for the names that frameworks and tasks choose (all but the agent
// names T.F.slave): those that would fall on a reserved name are left out and counted.
func (b *builder) public(pre, part, post, rest string) *node {
	k := b.compose(pre, part, post, rest)
	if b.reserved(k) {
		b.skip(SkipReservedName, 1)
		return nil
	}
	return b.node(k)
}

// canonical is public for a task's canonical name C.F. A new one is cut from the
// string of its agent name C.F.slave, which agentNames then takes whole: one
// allocation for the two names every task has to itself (5 MB at 100k tasks).
func (b *builder) canonical(canon, f, fs string, noPID bool) *node {
	k := b.compose("", canon, "", f)
	if b.reserved(k) {
		b.skip(SkipReservedName, 1)
		return nil
	}
	if len(k) > b.maxRel {
		b.skip(SkipNameTooLong, 1)
		return nil
	}
	h, n := b.t.findBytes(k)
	switch {
	case n != nil:
		return b.t.touchAt(h, n, n.name, b.sign)
	case noPID:
		return b.t.touchAt(h, nil, string(k), b.sign)
	}
	long := canon + fs
	b.share = long
	return b.t.touchAt(h, nil, long[:len(k)], b.sign)
}

func (b *builder) compose(pre, part, post, rest string) []byte {
	k := append(b.key[:0], pre...)
	k = append(k, part...)
	k = append(k, post...)
	k = append(k, rest...)
	b.key = k
	return k
}

func (b *builder) node(k []byte) *node {
	if len(k) > b.maxRel {
		b.skip(SkipNameTooLong, 1)
		return nil
	}
	if b.share != "" && string(k) == b.share {
		s := b.share
		b.share = ""
		return b.t.touch(s, b.sign)
	}
	return b.t.touchBytes(k, b.sign)
}

// reserved reports whether rel belongs to the masters, the agents or the zone
// (naming.md, "Reserved names"): leader, master, masterN, slave, their SRV names, the
// default SOA primary ns1, and every name that could be an agent name X.F.slave.
func (b *builder) reserved(rel []byte) bool {
	switch string(rel) {
	case "leader", "master", "slave", "_leader._tcp", "_leader._udp", "_slave._tcp":
		return true
	case "ns1":
		return b.o.SOA.Mname == ""
	}
	if n, ok := bytes.CutPrefix(rel, []byte("master")); ok && len(n) > 0 {
		digits := true
		for _, c := range n {
			digits = digits && c >= '0' && c <= '9'
		}
		if digits {
			return true
		}
	}
	return bytes.HasSuffix(rel, []byte(".slave")) && bytes.Count(rel, []byte(".")) >= 2
}

// fixed is name for fixed, known-short names.
func (b *builder) fixed(s string) *node { return b.t.touch(s, b.sign) }

func (b *builder) addAddrs(n *node, ips []netip.Addr) {
	if len(ips) > 0 {
		b.t.addrs(n, ips, b.sign)
	}
}

func (b *builder) addSRV(n, target *node, port uint16) {
	b.t.srv(n, target, port, b.sign)
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
