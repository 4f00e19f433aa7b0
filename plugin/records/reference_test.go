package records

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// refZone is the record set of a whole state as naming.md reads, built by the plain
// reading of it below and nothing else: no counting, no sharing, no copy-on-write, no
// updater. Only the label and hash functions are shared with the plugin (labels.go
// has their own vectors). Names are relative to the zone, as the set keeps them.
type refZone struct {
	names map[string]*refName
	rev   map[string][]string // reverse name → the canonical names of the tasks holding it
	// groups are the names that gather a task group's instances, those that have
	// names by fault domain (naming.md).
	groups map[string]bool
}

type refName struct {
	addrs map[netip.Addr]bool
	srvs  map[string]bool // "target:port"
}

// referenceZone reads st as naming.md says. hosts stands for the system resolver
// (lower-case host name → addresses).
func referenceZone(st *state.State, o *Options, hosts map[string][]netip.Addr) *refZone {
	z := &refZone{names: map[string]*refName{}, rev: map[string][]string{}, groups: map[string]bool{}}

	lab := labeler{o.RFC952}
	longest := 0
	for _, zone := range o.Zones {
		longest = max(longest, len(zone))
	}
	// "No name over 253 octets": the relative name, a dot, the zone without its dot.
	fits := func(rel string) bool { return len(rel)+1+longest-1 <= maxName }
	reserved := func(rel string) bool {
		switch rel {
		case "leader", "master", "slave", "_leader._tcp", "_leader._udp", "_slave._tcp":
			return true
		case "ns1":
			return o.SOA.Mname == ""
		}
		if n, ok := strings.CutPrefix(rel, "master"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
		// Anything that could be an agent name X.F.slave.
		return strings.HasSuffix(rel, ".slave") && strings.Count(rel, ".") >= 2
	}
	// name gives the name rel, or nil when it cannot be: too long, or (public) reserved.
	name := func(rel string, public bool) *refName {
		if (public && reserved(rel)) || !fits(rel) {
			return nil
		}
		n := z.names[rel]
		if n == nil {
			n = &refName{addrs: map[netip.Addr]bool{}, srvs: map[string]bool{}}
			z.names[rel] = n
		}
		return n
	}
	addAddrs := func(n *refName, ips []netip.Addr) {
		if n != nil {
			for _, a := range ips {
				n.addrs[a] = true
			}
		}
	}
	addSRV := func(n *refName, target string, port uint16) {
		if n != nil {
			n.srvs[target+":"+strconv.Itoa(int(port))] = true
		}
	}
	ips := func(host string) []netip.Addr {
		if host == "" {
			return nil
		}
		if a, err := netip.ParseAddr(host); err == nil {
			a = a.Unmap()
			if a.IsValid() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() && a != netip.MustParseAddr("255.255.255.255") {
				return []netip.Addr{a}
			}
			return nil
		}
		return hosts[strings.ToLower(host)]
	}

	// The zone's own names, which exist whatever the state.
	for _, rel := range []string{"", "slave", "_slave._tcp", "master"} {
		name(rel, false)
	}
	if o.SOA.Mname == "" && len(o.NSAddrs) > 0 {
		addAddrs(name("ns1", false), o.NSAddrs)
	}

	// Agents.
	agents := map[string]*state.Agent{}
	for i := range st.Agents {
		a := &st.Agents[i]
		agents[a.ID] = a
		addAddrs(z.names["slave"], ips(a.PID.Host))
		if !a.PID.IsZero() {
			addSRV(z.names["_slave._tcp"], "slave", a.PID.Port)
		}
	}

	// Masters.
	leader := st.Leader
	leaderIPs := ips(leader.Host)
	if !leader.IsZero() {
		addAddrs(name("leader", false), leaderIPs)
		addSRV(name("_leader._tcp", false), "leader", leader.Port)
		addSRV(name("_leader._udp", false), "leader", leader.Port)
	}
	masters := o.Masters
	if len(st.Masters) > 0 {
		masters = nil
		for _, p := range st.Masters {
			masters = append(masters, net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
		}
	}
	found := false
	for i, m := range masters {
		host, port := strings.Trim(m, "[]"), uint16(0)
		if h, p, err := net.SplitHostPort(m); err == nil {
			n, _ := strconv.ParseUint(p, 10, 16)
			host, port = h, uint16(n)
		}
		mips := ips(host)
		if !leader.IsZero() && (port == 0 || port == leader.Port) && (strings.EqualFold(host, leader.Host) ||
			slices.ContainsFunc(mips, func(a netip.Addr) bool { return slices.Contains(leaderIPs, a) })) {
			found = true
		}
		addAddrs(z.names["master"], mips)
		addAddrs(name("master"+strconv.Itoa(i), false), mips)
	}
	if !leader.IsZero() && !found {
		addAddrs(z.names["master"], leaderIPs)
		addAddrs(name("master"+strconv.Itoa(len(masters)), false), leaderIPs)
	}

	// Frameworks and their tasks.
	for fi := range st.Frameworks {
		f := &st.Frameworks[fi]
		fl := lab.labels(f.Name)
		if fl == "" {
			continue // no F, no names: the framework and its tasks
		}
		fn := name(fl, true)
		if fn != nil {
			if !f.PID.IsZero() {
				addAddrs(fn, ips(f.PID.Host))
				addSRV(name("_framework._tcp."+fl, true), fl, f.PID.Port)
			} else {
				addAddrs(fn, ips(f.Hostname))
			}
		}
		for ti := range f.Tasks {
			referenceTask(z, &f.Tasks[ti], fl, agents, o, lab, name, addAddrs, addSRV, ips)
		}
	}

	// Every name's parents exist (the empty non-terminals).
	for rel := range z.names {
		for r := rel; r != ""; {
			_, r, _ = strings.Cut(r, ".")
			name(r, false)
		}
	}
	for rel := range z.rev {
		for r := rel; r != ""; {
			_, r, _ = strings.Cut(r, ".")
			if _, ok := z.rev[r]; !ok {
				z.rev[r] = nil
			}
		}
	}
	if len(o.ReverseZones) > 0 {
		if _, ok := z.rev[""]; !ok {
			z.rev[""] = nil
		}
	}
	return z
}

// referenceTask adds the names of one task, as naming.md's "Task records" and "Task
// addresses" read.
func referenceTask(z *refZone, t *state.Task, fl string, agents map[string]*state.Agent, o *Options, lab labeler,
	name func(string, bool) *refName, addAddrs func(*refName, []netip.Addr), addSRV func(*refName, string, uint16),
	ips func(string) []netip.Addr) {
	group := func(rel string, n *refName) *refName {
		if n != nil {
			z.groups[rel] = true
		}
		return n
	}
	a := agents[t.AgentID]
	if t.State != state.TaskRunning || a == nil {
		return
	}
	// The latest status of a given state: the greatest timestamp, the later on a tie.
	latest := func(running bool) *state.Status {
		var best *state.Status
		for i := range t.Statuses {
			s := &t.Statuses[i]
			if (!running || s.State == state.TaskRunning) && (best == nil || s.Timestamp >= best.Timestamp) {
				best = s
			}
		}
		return best
	}
	if s := latest(false); o.HealthyOnly && s != nil && s.Healthy == state.Unhealthy {
		return
	}
	raw := t.Name
	if t.Discovery != nil && t.Discovery.Name != "" {
		raw = t.Discovery.Name
	}
	tl := lab.label(raw)
	if tl == "" {
		return
	}
	agentIPs := ips(a.PID.Host)
	var taskIPs []netip.Addr
	running := latest(true)
	for _, src := range o.IPSources {
		switch src {
		case SourceNetInfo:
			if running != nil {
				taskIPs = running.IPs
			}
		case SourceMesos, SourceDocker:
			key := "MesosContainerizer.NetworkSettings.IPAddress"
			if src == SourceDocker {
				key = "Docker.NetworkSettings.IPAddress"
			}
			if running != nil {
				for _, l := range running.Labels {
					if l.Key == key {
						if ip, ok := state.ParseIP(strings.TrimSpace(l.Value)); ok {
							taskIPs = []netip.Addr{ip}
						}
						break
					}
				}
			}
		case SourceHost:
			taskIPs = agentIPs
		case SourceAuto:
			// naming.md: the agent's addresses for a Docker bridge or port mappings
			// (or a port Marathon labels the agent's, a pod's sign of them).
			behindAgent := t.Net != nil && (t.Net.Bridged || len(t.Net.Mappings) != 0)
			if t.Discovery != nil && slices.ContainsFunc(t.Discovery.Ports, func(p state.DiscoveryPort) bool { return p.Scope == state.ScopeHost }) {
				behindAgent = true
			}
			if behindAgent {
				taskIPs = agentIPs
			} else if running != nil {
				taskIPs = running.IPs
			}
		}
		if len(taskIPs) > 0 {
			break
		}
	}
	s := a.ID[strings.LastIndexByte(a.ID, '-')+1:]
	s = cut(labeler{}.label(s), maxLabel-len("-xxxxx-")-1)
	suffix := "-" + TaskHash(t.ID)
	if s != "" {
		suffix += "-" + s
	}

	spellings := []string{tl}
	if o.CompatNames && t.Discovery != nil && strings.Contains(t.Discovery.Name, ".") {
		if dl := lab.labels(t.Discovery.Name); dl != "" && dl != tl {
			spellings = append(spellings, dl)
		}
	}
	for i, tl := range spellings {
		first, last := tl, tl
		if before, _, ok := strings.Cut(tl, "."); ok {
			first, last = before, tl[strings.LastIndexByte(tl, '.')+1:]
		}
		// No label over 63 octets: the task part gives way, never the suffix.
		c := tl[:len(tl)-len(last)] + cut(last, maxLabel-len(suffix)) + suffix
		under := "_" + cut(first, maxLabel-1) + tl[len(first):]
		f, fs := "."+fl, "."+fl+".slave"

		addAddrs(group(tl+f, name(tl+f, true)), taskIPs)
		// C.F may be left out (reserved, too long) while the agent names stand: they
		// fall on no other framework's.
		cf := name(c+f, true)
		addAddrs(cf, taskIPs)
		if i == 0 && cf != nil {
			for _, ip := range taskIPs {
				referencePTR(z, o, ip, c+f)
			}
		}
		var cs *refName
		if !a.PID.IsZero() {
			addAddrs(group(tl+fs, name(tl+fs, false)), agentIPs)
			if cs = name(c+fs, false); cs != nil {
				addAddrs(cs, agentIPs)
				// Resource ports: every owner gets every port, up to the bound.
				var ports []uint16
				for _, r := range t.Ports {
					for p := int(r.Begin); p <= int(r.End); p++ {
						ports = append(ports, uint16(p)) // #nosec G115 -- a PortRange holds uint16
					}
				}
				var owners []*refName
				for _, p := range []string{"._tcp", "._udp"} {
					if len(ports) == 0 {
						break
					}
					if t.Discovery == nil {
						if n := group(under+p+f, name(under+p+f, true)); n != nil {
							owners = append(owners, n)
						}
					}
					if n := group(under+p+fs, name(under+p+fs, false)); n != nil {
						owners = append(owners, n)
					}
				}
				if lim := o.MaxTaskSRV; lim > 0 && len(owners) > 0 && len(ports)*len(owners) > lim {
					ports = ports[:lim/len(owners)]
				}
				for _, n := range owners {
					for _, p := range ports {
						addSRV(n, c+fs, p)
					}
				}
			}
		}
		if t.Discovery == nil {
			continue
		}
		// naming.md, "Ports and the network they live on": the label decides; without
		// it, a mapped host port that is no container port is the agent's.
		mappedHost, mappedCtr := map[uint16]bool{}, map[uint16]bool{}
		if t.Net != nil {
			for _, m := range t.Net.Mappings {
				mappedHost[m.Host], mappedCtr[m.Container] = true, true
			}
		}
		for _, dp := range t.Discovery.Ports {
			onAgent := dp.Scope == state.ScopeHost || dp.Scope == state.ScopeUnset && mappedHost[dp.Number] && !mappedCtr[dp.Number]
			target, exists := c+f, cf != nil
			if onAgent {
				target, exists = c+fs, cs != nil
			}
			if !exists {
				continue
			}
			protos := []string{"_tcp", "_udp"}
			if dp.Protocol != "" {
				pl := lab.label(dp.Protocol)
				if pl == "" {
					continue
				}
				protos = []string{"_" + cut(pl, maxLabel-1)}
			}
			for _, p := range protos {
				addSRV(group(under+"."+p+f, name(under+"."+p+f, true)), target, dp.Number)
				if nl := lab.label(dp.Name); dp.Name != "" && nl != "" {
					named := "_" + cut(nl, maxLabel-1) + "." + under + "." + p + f
					addSRV(group(named, name(named, true)), target, dp.Number)
				}
			}
		}
	}
}

// referencePTR counts one more task holding ip, when ip is in a reverse zone.
func referencePTR(z *refZone, o *Options, ip netip.Addr, canonical string) {
	var b strings.Builder
	if ip.Is4() {
		v := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.in-addr.arpa", v[3], v[2], v[1], v[0])
	} else {
		v := ip.As16()
		for i := 15; i >= 0; i-- {
			fmt.Fprintf(&b, "%x.%x.", v[i]&0xf, v[i]>>4)
		}
		b.WriteString("ip6.arpa")
	}
	rname := b.String()
	for _, zone := range o.ReverseZones {
		zone = strings.TrimSuffix(zone, ".")
		if strings.HasSuffix(rname, "."+zone) || zone == "" {
			z.rev[rname] = append(z.rev[rname], canonical)
			return
		}
	}
}

// String lists every name with its records, in dumpRecords' form.
func (z *refZone) String() string {
	var b strings.Builder
	rels := make([]string, 0, len(z.names))
	for rel := range z.names {
		rels = append(rels, rel)
	}
	slices.Sort(rels)
	for _, rel := range rels {
		n := z.names[rel]
		addrs := make([]netip.Addr, 0, len(n.addrs))
		for a := range n.addrs {
			addrs = append(addrs, a)
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		srvs := make([]string, 0, len(n.srvs))
		for s := range n.srvs {
			srvs = append(srvs, s)
		}
		slices.Sort(srvs)
		fmt.Fprintf(&b, "%q %v %v\n", rel, addrs, srvs)
	}
	revs := make([]string, 0, len(z.rev))
	for rel := range z.rev {
		revs = append(revs, rel)
	}
	slices.Sort(revs)
	for _, rel := range revs {
		targets := slices.Sorted(slices.Values(z.rev[rel]))
		fmt.Fprintf(&b, "rev %q %v\n", rel, targets)
	}
	return b.String()
}

// dumpRecords lists the set's names and records in refZone.String's form: a reverse
// name lists its tasks' canonical names, one a task.
func dumpRecords(s *Set) string {
	var b strings.Builder
	for _, rel := range namesIn(s.shards) {
		n := s.find(rel)
		addrs := slices.Clone(n.addrs)
		slices.SortFunc(addrs, netip.Addr.Compare)
		srvs := make([]string, 0, len(n.srvs))
		for _, r := range n.srvs {
			srvs = append(srvs, r.tn.name+":"+strconv.Itoa(int(r.port)))
		}
		slices.Sort(srvs)
		fmt.Fprintf(&b, "%q %v %v\n", rel, addrs, srvs)
	}
	for _, rel := range namesIn(s.rev) {
		var targets []string
		for _, r := range s.findRev(rel).srvs {
			for range r.ref {
				targets = append(targets, r.tn.name)
			}
		}
		slices.Sort(targets)
		fmt.Fprintf(&b, "rev %q %v\n", rel, targets)
	}
	return b.String()
}

// sameAsReference fails the test where the set differs from naming.md's reading of st,
// with the lines only one of them has.
func sameAsReference(t *testing.T, what string, s *Set, st *state.State, o *Options, hosts map[string][]netip.Addr) {
	t.Helper()
	got, want := dumpRecords(s), referenceZone(st, o, hosts).String()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	shown := 0
	for _, l := range gl {
		if !slices.Contains(wl, l) && shown < 6 {
			fmt.Fprintf(&b, "\n set only:       %.300s", l)
			shown++
		}
	}
	for _, l := range wl {
		if !slices.Contains(gl, l) && shown < 12 {
			fmt.Fprintf(&b, "\n reference only: %.300s", l)
			shown++
		}
	}
	t.Fatalf("%s: the records differ from naming.md's reference:%s", what, b.String())
}
