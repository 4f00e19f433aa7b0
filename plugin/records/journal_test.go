package records

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

// zoneLines is what an AXFR of zone sends, SOA aside, one line a record, sorted: the
// reference the journal's differences are held to. Walk writes them from the set
// itself, not from any difference.
func zoneLines(s *Set, zone string) []string {
	var out []string
	s.Walk(zone, func(rr dns.RR) bool {
		if rr.Header().Rrtype != dns.TypeSOA {
			out = append(out, rr.String())
		}
		return true
	})
	slices.Sort(out)
	return out
}

// applyIXFR applies an IXFR's deletions and additions to a zone's lines, as a
// secondary does: a deletion of a record it does not hold, or an addition of one it
// holds, is an error.
func applyIXFR(lines []string, del, add []dns.RR) ([]string, error) {
	have := make(map[string]int, len(lines))
	for _, l := range lines {
		have[l]++
	}
	for _, rr := range del {
		if have[rr.String()] == 0 {
			return nil, fmt.Errorf("deletes %s, which the zone does not hold", rr)
		}
		have[rr.String()]--
	}
	for _, rr := range add {
		if have[rr.String()] > 0 {
			return nil, fmt.Errorf("adds %s, which the zone holds", rr)
		}
		have[rr.String()]++
	}
	var out []string
	for l, n := range have {
		for range n {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out, nil
}

// TestJournalMatchesWalk: after random changes to a cluster (tasks launched, killed,
// moved, agents gone, fault domains, networks), each published set's zones equal the
// zones of a set some serials before with the journal's difference applied, for the
// forward zones and the reverse ones; and the difference holds no record twice.
func TestJournalMatchesWalk(t *testing.T) {
	for _, variant := range []string{"default", "reverse"} {
		t.Run(variant, func(t *testing.T) {
			o := DefaultOptions()
			o.Zones = []string{"mesos.", "mesos.example.org."}
			o.Now = func() time.Time { return clockAt(1700000000) }
			o.Hosts = NewHostCache(&fakeHosts{})
			if variant == "reverse" {
				o.IPSources = []IPSource{SourceAuto, SourceHost}
				o.ReverseZones = []string{"in-addr.arpa.", "ip6.arpa."}
			}
			zones := append(slices.Clone(o.Zones), o.ReverseZones...)
			rng := rand.New(rand.NewPCG(11, uint64(len(variant))))
			st := synthCluster(t, synth.Config{Tasks: 400, Agents: 10, Frameworks: 4, Seed: 5, Duplicates: true})
			u := NewUpdater(&o)
			j := NewJournal(1 << 20)
			var history []*Set
			seq := 0
			for step := range 200 {
				st = clone(st)
				for range 1 + rng.IntN(4) {
					mutate(rng, st, &seq)
				}
				prev := last(history)
				set := publish(u, j, st, prev)
				if prev != nil && prev.serial == set.serial {
					continue
				}
				history = append(history, set)
				for _, zone := range zones {
					if n := len(zoneLines(set, zone)) - 1; n != set.zoneLen(zone) {
						t.Fatalf("step %d: %s sends %d records besides its SOA and NS, zoneLen says %d", step, zone, n, set.zoneLen(zone))
					}
				}
				if len(history) == 1 {
					continue
				}
				// One serial back, and one further back at random.
				for _, back := range []int{2, 2 + rng.IntN(len(history)-1)} {
					old := history[len(history)-back]
					for _, zone := range zones {
						del, add, ok := j.Since(set, zone, old.serial)
						if !ok {
							// Only a difference larger than the zone is refused.
							if n := len(lineDiff(zoneLines(old, zone), zoneLines(set, zone))); n <= set.zoneLen(zone) {
								t.Fatalf("step %d: %s: no difference from %d to %d, of %d records", step, zone, old.serial, set.serial, n)
							}
							continue
						}
						got, err := applyIXFR(zoneLines(old, zone), del, add)
						if err != nil {
							t.Fatalf("step %d: %s from %d to %d: %v", step, zone, old.serial, set.serial, err)
						}
						if want := zoneLines(set, zone); !slices.Equal(got, want) {
							t.Fatalf("step %d: %s from %d to %d: the difference applied gives %d records, the zone has %d\n%s",
								step, zone, old.serial, set.serial, len(got), len(want), strings.Join(lineDiff(got, want), "\n"))
						}
					}
				}
			}
			if n, _, ok := j.Held(); !ok || n == 0 {
				t.Fatalf("the journal holds nothing after 200 steps")
			}
		})
	}
}

// publish brings u to st and publishes the set that follows prev (nil: the first),
// which j records.
func publish(u *Updater, j *Journal, st *state.State, prev *Set) *Set {
	u.Update(context.Background(), st)
	set := u.Publish(prev)
	j.Record(prev, set)
	return set
}

// last is the last set of sets, or nil.
func last(sets []*Set) *Set {
	if len(sets) == 0 {
		return nil
	}
	return sets[len(sets)-1]
}

// lineDiff shows what one sorted list of lines has that the other has not.
func lineDiff(got, want []string) []string {
	var out []string
	for _, l := range got {
		if _, found := slices.BinarySearch(want, l); !found {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range want {
		if _, found := slices.BinarySearch(got, l); !found {
			out = append(out, "- "+l)
		}
	}
	return out
}

// The journal keeps to its bound: the oldest differences go first, a serial it no
// longer reaches gets no difference, and one larger than the zone is refused.
func TestJournalBound(t *testing.T) {
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	o.Hosts = NewHostCache(&fakeHosts{})
	st := synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 3, Seed: 7})
	u := NewUpdater(&o)
	const bound = 60
	j := NewJournal(bound)
	var sets []*Set
	steps := 0
	for len(sets) < 40 {
		// One task killed a step: a handful of records each.
		st = clone(st)
		f := &st.Frameworks[len(sets)%len(st.Frameworks)]
		f.Tasks = f.Tasks[1:]
		prev := last(sets)
		set := publish(u, j, st, prev)
		if prev == nil || prev.serial != set.serial {
			sets = append(sets, set)
		}
		held, _, _ := j.Held()
		if held > bound {
			t.Fatalf("the journal holds %d changes, over its bound of %d", held, bound)
		}
		steps = len(j.steps)
	}
	if steps < 2 || steps > 20 {
		t.Fatalf("the journal holds %d steps: the test's changes are not the few records a step it wants", steps)
	}
	last := sets[len(sets)-1]
	if _, _, ok := j.Since(last, "mesos.", sets[0].serial); ok {
		t.Error("a difference from a serial 40 changes back, past the bound")
	}
	_, oldest, _ := j.Held()
	if _, _, ok := j.Since(last, "mesos.", oldest); !ok {
		t.Errorf("no difference from the oldest serial held, %d", oldest)
	}
	if _, _, ok := j.Since(last, "other.", oldest); ok {
		t.Error("a difference for a zone the set does not hold")
	}
	// The whole zone replaced is more than the zone: no difference, and the journal
	// holds nothing it could send.
	j = NewJournal(1 << 20)
	u2 := NewUpdater(&o)
	u2.Update(context.Background(), synthCluster(t, synth.Config{Tasks: 200, Agents: 6, Frameworks: 3, Seed: 99}))
	other := u2.Publish(nil)
	other.serial = last.serial + 1
	j.Record(last, other)
	if _, _, ok := j.Since(other, "mesos.", last.serial); ok {
		t.Error("a difference larger than the zone is sent as a difference")
	}
}

// BenchmarkJournal: the heap a journal holds per change kept, with a synthetic
// cluster's tasks killed and launched again one at a time, and the time Record takes
// for each such change. The heap figure needs a journal that outweighs the heap's own
// noise: thousands of iterations (-benchtime 3000x).
func BenchmarkJournal(b *testing.B) {
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	st := synthState(b, 10000).st
	u := NewUpdater(&o)
	u.Update(context.Background(), st)
	prev := u.Publish(nil)
	j := NewJournal(1 << 30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	steps := 0
	for b.Loop() {
		// One task gone, then back: two publications, two differences.
		st2 := clone(st)
		f := &st2.Frameworks[steps%len(st2.Frameworks)]
		k := steps % len(f.Tasks)
		f.Tasks = append(f.Tasks[:k:k], f.Tasks[k+1:]...)
		for _, s := range []*state.State{st2, st} {
			prev = publish(u, j, s, prev)
		}
		steps++
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held, _, _ := j.Held()
	runtime.KeepAlive(prev)
	if held > 0 {
		b.ReportMetric(float64(held)/float64(2*steps), "changes/publication")
		// Signed: in a short run the heap's own noise can outweigh what the journal
		// grew, and an unsigned difference would wrap to a huge figure.
		grew := int64(after.HeapAlloc) - int64(before.HeapAlloc) // #nosec G115 -- heap sizes are far below 2^63
		b.ReportMetric(float64(grew)/float64(held), "heap_B/change")
	}
}

// Two writers sharing a journal (an instance and its successor during a reload) each
// publish a different set under the same serial from the same set before (found by
// review: steps were linked by serial alone, and a difference from S to Y went
// through the other writer's step). The journal starts afresh instead of sending a
// difference that does not lead to the set.
func TestJournalTwoWritersOneSerial(t *testing.T) {
	o := DefaultOptions()
	o.Now = func() time.Time { return clockAt(1700000000) }
	o.Hosts = NewHostCache(&fakeHosts{})
	st0 := synthCluster(t, synth.Config{Tasks: 100, Agents: 5, Frameworks: 3, Seed: 5})
	u1, u2 := NewUpdater(&o), NewUpdater(&o)
	u1.Update(context.Background(), st0)
	s0 := u1.Publish(nil)
	rng := rand.New(rand.NewPCG(1, 2))
	seq := 0
	st1, st2 := clone(st0), clone(st0)
	for range 4 {
		mutate(rng, st1, &seq)
	}
	for range 6 {
		mutate(rng, st2, &seq)
	}
	u1.Update(context.Background(), st1)
	t1 := u1.Publish(s0)
	u2.Update(context.Background(), st2)
	t2 := u2.Publish(s0)
	if t1.serial != t2.serial || t1.hash == t2.hash {
		t.Fatalf("the test wants two sets of one serial and other records: %d %d", t1.serial, t2.serial)
	}
	j := NewJournal(1 << 20)
	j.Record(s0, t2)
	j.Record(s0, t1)
	y := t2
	for st3 := st2; y.serial == t2.serial; {
		st3 = clone(st3)
		mutate(rng, st3, &seq)
		u2.Update(context.Background(), st3)
		y = u2.Publish(t2)
	}
	j.Record(t2, y)
	if del, add, ok := j.Since(y, "mesos.", s0.serial); ok {
		got, err := applyIXFR(zoneLines(s0, "mesos."), del, add)
		if err != nil || !slices.Equal(got, zoneLines(y, "mesos.")) {
			t.Fatalf("a difference from %d that does not lead to the set: %v", s0.serial, err)
		}
	}
	// From the set it does continue, it answers.
	del, add, ok := j.Since(y, "mesos.", t2.serial)
	if !ok {
		t.Fatal("no difference from the set the last step continues")
	}
	if got, err := applyIXFR(zoneLines(t2, "mesos."), del, add); err != nil || !slices.Equal(got, zoneLines(y, "mesos.")) {
		t.Fatalf("the difference from %d does not lead to the set: %v", t2.serial, err)
	}
}
