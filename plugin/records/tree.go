package records

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	shards []*shard
	sgen   []uint64 // the batch that last copied each shard
	mask   uint64
	gen    uint64

	dirty []*node // nodes copied or created in this batch
	// changed, when keepChanged, are the names sealed batches touched, for the HTTP
	// API's watches; its reader empties it.
	changed     []string
	keepChanged bool
	// targets is the tree SRV-like records point into, when not this one: a reverse
	// tree's PTR records point at the forward tree's canonical names.
	targets *tree
	names   int
	records int
	hash    uint64
	// broken counts removals of what was never added: a bug, checked by the tests.
	broken int
	// bulk marks a first build, sealed as a whole: addresses are appended without
	// their counts (len(arefs) < len(addrs) until sealed), which sealing makes by
	// counting the duplicates.
	bulk bool
	// A first build takes its nodes' first addresses and their counts from slabs,
	// which a node's next append leaves. They hold no pointers to nodes, so a slab
	// kept for one node keeps nothing else alive: it costs at most the first build's
	// addresses (and a chunk partly used for each CPU that shared the sealing out).
	slabs slabs
	// deferred are srv-like records and addresses of a first build, not in their
	// lists yet: they are placed deferMax at a time, and when the batch is sealed,
	// each list grown at once by what they add to it. Appended one by one, the lists
	// of a 100k-task first load grew through every size (a tenth of its CPU, most of
	// it faulting in fresh pages) and the SRV lists kept a third of their room
	// unused. A first build takes an app's tasks one after the other, so most lists
	// are placed whole, in one step.
	deferred      []deferredSRV
	deferredAddrs []deferredAddr
	// added counts the srv-like records this batch appended: with the changed names,
	// what sealing it costs.
	added int
}

// deferredSRV is one srv-like record of a first build, not in its list yet.
type deferredSRV struct {
	n, tn *node
	port  uint16
}

// deferredAddr is one address of a first build, not in its list yet.
type deferredAddr struct {
	n *node
	a netip.Addr
}

// appendDeferred appends v to a list of deferred records, doubling it as it grows:
// append grows a list that long by a quarter, leaving four times its size behind.
func appendDeferred[T any](list []T, v T) []T {
	if len(list) == cap(list) {
		list = slices.Grow(list, max(256, len(list)))
	}
	return append(list, v)
}

// slabFirst is the most addresses a node's first placement takes from the slab: a
// task's own names' few. A longer list (a group name's) is mostly duplicates when
// its tasks share agents, which sealing drops by a copy (countAddrs): from the heap
// the room they left goes back, from the slab it would stay as long as the names
// beside it.
const slabFirst = 4

// deferMax is the most records (and addresses) deferred at once (768 KiB, and 1
// MiB); a variable for the tests.
var deferMax = 32768

// slabs are where a first build's nodes take their first addresses and counts from.
type slabs struct {
	addrs slab[netip.Addr]
	refs  slab[int32]
}

// slab hands out slices of a shared chunk, each capped at its length, so that an
// append to one never writes into the next.
type slab[T any] struct{ chunk []T }

const slabLen = 4096

// take returns a copy of v in the slab.
func (s *slab[T]) take(v []T) []T {
	if len(v) > cap(s.chunk)-len(s.chunk) {
		s.chunk = make([]T, 0, max(slabLen, len(v)))
	}
	i := len(s.chunk)
	s.chunk = append(s.chunk, v...)
	return s.chunk[i:len(s.chunk):len(s.chunk)]
}

// make returns n zero values in the slab.
func (s *slab[T]) make(n int) []T {
	if n > cap(s.chunk)-len(s.chunk) {
		s.chunk = make([]T, 0, max(slabLen, n))
	}
	i := len(s.chunk)
	s.chunk = s.chunk[:i+n]
	return s.chunk[i : i+n : i+n]
}

// shardLoad is the names a shard holds on average: copying a map that size costs a
// few microseconds.
const shardLoad = 64

// minShards keeps small sets from resharding as they grow.
const minShards = 16

func newTree() *tree {
	t := &tree{}
	t.resize(minShards, 0)
	t.gen = 1
	return t
}

