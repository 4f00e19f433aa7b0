package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestZoneReachedThroughRewrite: a mesos zone outside its server block's keys gets
// names only through a rewrite in front of the plugin. With one, the block's names
// renamed into the zone are answered, under the names asked, and the start warns of
// nothing; without, the start warns, naming the zone and the block's zones.
func TestZoneReachedThroughRewrite(t *testing.T) {
	m := startMaster(t, domainState("aws/us-west-2a"))
	block := func(port int, rewrite string) string {
		return fmt.Sprintf("example.org:%d {\n    bind 127.0.0.1\n%s    mesos mesos {\n        masters %s\n    }\n}\n", port, rewrite, m.URL())
	}
	const warning = "zone mesos. is outside the server block's zones [example.org.]"

	port := freePort(t)
	s := startCoreDNSWith(t, mesosBlock(m.URL(), ""), block(port, "    rewrite name suffix .example.org. .mesos. answer auto\n"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var last *dns.Msg
	eventually(t, "web.marathon.example.org answered through rewrite", 2*minWait, func() bool {
		r, err := exchange(addr, "udp", "web.marathon.example.org.", dns.TypeA, 1232)
		last = r
		return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 3
	})
	got := rdatas(last)
	slices.Sort(got)
	if strings.Join(got, " ") != "127.0.9.1 127.0.9.2 127.0.9.3" || last.Answer[0].Header().Name != "web.marathon.example.org." {
		t.Errorf("through rewrite: %v", last.Answer)
	}
	if strings.Contains(s.log.String(), warning) {
		t.Errorf("warned with a rewrite in the block:\n%s", s.log.String())
	}

	port = freePort(t)
	s = startCoreDNSWith(t, mesosBlock(m.URL(), ""), block(port, ""))
	eventually(t, "the warning", 2*minWait, func() bool { return strings.Contains(s.log.String(), warning) })
	r, err := exchange(fmt.Sprintf("127.0.0.1:%d", port), "udp", "web.marathon.example.org.", dns.TypeA, 1232)
	if err != nil || len(r.Answer) != 0 {
		t.Errorf("without rewrite, a name of the block answered: %v %v", r, err)
	}
}
