package records

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

var benchSizes = []int{1000, 10000, 100000}

type benchState struct {
	json []byte
	apps []synth.App
	st   *state.State
	set  *Set
}

var (
	benchMu    sync.Mutex
	benchCache = map[int]*benchState{}
)

// synthState generates (once per size) a synthetic cluster, its decoded state and set.
func synthState(b *testing.B, n int) *benchState {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchCache[n]; ok {
		return s
	}
	var buf bytes.Buffer
	apps, err := synth.Write(&buf, synth.Config{Tasks: n, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	st, err := state.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	s := &benchState{json: buf.Bytes(), apps: apps, st: st}
	s.set = Build(context.Background(), st, DefaultOptions(), nil)
	benchCache[n] = s
	return s
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s := synthState(b, n)
			b.SetBytes(int64(len(s.json)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := state.Decode(bytes.NewReader(s.json)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad is a first poll's load: the state decoded and its records built
// beside the decoding (LoadingDecoder), then published.
func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s := synthState(b, n)
			b.SetBytes(int64(len(s.json)))
			b.ReportAllocs()
			var set *Set
			for b.Loop() {
				o := DefaultOptions()
				u := NewUpdater(&o)
				st, err := u.LoadingDecoder(context.Background())(bytes.NewReader(s.json))
				if err != nil {
					b.Fatal(err)
				}
				u.Update(context.Background(), st)
				set = u.Publish(nil)
			}
			b.ReportMetric(float64(set.Len()), "records")
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s := synthState(b, n)
			b.ReportAllocs()
			var set *Set
			for b.Loop() {
				set = Build(context.Background(), s.st, DefaultOptions(), nil)
			}
			b.ReportMetric(float64(set.Len()), "records")
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	s := synthState(b, 10000)
	var app, srvName string
	for _, a := range s.apps {
		if a.Ports > 0 && !a.Discovery && a.Instances >= 3 {
			app = a.Name + "." + a.Framework + ".mesos."
			srvName = "_" + a.Name + "._tcp." + a.Framework + ".mesos."
			break
		}
	}
	// One task's own name: a single A record.
	ft := s.st.Frameworks[0].Tasks[0]
	canon := ft.Name + "-" + TaskHash(ft.ID) + "-s" + ft.AgentID[strings.LastIndexByte(ft.AgentID, 'S')+1:] + ".marathon.mesos."
	cases := []struct {
		name, q string
		t       uint16
		min     int
	}{
		{"hit-A-one-task", canon, dns.TypeA, 1},
		{"hit-A-one-task-mixed-case", strings.ToUpper(canon[:8]) + canon[8:], dns.TypeA, 1},
		{"hit-A-app", app, dns.TypeA, 3},
		{"miss", "nope." + app, dns.TypeA, 0},
		{"nodata-AAAA", "leader.mesos.", dns.TypeAAAA, 0},
		{"srv-with-additional", srvName, dns.TypeSRV, 3},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ans, _, _ := s.set.Lookup(c.q, "mesos.", c.t)
			if len(ans) < c.min {
				b.Fatalf("%s: %d answers", c.q, len(ans))
			}
			b.ReportMetric(float64(len(ans)), "answers")
			b.ReportAllocs()
			for b.Loop() {
				s.set.Lookup(c.q, "mesos.", c.t)
			}
		})
	}
}

// benchUpdater is an updater holding the synthetic cluster of n tasks, published.
func benchUpdater(b *testing.B, n int) (*benchState, *Updater, *Set) {
	b.Helper()
	s := synthState(b, n)
	o := DefaultOptions()
	// A clock one tick further at each reading: a publication measures its work, not
	// the wait for the serial clock's next tick (at most 10 ms, which the events that
	// arrive meanwhile share).
	var ticks atomic.Int64
	o.Now = func() time.Time { return clockAt(serialBase + ticks.Add(1)) }
	u := NewUpdater(&o)
	u.Update(context.Background(), s.st)
	return s, u, u.Publish(nil)
}

// BenchmarkEvent is what one event costs the refresh goroutine: a task launched (or
// killed) applied to an updater holding the whole cluster, and published.
func BenchmarkEvent(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s, u, set := benchUpdater(b, n)
			f := &s.st.Frameworks[0]
			t := f.Tasks[0]
			t.ID = "bench.launched"
			k := state.TaskKey{Framework: f.ID, Task: t.ID}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ch := &changes{tasks: map[state.TaskKey]*state.Task{k: nil}}
				if i%2 == 0 {
					ch.tasks[k] = &t
				}
				i++
				u.apply(context.Background(), ch, s.st)
				set = u.Publish(set)
			}
		})
	}
}

// BenchmarkQuietPoll is a poll or resync that finds nothing changed.
func BenchmarkQuietPoll(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s, u, _ := benchUpdater(b, n)
			b.ReportAllocs()
			for b.Loop() {
				u.Update(context.Background(), s.st)
			}
			if u.pending {
				b.Fatal("a quiet poll changed the records")
			}
		})
	}
}