// resize spreads the nodes over n shards, each with a table for its part of names
// names (none when names is 0).
func (t *tree) resize(n, names int) {
	// Each new shard sized at once for its part of the names: grown from empty as
	// they were put, the tables of a 100k-task first load allocated twice what they
	// kept, a third of it while the state was still being decoded.
	size := 0
	if names > 0 {
		size = tableFor(names/n + 1)
	}
	shards := make([]*shard, n)
	for i := range shards {
		shards[i] = &shard{}
		if size > 0 {
			shards[i].slots, shards[i].tags = newTable(size)
		}
	}
	mask := uint64(n - 1) // #nosec G115 -- n is a power of two above zero
	for _, sh := range t.shards {
		sh.each(func(v *node) { shards[v.nh&mask].put(v) })
	}
	t.shards, t.mask = shards, mask
	t.sgen = make([]uint64, n)
	for i := range t.sgen {
		t.sgen[i] = t.gen
	}
}

// tableFor is the size of a shard's table that holds names names at the load put
// keeps (3/4).
func tableFor(names int) int {
	size := 8
	for size*3 < names*4 {
		size *= 2
	}
	return size
}

// find returns the writer's current node for name, or nil.
func (t *tree) find(name string) *node {
	h := maphash.String(nameSeed, name)
	return t.shards[h&t.mask].get(name, h)
}

// findBytes is find for a name in bytes; it returns the name's hash too, for touchAt.
func (t *tree) findBytes(name []byte) (uint64, *node) {
	h := maphash.Bytes(nameSeed, name)
	return h, t.shards[h&t.mask].getBytes(name, h)
}

// shard returns shard i, copied first if the sets published before share it.
func (t *tree) shard(i uint64) *shard {
	if t.sgen[i] != t.gen {
		t.shards[i] = t.shards[i].clone()
		t.sgen[i] = t.gen
	}
	return t.shards[i]
}

// get returns the node for name that this batch may change: created, or copied from
// the one the published sets share.
func (t *tree) get(name string) *node {
	h := maphash.String(nameSeed, name)
	return t.getAt(h, t.shards[h&t.mask].get(name, h), name)
}

// getAt is get for name of hash h, whose current node is n (nil if none).
func (t *tree) getAt(h uint64, n *node, name string) *node {
	if n != nil && n.batch {
		return n
	}
	if n == nil {
		n = &node{name: name, nh: h}
		t.names++
	} else {
		// What the published node gives is taken out of the sums; sealing adds what
		// the copy gives then.
		t.hash -= nodeHash(n)
		t.records -= len(n.addrs) + len(n.srvs)
		c := *n
		c.replaced = 0
		atomic.StoreUint64(&n.replaced, t.gen)
		c.addrs = slices.Clone(n.addrs)
		c.arefs = slices.Clone(n.arefs)
		c.srvs = slices.Clone(n.srvs)
		n = &c
	}
	n.batch = true
	t.shard(h & t.mask).put(n)
	t.dirty = append(t.dirty, n)
	return n
}

// touch counts one contribution more (sign 1) or less (-1) that names name, and
// returns its node for the records that contribution gives.
func (t *tree) touch(name string, sign int32) *node {
	return t.count(t.get(name), sign)
}

// touchBytes is touch for a composed name: the string is made only for a new name.
func (t *tree) touchBytes(name []byte, sign int32) *node {
	h, n := t.findBytes(name)
	if n != nil {
		return t.touchAt(h, n, n.name, sign)
	}
	return t.touchAt(h, nil, string(name), sign)
}

// touchAt is touch for name of hash h, whose current node is n (nil if none): what
// findBytes found is not looked for again.
func (t *tree) touchAt(h uint64, n *node, name string, sign int32) *node {
	return t.count(t.getAt(h, n, name), sign)
}

