package mesos

import (
	"cmp"
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// tree is the writer's side of the record sets: one goroutine changes it, a batch of
// changes at a time, and publishes each batch as a Set. Nothing a published Set holds
// is written again: the first change in a batch to a name copies its node, and the
// first to a shard copies the shard's map; everything else is shared with the sets
// before. A batch so costs what it touched (the nodes, and the maps of their shards),
// and each shard holds about shardLoad names, whatever the cluster's size.
//
// Records are reference counted: the same address or SRV record often comes from
// several tasks (host networking, one app's instances on one agent), and stays while
// any of them does. The serial's hash and the record count follow each node's change.
type tree struct {
	shards []map[string]*node
	sgen   []uint64 // the batch that last copied each shard
	mask   uint64
	gen    uint64

	dirty   []*node // nodes copied or created in this batch
	names   int
	records int
	hash    uint64
	// broken counts removals of what was never added: a bug, checked by the tests.
	broken int
}

// shardLoad is the names a shard holds on average: copying a map that size costs a
// few microseconds.
const shardLoad = 64

// minShards keeps small sets from resharding as they grow.
const minShards = 16

func newTree() *tree {
	t := &tree{}
	t.resize(minShards)
	t.gen = 1
	return t
}

func (t *tree) resize(n int) {
	shards := make([]map[string]*node, n)
	for i := range shards {
		shards[i] = make(map[string]*node, shardLoad)
	}
	mask := uint64(n - 1) // #nosec G115 -- n is a power of two above zero
	for _, sh := range t.shards {
		for k, v := range sh {
			shards[maphash.String(shardSeed, k)&mask][k] = v
		}
	}
	t.shards, t.mask = shards, mask
	t.sgen = make([]uint64, n)
	for i := range t.sgen {
		t.sgen[i] = t.gen
	}
}

// find returns the writer's current node for name, or nil.
func (t *tree) find(name string) *node {
	return t.shards[maphash.String(shardSeed, name)&t.mask][name]
}

// findBytes is find for a name being composed, without allocating.
func (t *tree) findBytes(name []byte) *node {
	return t.shards[maphash.Bytes(shardSeed, name)&t.mask][string(name)]
}

// shard returns name's shard, copied first if the sets published before share it.
func (t *tree) shard(name string) map[string]*node {
	i := maphash.String(shardSeed, name) & t.mask
	if t.sgen[i] != t.gen {
		t.shards[i] = maps.Clone(t.shards[i])
		t.sgen[i] = t.gen
	}
	return t.shards[i]
}

// get returns the node for name that this batch may change: created, or copied from
// the one the published sets share.
func (t *tree) get(name string) *node {
	n := t.find(name)
	if n != nil && n.gen == t.gen {
		return n
	}
	if n == nil {
		n = &node{name: name, nh: maphash.String(hashSeed, name)}
		t.names++
	} else {
		c := *n
		c.addrs = slices.Clone(n.addrs)
		c.arefs = slices.Clone(n.arefs)
		c.srvs = slices.Clone(n.srvs)
		n = &c
	}
	n.gen = t.gen
	t.shard(name)[name] = n
	t.dirty = append(t.dirty, n)
	return n
}

// touch counts one contribution more (sign 1) or less (-1) that names name, and
// returns its node for the records that contribution gives.
func (t *tree) touch(name string, sign int32) *node {
	n := t.get(name)
	was := n.live()
	n.own += sign
	if n.own < 0 {
		t.broken++
		n.own = 0
	}
	if was != n.live() {
		t.liveChanged(n)
	}
	return n
}

// touchBytes is touch for a composed name: the string is made only for a new name.
func (t *tree) touchBytes(name []byte, sign int32) *node {
	if n := t.findBytes(name); n != nil {
		return t.touch(n.name, sign)
	}
	return t.touch(string(name), sign)
}

// liveChanged tells the parents of a node that came to exist, or ceased to: a name
// exists while it has contributions or live children (the empty non-terminals above
// every name).
func (t *tree) liveChanged(n *node) {
	for n.name != "" {
		parent := ""
		if dot := strings.IndexByte(n.name, '.'); dot >= 0 {
			parent = n.name[dot+1:]
		}
		p := t.get(parent)
		was := p.live()
		if n.live() {
			p.kids++
		} else {
			p.kids--
		}
		if was == p.live() {
			return
		}
		n = p
	}
}

// addrs adds (sign 1) or removes (-1) one contribution of each address to n.
func (t *tree) addrs(n *node, ips []netip.Addr, sign int32) {
	for _, a := range ips {
		if sign > 0 {
			n.addrs = append(n.addrs, a)
			n.arefs = append(n.arefs, 1)
			n.unsorted = true
			continue
		}
		t.normalize(n)
		i, ok := slices.BinarySearchFunc(n.addrs, a, netip.Addr.Compare)
		if !ok || n.arefs[i] == 0 {
			t.broken++
			continue
		}
		// Left at zero and dropped when the batch is published: removing one of many
		// records costs no copy.
		n.arefs[i]--
	}
}

// srv adds (sign 1) or removes (-1) one contribution of an SRV record to n.
func (t *tree) srv(n *node, target string, port uint16, sign int32) {
	if sign > 0 {
		n.srvs = append(n.srvs, srv{target: target, port: port, ref: 1})
		n.unsorted = true
		return
	}
	t.normalize(n)
	i, ok := slices.BinarySearchFunc(n.srvs, srv{target: target, port: port}, srvCompare)
	if !ok || n.srvs[i].ref == 0 {
		t.broken++
		return
	}
	n.srvs[i].ref--
}

func srvCompare(x, y srv) int {
	if c := strings.Compare(x.target, y.target); c != 0 {
		return c
	}
	return cmp.Compare(x.port, y.port)
}

// normalize sorts n's records, merges duplicates (adding their counts) and drops
// those no contribution gives any more.
func (t *tree) normalize(n *node) {
	if n.unsorted {
		n.unsorted = false
		if len(n.addrs) > 1 {
			idx := make([]int32, len(n.addrs))
			for i := range idx {
				idx[i] = int32(i) // #nosec G115 -- far fewer than 2^31 records a name
			}
			slices.SortStableFunc(idx, func(a, b int32) int { return n.addrs[a].Compare(n.addrs[b]) })
			addrs := make([]netip.Addr, 0, len(n.addrs))
			refs := make([]int32, 0, len(n.addrs))
			for _, i := range idx {
				if k := len(addrs) - 1; k >= 0 && addrs[k] == n.addrs[i] {
					refs[k] += n.arefs[i]
					continue
				}
				addrs = append(addrs, n.addrs[i])
				refs = append(refs, n.arefs[i])
			}
			n.addrs, n.arefs = addrs, refs
		}
		if len(n.srvs) > 1 {
			slices.SortStableFunc(n.srvs, srvCompare)
			out := n.srvs[:1]
			for _, r := range n.srvs[1:] {
				if k := len(out) - 1; out[k].target == r.target && out[k].port == r.port {
					out[k].ref += r.ref
					continue
				}
				out = append(out, r)
			}
			n.srvs = out
		}
	}
}

// compact drops the records of n that no contribution gives any more.
func compact(n *node) {
	k := 0
	for i, a := range n.addrs {
		if n.arefs[i] > 0 {
			n.addrs[k], n.arefs[k] = a, n.arefs[i]
			k++
		}
	}
	clear(n.addrs[k:])
	n.addrs, n.arefs = n.addrs[:k], n.arefs[:k]
	n.srvs = slices.DeleteFunc(n.srvs, func(r srv) bool { return r.ref <= 0 })
	if len(n.addrs) == 0 {
		n.addrs, n.arefs = nil, nil
	}
	if len(n.srvs) == 0 {
		n.srvs = nil
	}
}

// recordHash is the serial hash of one record of n: a sum of these is independent of
// the order in which the state listed things, so the serial only moves when the
// answers do.
func recordHash(nh uint64, a netip.Addr) uint64 {
	v := a.As16()
	return mix(nh ^ mix(be64(v[:8])^mix(be64(v[8:]))))
}

func srvHash(nh uint64, r srv) uint64 {
	return mix(nh ^ mix(maphash.String(hashSeed, r.target)+uint64(r.port)+1<<40))
}

// seal ends a batch: the changed nodes get their final records, names nothing gives
// any more are removed, the hash and counts follow, and the shards are resized when
// the names outgrow them (or shrink well below).
func (t *tree) seal() {
	for _, n := range t.dirty {
		t.normalize(n)
		compact(n)
		h := uint64(0)
		for _, a := range n.addrs {
			h += recordHash(n.nh, a)
		}
		for _, r := range n.srvs {
			h += srvHash(n.nh, r)
		}
		t.hash += h - n.h
		n.h = h
		r := len(n.addrs) + len(n.srvs)
		t.records += r - int(n.nrec)
		n.nrec = int32(r) // #nosec G115 -- far fewer than 2^31 records a name
	}
	for _, n := range t.dirty {
		if n.live() {
			continue
		}
		if len(n.addrs)+len(n.srvs) > 0 || n.name == "" {
			// Records with nothing naming them: a bug; they stay visible to the tests.
			t.broken++
			continue
		}
		sh := t.shard(n.name)
		if sh[n.name] == n {
			delete(sh, n.name)
			t.names--
		}
	}
	t.dirty = t.dirty[:0]
	switch n := len(t.shards); {
	case t.names > 2*shardLoad*n:
		t.resize(2 * n)
	case t.names < shardLoad*n/4 && n > minShards:
		t.resize(n / 2)
	}
}

// next begins a batch: the set just published keeps the shards it was given.
func (t *tree) next() {
	t.gen++
	t.shards = slices.Clone(t.shards)
}
