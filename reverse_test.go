package mesos

import (
	"context"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/test/fakemaster"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func TestPTR(t *testing.T) {
	zones := []string{"mesos.", "in-addr.arpa.", "ip6.arpa."}
	js, err := os.ReadFile("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	dcos, err := state.Decode(strings.NewReader(string(js)))
	if err != nil {
		t.Fatal(err)
	}
	synthetic := synthCluster(t, synth.Config{Tasks: 400, Agents: 6, Frameworks: 3, Seed: 5})
	var totalPTR, totalShared int
	canonical := regexp.MustCompile(`^[a-z0-9-]+-[a-z0-9]{5}(-s[0-9]+)?\.[^.]+\.mesos\.$`)
	for _, tc := range []struct {
		name    string
		st      *state.State
		sources []records.IPSource
	}{
		{"dcos", dcos, nil},
		{"synthetic", synthetic, nil},
		// Host networking: the tasks of an agent share its address.
		{"synthetic_host", synthetic, []records.IPSource{records.SourceHost}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := records.DefaultOptions()
			o.Zones, o.ReverseZones = zones[:1], zones[1:]
			if tc.sources != nil {
				o.IPSources = tc.sources
			}
			s := records.Build(context.Background(), tc.st, o, nil)
			m := &Mesos{Zones: zones, Next: test.NextHandler(nextRcode, nil)}
			m.set.Store(s)

			// The canonical names C.F.D (a task label, its hash, its agent's S), and
			// the addresses they hold.
			holders := map[netip.Addr][]string{}
			s.Walk("mesos.", func(rr dns.RR) bool {
				name := rr.Header().Name
				if !canonical.MatchString(name) {
					return true
				}
				var a netip.Addr
				switch rr := rr.(type) {
				case *dns.A:
					a, _ = netip.AddrFromSlice(rr.A.To4())
				case *dns.AAAA:
					a, _ = netip.AddrFromSlice(rr.AAAA)
				default:
					return true
				}
				holders[a] = append(holders[a], name)
				return true
			})
			if len(holders) == 0 {
				t.Fatal("no task addresses")
			}
			ptrs, shared := 0, 0
			for a, names := range holders {
				q, _ := dns.ReverseAddr(a.String())
				zone := "in-addr.arpa."
				if a.Is6() {
					zone = "ip6.arpa."
				}
				r, _ := serve(t, m, q, dns.TypePTR)
				if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
					t.Errorf("%s: rcode %d", q, r.Rcode)
					continue
				}
				if len(names) == 1 {
					ptrs++
					if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != names[0] {
						t.Errorf("%s: %v, want PTR %s", q, r.Answer, names[0])
					}
				} else {
					shared++
					if len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Name != zone {
						t.Errorf("%s, held by %v: %v, want NODATA", q, names, r)
					}
				}
				// Another type at the name: NODATA.
				if r, _ := serve(t, m, q, dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
					t.Errorf("%s A: %v", q, r)
				}
			}
			totalPTR, totalShared = totalPTR+ptrs, totalShared+shared
			t.Logf("%d PTR, %d shared addresses", ptrs, shared)

			// The zone transfer holds exactly the PTR records.
			var walked []string
			s.Walk("in-addr.arpa.", func(rr dns.RR) bool {
				if p, ok := rr.(*dns.PTR); ok {
					walked = append(walked, p.Hdr.Name+" "+p.Ptr)
				}
				return true
			})
			var want []string
			for a, names := range holders {
				if q, _ := dns.ReverseAddr(a.String()); len(names) == 1 && a.Is4() {
					want = append(want, q+" "+names[0])
				}
			}
			slices.Sort(want)
			if !slices.Equal(walked, want) && !slices.Equal(sortedCopy(walked), want) {
				t.Errorf("walk:\n%v\nwant\n%v", walked, want)
			}
		})
	}
	if totalPTR < 100 || totalShared < 3 {
		t.Errorf("%d PTR and %d shared addresses checked", totalPTR, totalShared)
	}
	// NXDOMAIN, an empty non-terminal, the apex.
	m := handler(t, []string{"mesos.", "10.in-addr.arpa."})
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
		n     int
	}{
		{"10.in-addr.arpa.", dns.TypeSOA, dns.RcodeSuccess, 1},
		{"10.in-addr.arpa.", dns.TypeNS, dns.RcodeSuccess, 1},
		{"9.9.9.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, 0},
		{"1.0.9.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, 1},
		// Above it, empty non-terminals.
		{"0.9.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, 0},
		{"9.10.in-addr.arpa.", dns.TypeA, dns.RcodeSuccess, 0},
		// In the forward zone, nothing of it.
		{"1.0.9.10.in-addr.arpa.mesos.", dns.TypePTR, dns.RcodeNameError, 0},
	} {
		r, _ := serve(t, m, tc.name, tc.qtype)
		if r.Rcode != tc.rcode || len(r.Answer) != tc.n {
			t.Errorf("%s %s: %v", tc.name, dns.TypeToString[tc.qtype], r)
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestReverseZoneNameServer: a reverse zone's SOA primary and NS target is a name that
// resolves, the forward zone's ns1 (ns1 of the reverse zone does not exist), or the
// configured soa_mname.
func TestReverseZoneNameServer(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos mesos. 10.in-addr.arpa. {\n        masters %s\n    }\n}\n", fm.URL())
	deadline := time.Now().Add(30 * time.Second)
	for answers(addr, "leader.mesos.") != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	soa := exchange(t, addr, "10.in-addr.arpa.", dns.TypeSOA)
	ns := exchange(t, addr, "10.in-addr.arpa.", dns.TypeNS)
	if len(soa.Answer) != 1 || len(ns.Answer) != 1 {
		t.Fatalf("SOA %v\nNS %v", soa, ns)
	}
	for _, name := range []string{soa.Answer[0].(*dns.SOA).Ns, ns.Answer[0].(*dns.NS).Ns} {
		r := exchange(t, addr, name, dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
			t.Errorf("the reverse zone's name server %s: %v, want the server's address", name, r)
		}
	}

	s := build(t, stateWith(""), func(o *records.Options) {
		o.Zones, o.ReverseZones = []string{"mesos."}, []string{"in-addr.arpa."}
		o.SOA.Mname = "ns.example.org."
	})
	if got, ns := s.SOA("in-addr.arpa.").Ns, s.NS("in-addr.arpa.").Ns; got != "ns.example.org." || ns != got {
		t.Errorf("soa_mname ns.example.org: the reverse zone's SOA names %s, NS %s", got, ns)
	}
}
