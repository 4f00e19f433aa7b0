package records

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkLookupMix runs bench/dnsperf.sh's realistic query mix through Lookup at 10k
// tasks: 40% A of app names, 20% A of task names, 20% SRV hits, 20% misses, each
// lookup limited to 1232 octets as for an EDNS0 client over UDP.
func BenchmarkLookupMix(b *testing.B) {
	s := synthState(b, 10000)
	var apps, tasks, srvs []string
	seen := map[string]bool{}
	s.set.Walk("mesos.", func(rr dns.RR) bool {
		h := rr.Header()
		switch {
		case h.Rrtype == dns.TypeA && strings.HasPrefix(h.Name, "app-") && strings.Count(h.Name, ".") == 3:
			if strings.Count(h.Name[:strings.IndexByte(h.Name, '.')], "-") == 2 {
				apps = append(apps, h.Name)
			} else if !strings.Contains(h.Name, "slave") {
				tasks = append(tasks, h.Name)
			}
		case h.Rrtype == dns.TypeSRV && !seen[h.Name]:
			seen[h.Name] = true
			srvs = append(srvs, h.Name)
		}
		return true
	})
	if len(apps) == 0 || len(tasks) == 0 || len(srvs) == 0 {
		b.Fatalf("mix: %d apps, %d tasks, %d srvs", len(apps), len(tasks), len(srvs))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type q struct {
		name string
		t    uint16
	}
	qs := make([]q, 4096)
	for i := range qs {
		switch r := rng.Float64(); {
		case r < 0.4:
			qs[i] = q{apps[rng.IntN(len(apps))], dns.TypeA}
		case r < 0.6:
			qs[i] = q{tasks[rng.IntN(len(tasks))], dns.TypeA}
		case r < 0.8:
			qs[i] = q{srvs[rng.IntN(len(srvs))], dns.TypeSRV}
		case r < 0.9:
			qs[i] = q{"nope-1.marathon.mesos.", dns.TypeA}
		default:
			qs[i] = q{"_nope-1._tcp.marathon.mesos.", dns.TypeSRV}
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := qs[i%len(qs)]
		i++
		s.set.LookupLimit(c.name, "mesos.", c.t, 1232)
	}
}
