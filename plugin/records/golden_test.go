package records

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden builds every capture's records and compares them, record by record, with
// a golden file that a person has read. Rewrite with: go test -run TestGolden -update
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d captures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st, err := state.Decode(r)
			if err != nil {
				t.Fatal(err)
			}
			o := DefaultOptions()
			o.Now = func() time.Time { return clockAt(1700000000) }
			// The 0.19 capture's framework has no pid, only the host name of its VM.
			o.Hosts = NewHostCache(&fakeResolver{addrs: map[string][]netip.Addr{
				"mesos.vm": {netip.MustParseAddr("10.141.141.10")},
			}})
			s := Build(context.Background(), st, o, nil)
			checkGolden(t, s, strings.TrimSuffix(filepath.Base(f), ".json"))
			sameAsReference(t, filepath.Base(f), s, st, &o, map[string][]netip.Addr{"mesos.vm": {netip.MustParseAddr("10.141.141.10")}})
		})
	}
}

// TestGoldenEvents replays every event-stream capture (and every GET_STATE answer)
// into a Cluster and compares the records with a golden file that a person has read:
// every event type applied, from real masters.
func TestGoldenEvents(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/events-*.jsonl")
	more, _ := filepath.Glob("../../testdata/mesos/getstate-*.json")
	files = append(files, more...)
	if len(files) < 7 {
		t.Fatalf("found %d captures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c state.Cluster
			records := strings.Split(strings.TrimSpace(string(raw)), "\n")
			if strings.HasSuffix(f, ".json") {
				records = []string{string(raw)}
			}
			for n, rec := range records {
				ev, err := state.DecodeEvent([]byte(rec))
				if err != nil {
					t.Fatalf("record %d: %v", n+1, err)
				}
				c.Apply(ev)
			}
			c.Leader = state.PID{ID: "master", Host: "10.0.0.2", Port: 5050}
			o := DefaultOptions()
			o.Now = func() time.Time { return clockAt(1700000000) }
			s := Build(context.Background(), c.State(), o, nil)
			name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".jsonl")
			checkGolden(t, s, name)
			sameAsReference(t, filepath.Base(f), s, c.State(), &o, nil)
			if slices.ContainsFunc(c.State().Agents, func(a state.Agent) bool { return a.Zone != "" }) {
				sameDomainNamesAsReference(t, filepath.Base(f), s, c.State(), &o, nil, false)
				checkDomainGolden(t, s, c.State(), &o, name)
			}
			if autoCaptures[name] {
				// The same cluster with ip_sources auto: a task behind its agent's
				// ports answers with the agent's addresses.
				o.IPSources = []IPSource{SourceAuto}
				s := Build(context.Background(), c.State(), o, nil)
				checkGolden(t, s, name+".auto")
				sameAsReference(t, filepath.Base(f)+" (auto)", s, c.State(), &o, nil)
			}
		})
	}
}

// autoCaptures are the captures with Docker bridges and port mappings, whose records
// are also read with ip_sources auto.
var autoCaptures = map[string]bool{"events-1.5.0-docker": true, "events-1.9.0-after-failover": true}

// firstDiff returns the first line (from 1) where texts a and b differ, and the two
// lines there.
func firstDiff(a, b string) (line int, x, y string, differ bool) {
	if a == b {
		return 0, "", "", false
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		x, y = "", ""
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return i + 1, x, y, true
		}
	}
	return 0, "", "", false
}

// checkGolden compares the records of s, in canonical order, with testdata/golden/
// NAME.zone, and checks that a lookup of every one of them returns it.
func checkGolden(t *testing.T, s *Set, name string) {
	t.Helper()
	var b strings.Builder
	s.Walk("mesos.", func(rr dns.RR) bool {
		b.WriteString(rr.String())
		b.WriteByte('\n')
		return true
	})
	got := b.String()
	golden := filepath.Join("testdata", "golden", name+".zone")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantB, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if line, g, w, differ := firstDiff(got, string(wantB)); differ {
		t.Fatalf("%s differs at line %d:\n got  %s\n want %s", golden, line, g, w)
	}
	// Every record in the golden file is what a lookup of its name returns.
	for line := range strings.SplitSeq(strings.TrimSpace(got), "\n") {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("golden line %q: %v", line, err)
		}
		ans, _, ok := s.Lookup(rr.Header().Name, "mesos.", rr.Header().Rrtype)
		found := false
		for _, a := range ans {
			found = found || dns.IsDuplicate(a, rr)
		}
		if !ok || !found {
			t.Errorf("lookup of %s %s does not return %s", rr.Header().Name, dns.TypeToString[rr.Header().Rrtype], line)
		}
	}
}

// checkDomainGolden compares the answers of the names by fault domain of every group
// name, in each zone and region of st's agents and in one no agent is in, with
// testdata/golden/NAME.domains.zone, which a person has read.
func checkDomainGolden(t *testing.T, s *Set, st *state.State, o *Options, name string) {
	t.Helper()
	ref := referenceZone(st, o, nil)
	groups := make([]string, 0, len(ref.groups))
	for g := range ref.groups {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	prefixes := []string{"nowhere.pin._zone.", "nowhere.prefer._zone."}
	seen := map[string]bool{}
	for _, a := range st.Agents {
		if a.Zone == "" {
			continue
		}
		for _, p := range []string{domainLabel(a.Zone) + ".%s._zone.", domainLabel(a.Region) + ".%s._region."} {
			for _, kind := range []string{"pin", "prefer"} {
				if q := fmt.Sprintf(p, kind); !seen[q] {
					seen[q] = true
					prefixes = append(prefixes, q)
				}
			}
		}
	}
	var b strings.Builder
	for _, g := range groups {
		for _, p := range prefixes {
			q := p + g + ".mesos."
			fmt.Fprintf(&b, "; %s\n", q)
			for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				ans, _, _ := s.Lookup(q, "mesos.", qt)
				for _, rr := range ans {
					b.WriteString(rr.String())
					b.WriteByte('\n')
				}
			}
		}
	}
	golden := filepath.Join("testdata", "golden", name+".domains.zone")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if line, g, w, differ := firstDiff(b.String(), string(want)); differ {
		t.Fatalf("%s differs at line %d:\n got  %s\n want %s", golden, line, g, w)
	}
}
