package records

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// TestShard puts and deletes names at random, with hashes forced into few slots so
// that probe runs wrap and deletions move entries back, and checks every name against
// a map after each step.
func TestShard(t *testing.T) {
	for _, spread := range []uint64{1, 3, 1 << 40} {
		rng := rand.New(rand.NewPCG(spread, 9))
		sh := &shard{}
		want := map[string]*node{}
		mk := func(name string) *node {
			h := maphash.String(nameSeed, name)
			if spread < 8 {
				// Few homes, same tag: long runs that collide.
				h = (h%spread)<<24 | 7<<48
			}
			return &node{name: name, nh: h}
		}
		for step := range 5000 {
			name := fmt.Sprintf("n%d", rng.IntN(300))
			if rng.IntN(3) == 0 {
				if n := want[name]; n != nil {
					sh.del(n)
					delete(want, name)
				}
			} else {
				n := mk(name)
				sh.put(n)
				want[name] = n
			}
			if sh.n != len(want) {
				t.Fatalf("spread %d step %d: %d names, want %d", spread, step, sh.n, len(want))
			}
			if step%50 == 0 {
				for i := range 300 {
					name := fmt.Sprintf("n%d", i)
					probe := mk(name)
					if got := sh.get(name, probe.nh); got != want[name] {
						t.Fatalf("spread %d step %d: get %s = %v, want %v", spread, step, name, got, want[name])
					}
					if got := sh.getBytes([]byte(name), probe.nh); got != want[name] {
						t.Fatalf("spread %d step %d: getBytes %s differs", spread, step, name)
					}
				}
			}
		}
		c := sh.clone()
		for _, n := range want {
			c.del(n)
		}
		if c.n != 0 || sh.n != len(want) {
			t.Fatalf("a clone emptied has %d, the original %d (want %d)", c.n, sh.n, len(want))
		}
	}
}
