package mesos

import (
	"bytes"
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/internal/state"
)

// Status labels that carry a container's address.
const (
	labelMesosIP  = "MesosContainerizer.NetworkSettings.IPAddress"
	labelDockerIP = "Docker.NetworkSettings.IPAddress"
)

// Reasons the builder leaves a task or record out, counted beside the decoder's.
const (
	skipTaskUnknownAgent   = "task_unknown_agent"
	skipTaskEmptyName      = "task_empty_name"
	skipFrameworkEmptyName = "framework_empty_name"
	skipNameTooLong        = "name_too_long"
	skipReservedName       = "reserved_name"
	skipSRVOverLimit       = "srv_over_limit"
)

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
	if b.o.SOA.Mname == "" && len(b.o.NSAddrs) > 0 {
		// The default SOA primary and NS target; its addresses are the server's own.
		b.addAddrs(b.node0("ns1"), b.o.NSAddrs)
	}
	for i := range st.Frameworks {
		b.framework(&st.Frameworks[i])
	}
	return b.finish(prev)
}

type agentInfo struct {
	ips []netip.Addr
	s   string
	// noPID marks an agent whose pid did not parse: it has no address, and its tasks
	// lose only the records that would point at one.
	noPID bool
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
	for _, p := range st.Masters {
		want(p.Host)
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
		info := &agentInfo{ips: b.ips(a.PID.Host), s: cut(labeler{}.label(s), maxLabel-len("-xxxxx-")-1), noPID: a.PID.IsZero()}
		b.agent[a.ID] = info
		b.addAddrs(slave, info.ips)
		if !info.noPID {
			b.addSRV(srvName, slave, a.PID.Port)
		}
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
	masters := b.o.Masters
	if len(st.Masters) > 0 {
		masters = make([]string, len(st.Masters))
		for i, p := range st.Masters {
			masters[i] = net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
		}
	}
	for i, m := range masters {
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
		b.addAddrs(b.node0("master"+strconv.Itoa(len(masters))), leaderIPs)
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
		b.stats.Skipped.Add(skipFrameworkEmptyName)
		return
	}
	b.stats.Frameworks++
	var ips []netip.Addr
	if !f.PID.IsZero() {
		ips = b.ips(f.PID.Host)
	} else {
		ips = b.ips(f.Hostname)
	}
	fn := b.public("", fl, "", "")
	if fn >= 0 {
		b.addAddrs(fn, ips)
		if !f.PID.IsZero() {
			if s := b.public("_framework._tcp.", "", "", fl); s >= 0 {
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
		b.stats.Skipped.Add(skipTaskUnknownAgent)
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
		b.stats.Skipped.Add(skipTaskEmptyName)
		return
	}
	b.stats.Tasks++
	ips := b.taskIPs(t, ag)
	// An agent id ending in "-" has no S: the label must not end in a dash.
	h := taskHash(t.ID)
	suffix := "-" + h
	if ag.s != "" {
		suffix = "-" + h + "-" + ag.s
	}
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
	if before, _, ok := strings.Cut(tl, "."); ok {
		first, last = before, tl[strings.LastIndexByte(tl, '.')+1:]
	}
	// Both composed labels keep their affix whole and give up task-name octets instead.
	canon := tl[:len(tl)-len(last)] + cut(last, maxLabel-len(suffix)) + suffix
	under := "_" + cut(first, maxLabel-1) + tl[len(first):]
	f := "." + fl
	fs := "." + fl + ".slave"

	if n := b.public("", tl, "", f); n >= 0 {
		b.addAddrs(n, ips)
	}
	cf := b.public("", canon, "", f)
	if cf >= 0 {
		b.addAddrs(cf, ips)
	}
	if !ag.noPID {
		b.agentNames(t, tl, canon, under, f, fs, ag)
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
			if n := b.public("", under, proto, f); n >= 0 {
				b.addSRV(n, cf, dp.Number)
			}
			if named != "" {
				if n := b.public(named, under, proto, f); n >= 0 {
					b.addSRV(n, cf, dp.Number)
				}
			}
		}
	}
}

// agentNames publishes the names of a task that carry its agent's address, and the
// SRV records of its resource ports, which point at them; at most MaxTaskSRV of those.
func (b *builder) agentNames(t *state.Task, tl, canon, under, f, fs string, ag *agentInfo) {
	if n := b.name("", tl, "", fs); n >= 0 {
		b.addAddrs(n, ag.ips)
	}
	cs := b.name("", canon, "", fs)
	if cs < 0 {
		return
	}
	b.addAddrs(cs, ag.ips)
	if len(t.Ports) == 0 {
		return
	}
	// The SRV owners do not depend on the port: find them once per task.
	var owners [4]int32
	k := 0
	for _, proto := range [...]string{"._tcp", "._udp"} {
		if t.Discovery == nil {
			if n := b.public("", under, proto, f); n >= 0 {
				owners[k], k = n, k+1
			}
		}
		if n := b.name("", under, proto, fs); n >= 0 {
			owners[k], k = n, k+1
		}
	}
	if k == 0 {
		return
	}
	ports := 0
	for _, pr := range t.Ports {
		ports += int(pr.End) - int(pr.Begin) + 1
	}
	// A task holding a huge range would otherwise make 4 records a port.
	if limit := b.o.MaxTaskSRV; limit > 0 && ports*k > limit {
		b.stats.Skipped.AddN(skipSRVOverLimit, ports*k-limit/k*k)
		ports = limit / k
	}
	for _, pr := range t.Ports {
		for p := int(pr.Begin); p <= int(pr.End) && ports > 0; p, ports = p+1, ports-1 {
			for _, n := range owners[:k] {
				b.addSRV(n, cs, uint16(p)) // #nosec G115 -- p runs over a PortRange of uint16
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
	return b.node(b.compose(pre, part, post, rest))
}

// public is name for the names that frameworks and tasks choose (all but the agent
// names T.F.slave): those that would fall on a reserved name are left out and counted.
func (b *builder) public(pre, part, post, rest string) int32 {
	k := b.compose(pre, part, post, rest)
	if b.reserved(k) {
		b.stats.Skipped.Add(skipReservedName)
		return -1
	}
	return b.node(k)
}

func (b *builder) compose(pre, part, post, rest string) []byte {
	k := append(b.key[:0], pre...)
	k = append(k, part...)
	k = append(k, post...)
	k = append(k, rest...)
	b.key = k
	return k
}

func (b *builder) node(k []byte) int32 {
	if len(k) > b.maxRel {
		b.stats.Skipped.Add(skipNameTooLong)
		return -1
	}
	if i, ok := b.idx[string(k)]; ok {
		return i
	}
	return b.insert(string(k))
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

// node0 is name for fixed, known-short names.
func (b *builder) node0(s string) int32 {
	if i, ok := b.idx[s]; ok {
		return i
	}
	return b.insert(s)
}

// insert adds a node and the empty non-terminals above it.
func (b *builder) insert(s string) int32 {
	i := int32(len(b.nodes)) // #nosec G115 -- a state bounded by max_state_size makes far fewer than 2^31 names
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
		b.idx[p] = int32(len(b.nodes)) // #nosec G115 -- as above
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
		s.serial = uint32(now().Unix()) // #nosec G115 -- SOA serials are RFC 1982 arithmetic: wrapping is their nature
	case prev.hash == h:
		s.serial = prev.serial
	default:
		s.serial = max(prev.serial+1, uint32(now().Unix())) // #nosec G115 -- as above
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