func (t *tree) count(n *node, sign int32) *node {
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

// reserve sizes the shards for about names names before a large batch, so that the
// first build does not reshard as it grows.
func (t *tree) reserve(names int) {
	if t.bulk {
		// A first build changes every name it makes: the list of them is sized
		// too, doubled at least when it grows, as append would (a first load while
		// decoded reserves a framework at a time).
		if need := names - len(t.dirty); need > cap(t.dirty)-len(t.dirty) {
			t.dirty = slices.Grow(t.dirty, max(need, len(t.dirty)))
		}
	}
	n := len(t.shards)
	for n*shardLoad < names {
		n *= 2
	}
	// Each shard's table sized for its part, so that it does not grow through four
	// sizes on the way; new shards for shardLoad names each, what they hold before the
	// next reserve adds shards, so that no table grows between two.
	if n > len(t.shards) {
		t.resize(n, n*shardLoad)
		return
	}
	size := tableFor(names / n)
	for i, sh := range t.shards {
		if len(sh.slots) < size {
			t.shard(uint64(i)).rehash(size) // #nosec G115 -- i is an index
		}
	}
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
	if sign > 0 && t.bulk {
		if len(t.deferredAddrs)+len(ips) > deferMax {
			t.placeDeferred()
		}
		for _, a := range ips {
			t.deferredAddrs = appendDeferred(t.deferredAddrs, deferredAddr{n, a})
		}
		return
	}
	if sign < 0 {
		// What a first build takes back must be in its list.
		t.placeDeferred()
	}
	if len(n.arefs) < len(n.addrs) {
		normalize(n, &t.slabs)
	}
	for _, a := range ips {
		if sign > 0 {
			n.addrs = append(n.addrs, a)
			n.arefs = append(n.arefs, 1)
			continue
		}
		normalize(n, &t.slabs)
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

// srv adds (sign 1) or removes (-1) one contribution of an SRV record to n, pointing
// at tn.
func (t *tree) srv(n, tn *node, port uint16, sign int32) {
	if sign > 0 {
		t.added++
		if t.bulk {
			t.deferred = appendDeferred(t.deferred, deferredSRV{n, tn, port})
			if len(t.deferred) == deferMax {
				t.placeDeferred()
			}
			return
		}
		n.srvs = append(n.srvs, newSRV(tn, port))
		return
	}
	// A first build taking back what it added (a scheduler known by host name,
	// redone once looked up): what it takes back must be in its list.
	t.placeDeferred()
	normalize(n, &t.slabs)
	i, ok := slices.BinarySearchFunc(n.srvs, srv{tn: tn, port: port}, srvCompare)
	if !ok || n.srvs[i].ref == 0 {
		t.broken++
		return
	}
	n.srvs[i].ref--
}

// newSRV is one contribution of the SRV record to tn at port.
func newSRV(tn *node, port uint16) srv {
	first := len(tn.name)
	if i := strings.IndexByte(tn.name, '.'); i >= 0 {
		first = i
	}
	return srv{tn: tn, port: port, first: uint16(first), ref: 1} // #nosec G115 -- names are at most 255 octets
}

// srvCompare orders SRV records by target name, then port.
func srvCompare(x, y srv) int {
	if x.tn != y.tn {
		if c := strings.Compare(x.tn.name, y.tn.name); c != 0 {
			return c
		}
	}
	return cmp.Compare(x.port, y.port)
}

// sameSRV reports whether x and y are one record (their targets may be two copies
// of one name).
func sameSRV(x, y *srv) bool {
	return x.port == y.port && (x.tn == y.tn || x.tn.name == y.tn.name)
}

// normalize sorts n's records, merging duplicates (adding their counts). Only what
// this batch appended is sorted, then merged with the sorted rest in one pass: adding
// one instance to an app of thousands costs a copy, not a sort of thousands. A first
// build's counts come from sl.
func normalize(n *node, sl *slabs) {
	if int(n.sortedA) == len(n.addrs) && int(n.sortedS) == len(n.srvs) {
		return
	}
	if len(n.arefs) < len(n.addrs) {
		countAddrs(n, sl)
	}
	if k := int(n.sortedA); k < len(n.addrs) && len(n.addrs) <= smallNode {
		// A few records: sorted in place, then merged in place.
		for i := max(k, 1); i < len(n.addrs); i++ {
			for j := i; j > 0 && n.addrs[j].Compare(n.addrs[j-1]) < 0; j-- {
				n.addrs[j], n.addrs[j-1] = n.addrs[j-1], n.addrs[j]
				n.arefs[j], n.arefs[j-1] = n.arefs[j-1], n.arefs[j]
			}
		}
		w := 0
		for i := range n.addrs {
			if w > 0 && n.addrs[w-1] == n.addrs[i] {
				n.arefs[w-1] += n.arefs[i]
				continue
			}
			n.addrs[w], n.arefs[w] = n.addrs[i], n.arefs[i]
			w++
		}
		n.addrs, n.arefs = n.addrs[:w], n.arefs[:w]
	} else if k < len(n.addrs) {
		tail := make([]int32, len(n.addrs)-k)
		for i := range tail {
			tail[i] = int32(k + i) // #nosec G115 -- far fewer than 2^31 records a name
		}
		slices.SortFunc(tail, func(a, b int32) int { return n.addrs[a].Compare(n.addrs[b]) })
		addrs := make([]netip.Addr, 0, len(n.addrs))
		refs := make([]int32, 0, len(n.addrs))
		put := func(a netip.Addr, r int32) {
			if j := len(addrs) - 1; j >= 0 && addrs[j] == a {
				refs[j] += r
				return
			}
			addrs = append(addrs, a)
			refs = append(refs, r)
		}
		i := 0
		for _, j := range tail {
			for i < k && n.addrs[i].Compare(n.addrs[j]) <= 0 {
				put(n.addrs[i], n.arefs[i])
				i++
			}
			put(n.addrs[j], n.arefs[j])
		}
		for ; i < k; i++ {
			put(n.addrs[i], n.arefs[i])
		}
		n.addrs, n.arefs = addrs, refs
	}
	if k := int(n.sortedS); k < len(n.srvs) && (len(n.srvs) <= smallNode || k == 0) {
		// A few records, or all new (a new name, a first build): sorted and merged in
		// place.
		if len(n.srvs) <= smallNode {
			for i := max(k, 1); i < len(n.srvs); i++ {
				for j := i; j > 0 && srvCompare(n.srvs[j], n.srvs[j-1]) < 0; j-- {
					n.srvs[j], n.srvs[j-1] = n.srvs[j-1], n.srvs[j]
				}
			}
		} else {
			slices.SortFunc(n.srvs, srvCompare)
		}
		w := 0
		for i := range n.srvs {
			if w > 0 && sameSRV(&n.srvs[w-1], &n.srvs[i]) {
				n.srvs[w-1].ref += n.srvs[i].ref
				continue
			}
			n.srvs[w] = n.srvs[i]
			w++
		}
		clear(n.srvs[w:])
		n.srvs = n.srvs[:w]
	} else if k < len(n.srvs) {
		tail := slices.Clone(n.srvs[k:])
		slices.SortFunc(tail, srvCompare)
		out := make([]srv, 0, len(n.srvs))
		put := func(r srv) {
			if j := len(out) - 1; j >= 0 && sameSRV(&out[j], &r) {
				out[j].ref += r.ref
				return
			}
			out = append(out, r)
		}
		i := 0
		for _, r := range tail {
			for i < k && srvCompare(n.srvs[i], r) <= 0 {
				put(n.srvs[i])
				i++
			}
			put(r)
		}
		for ; i < k; i++ {
			put(n.srvs[i])
		}
		n.srvs = out
	}
	n.sortedA, n.sortedS = int32(len(n.addrs)), int32(len(n.srvs)) // #nosec G115 -- as above
}

// countAddrs gives the addresses a first build appended without counts (all of n's:
// the build appends none to a node that has counts) theirs: sorted, one each a
// duplicate adds to.
func countAddrs(n *node, sl *slabs) {
	slices.SortFunc(n.addrs, netip.Addr.Compare)
	unique := 0
	for i := range n.addrs {
		if i == 0 || n.addrs[i] != n.addrs[i-1] {
			unique++
		}
	}
	n.arefs = sl.refs.make(unique)
	w := 0
	for i := range n.addrs {
		if w > 0 && n.addrs[w-1] == n.addrs[i] {
			n.arefs[w-1]++
			continue
		}
		n.addrs[w], n.arefs[w] = n.addrs[i], 1
		w++
	}
	n.addrs = n.addrs[:w]
	if cap(n.addrs) > 2*w {
		// What an app's instances gave one agent name is mostly duplicates: the room
		// they leave goes back, by a copy, where the copy costs less than the room.
		// Copying all that had any room allocated 5 MB more at the end of a 100k-task
		// first load, its peak, to give back 2 MB.
		n.addrs = sl.addrs.take(n.addrs)
	}
	n.sortedA = int32(w) // #nosec G115 -- far fewer than 2^31 records a name
}

// smallNode is the most records sorted in place; more are sorted and merged.
const smallNode = 16

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
	n.sortedA, n.sortedS = int32(len(n.addrs)), int32(len(n.srvs)) // #nosec G115 -- far fewer than 2^31 records a name
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
	return mix(nh ^ mix(binary.BigEndian.Uint64(v[:8])^mix(binary.BigEndian.Uint64(v[8:]))))
}

func srvHash(nh uint64, r srv) uint64 {
	return mix(nh ^ mix(r.tn.nh+uint64(r.port)+1<<40))
}

// nodeHash is the sum of the hashes of n's records.
func nodeHash(n *node) uint64 {
	h := uint64(0)
	for _, a := range n.addrs {
		h += recordHash(n.nh, a)
	}
	for _, r := range n.srvs {
		h += srvHash(n.nh, r)
	}
	return h
}

// seal ends a batch: the changed nodes get their final records, names nothing gives
// any more are removed, the hash and counts follow, and the shards are resized when
// the names outgrow them (or shrink well below).
func (t *tree) seal() {
	t.placeDeferred()
	t.deferred, t.deferredAddrs = nil, nil
	t.sealRecords(len(t.dirty) + t.added)
	t.added = 0
	for _, n := range t.dirty {
		if n.live() {
			continue
		}
		if len(n.addrs)+len(n.srvs) > 0 || n.name == "" {
			// Records with nothing naming them: a bug; they stay visible to the tests.
			t.broken++
			continue
		}
		sh := t.shard(n.nh & t.mask)
		if sh.get(n.name, n.nh) == n {
			sh.del(n)
			t.names--
			atomic.StoreUint64(&n.replaced, t.gen)
		}
	}
	// The SRV records of the changed names point at their targets' current copies:
	// one that stays stale costs its lookups a search.
	for _, n := range t.dirty {
		for i := range n.srvs {
			if r := &n.srvs[i]; r.tn.replaced != 0 {
				tt := t
				if t.targets != nil {
					tt = t.targets
				}
				if tn := tt.find(r.tn.name); tn != nil {
					r.tn = tn
				}
			}
		}
	}
	for _, n := range t.dirty {
		n.batch = false
		if t.keepChanged {
			t.changed = append(t.changed, n.name)
		}
	}
	t.dirty = t.dirty[:0]
	bulk := t.bulk
	t.bulk = false
	t.slabs = slabs{}
	switch n := len(t.shards); {
	case t.names > 2*shardLoad*n:
		t.resize(2*n, t.names)
	case t.names < shardLoad*n/4 && n > minShards:
		t.resize(n/2, t.names)
	case bulk && t.names*4 < shardLoad*n*3:
		t.fit()
	}
}

// fit gives each shard of a first build the table its names need. reserve sized them
// for shardLoad names each, twice what a shard of fewer than 48 needs, and a batch
// copies the table of each shard it changes: with the shards a quarter short of
// shardLoad on average (1000 tasks), BenchmarkEvent took 30% longer. Fuller shards
// mostly need what they have (at 100k tasks, 55 names a shard).
func (t *tree) fit() {
	for i, sh := range t.shards {
		if size := tableFor(sh.n); size < len(sh.slots) {
			t.shard(uint64(i)).rehash(size) // #nosec G115 -- i is an index
		}
	}
}

// sealRecords gives the changed nodes their final records, and adds them to the hash
// and the count. A large batch (a first build: 220k names, 0.1 s at 100k tasks; the
// instance lists' 4k names and 100k records; a reverse zone's few names with long PTR
// lists) is shared out among the CPUs, every worker sealing every workers-th chunk of
// the changed names: each node's records are its own, the names of their targets are
// read only, and each worker takes counts from slabs of its own. Sealing follows the
// build, so the other CPUs are idle then. work is the names and records to seal,
// known before they are.
func (t *tree) sealRecords(work int) {
	workers := min(runtime.GOMAXPROCS(0), work/sealShare)
	if workers < 2 {
		h, r := sealNodes(t.dirty, &t.slabs)
		t.hash += h
		t.records += r
		return
	}
	// At least 8 chunks a worker, so that a few long lists even out.
	chunk := min(sealChunk, len(t.dirty)/(8*workers)+1)
	hashes, records := make([]uint64, workers), make([]int, workers)
	seal := func(w int, sl *slabs) {
		for i := w * chunk; i < len(t.dirty); i += workers * chunk {
			h, r := sealNodes(t.dirty[i:min(i+chunk, len(t.dirty))], sl)
			hashes[w] += h
			records[w] += r
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { seal(w, &slabs{}) })
	}
	seal(0, &t.slabs)
	wg.Wait()
	for w := range workers {
		t.hash += hashes[w]
		t.records += records[w]
	}
}

// sealShare is the least work (names and records) a batch gives each CPU that seals
// it (a variable for the tests), and sealChunk the most names in a chunk.
var sealShare = 16384

const sealChunk = 1024

// sealNodes gives nodes their final records, taking counts from sl, and returns
// what they add to the hash and the count of records.
func sealNodes(nodes []*node, sl *slabs) (hash uint64, records int) {
	for _, n := range nodes {
		normalize(n, sl)
		compact(n)
		hash += nodeHash(n)
		records += len(n.addrs) + len(n.srvs)
		n.srvMin = int32(srvsLen(n.srvs)) // #nosec G115 -- far fewer than 2^31 records a name
	}
	return hash, records
}

// takeChanged returns the names the batches sealed since it was last called touched,
// and forgets them. The slice is reused by the next seal: it is read before then.
func (t *tree) takeChanged() []string {
	c := t.changed
	if cap(c) > 4096 {
		// A whole build's names, once: not worth keeping.
		t.changed = nil
	} else {
		t.changed = c[:0]
	}
	return c
}

// next begins a batch: the set just published keeps the shards it was given.
func (t *tree) next() {
	t.gen++
	t.shards = slices.Clone(t.shards)
}

// placeDeferred puts the deferred records and addresses in their lists, each grown
// once by what they add to it. A first build's addresses go without their counts
// (but to a node that has them already: a first build taking back what it added
// counted them), which sealing makes by counting duplicates (countAddrs); a node's
// first few come from the slab.
func (t *tree) placeDeferred() {
	// srvMin, which sealing sets, counts each node's records meanwhile.
	for _, d := range t.deferred {
		d.n.srvMin++
	}
	for _, d := range t.deferred {
		if k := int(d.n.srvMin); k > 0 {
			d.n.srvs = slices.Grow(d.n.srvs, k)
			d.n.srvMin = 0
		}
		d.n.srvs = append(d.n.srvs, newSRV(d.tn, d.port))
	}
	clear(t.deferred)
	t.deferred = t.deferred[:0]
	for _, d := range t.deferredAddrs {
		d.n.srvMin++
	}
	for _, d := range t.deferredAddrs {
		n := d.n
		if k := int(n.srvMin); k > 0 {
			n.srvMin = 0
			switch {
			case len(n.arefs) > 0:
				n.addrs, n.arefs = slices.Grow(n.addrs, k), slices.Grow(n.arefs, k)
			case len(n.addrs) == 0 && k <= slabFirst:
				n.addrs = t.slabs.addrs.make(k)[:0]
			default:
				n.addrs = slices.Grow(n.addrs, k)
			}
		}
		n.addrs = append(n.addrs, d.a)
		if len(n.arefs) > 0 {
			n.arefs = append(n.arefs, 1)
		}
	}
	clear(t.deferredAddrs)
	t.deferredAddrs = t.deferredAddrs[:0]
}
