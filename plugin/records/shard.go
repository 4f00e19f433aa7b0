package records

import (
	"hash/maphash"
	"slices"
)

// nameSeed hashes names: for their shard, their slot in it, and the serial's record
// hashes.
var nameSeed = maphash.MakeSeed()

// shard is one shard of a record set: a table of nodes by name, open addressing with
// linear probing from the name's hash, which the node keeps (nh). The lookup hashes
// the name once for the shard and the slot, and a 16-bit tag a slot spares most
// mismatches a visit to the node. It holds 10 octets a name at most loads, where a Go
// map of string to pointer takes about 50.
type shard struct {
	slots []*node
	tags  []uint16
	n     int
}

func tagOf(h uint64) uint16 { return uint16(h >> 48) } // #nosec G115 -- the top 16 bits

// slotOf is where a name of hash h starts probing; the shard index takes the low bits.
func (sh *shard) slotOf(h uint64) int { return int((h >> 24) & uint64(len(sh.slots)-1)) } // #nosec G115 -- masked

// get returns the node named name (of hash h), or nil.
func (sh *shard) get(name string, h uint64) *node {
	if sh.n == 0 {
		return nil
	}
	tag, m := tagOf(h), len(sh.slots)-1
	for i := sh.slotOf(h); ; i = (i + 1) & m {
		n := sh.slots[i]
		if n == nil {
			return nil
		}
		if sh.tags[i] == tag && n.name == name {
			return n
		}
	}
}

// getBytes is get for a name in a buffer, without allocating.
func (sh *shard) getBytes(name []byte, h uint64) *node {
	if sh.n == 0 {
		return nil
	}
	tag, m := tagOf(h), len(sh.slots)-1
	for i := sh.slotOf(h); ; i = (i + 1) & m {
		n := sh.slots[i]
		if n == nil {
			return nil
		}
		if sh.tags[i] == tag && n.name == string(name) {
			return n
		}
	}
}

// put stores n, in the place of the node of its name if there is one.
func (sh *shard) put(n *node) {
	if (sh.n+1)*4 > len(sh.slots)*3 {
		sh.rehash(max(8, 2*len(sh.slots)))
	}
	tag, m := tagOf(n.nh), len(sh.slots)-1
	for i := sh.slotOf(n.nh); ; i = (i + 1) & m {
		o := sh.slots[i]
		if o == nil {
			sh.slots[i], sh.tags[i] = n, tag
			sh.n++
			return
		}
		if sh.tags[i] == tag && o.name == n.name {
			sh.slots[i] = n
			return
		}
	}
}

// del removes the node named as n, if any: the entries after it in its probe run move
// back, so no lookup ever stops short of them.
func (sh *shard) del(n *node) {
	if sh.n == 0 {
		return
	}
	tag, m := tagOf(n.nh), len(sh.slots)-1
	i := sh.slotOf(n.nh)
	for ; ; i = (i + 1) & m {
		o := sh.slots[i]
		if o == nil {
			return
		}
		if sh.tags[i] == tag && o.name == n.name {
			break
		}
	}
	sh.slots[i] = nil
	sh.n--
	for j := (i + 1) & m; sh.slots[j] != nil; j = (j + 1) & m {
		// The entry at j may fill the hole at i unless its home lies cyclically in
		// (i, j].
		k := sh.slotOf(sh.slots[j].nh)
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			sh.slots[i], sh.tags[i] = sh.slots[j], sh.tags[j]
			sh.slots[j] = nil
			i = j
		}
	}
	if sh.n*8 < len(sh.slots) && len(sh.slots) > 8 {
		sh.rehash(len(sh.slots) / 2)
	}
}

func (sh *shard) rehash(size int) {
	old := sh.slots
	sh.slots, sh.tags = newTable(size)
	sh.n = 0
	for _, n := range old {
		if n != nil {
			sh.put(n)
		}
	}
}

// newTable returns a shard's table of size slots, written to once: the runtime leaves
// fresh memory as the system gave it, and a probe that reads a page before anything
// was written there maps the system's zero page, which the first name put there then
// copies, flushing every CPU's TLB. A first load at 100k tasks spent 50 ms in those
// faults; writing the table first faults each page in once.
func newTable(size int) ([]*node, []uint16) {
	slots, tags := make([]*node, size), make([]uint16, size)
	clear(slots)
	clear(tags)
	return slots, tags
}

func (sh *shard) clone() *shard {
	return &shard{slots: slices.Clone(sh.slots), tags: slices.Clone(sh.tags), n: sh.n}
}

// each calls fn with every node.
func (sh *shard) each(fn func(*node)) {
	for _, n := range sh.slots {
		if n != nil {
			fn(n)
		}
	}
}
