package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/api"
)

// domainJSON is an agent's DomainInfo, or nothing for an agent in none.
func domainJSON(region, zone string) string {
	if region == "" {
		return ""
	}
	return fmt.Sprintf(`,"domain":{"fault_domain":{"region":{"name":%q},"zone":{"name":%q}}}`, region, zone)
}

// domainState is three agents: a-S1 (127.0.0.2) in zone1, a-S2 (127.0.0.3) in
// aws/us-west-2b, both of region aws/us-west-2, and a-S3 (127.0.0.4) in no domain;
// the app web has a task on each, with a resource port, and db one on a-S1.
func domainState(zone1 string) []byte {
	task := func(id, name, agent string, port int, ips ...string) string {
		as := make([]string, 0, len(ips))
		for _, ip := range ips {
			as = append(as, fmt.Sprintf(`{"ip_address":%q}`, ip))
		}
		return fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_RUNNING","resources":{"ports":"[%d-%d]"},`+
			`"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[%s]}]}}]}`,
			id, name, agent, port, port, strings.Join(as, ","))
	}
	return []byte(`{"leader":"master@127.0.0.1:5050","slaves":[` +
		`{"id":"a-S1","hostname":"h1","pid":"slave(1)@127.0.0.2:5051"` + domainJSON("aws/us-west-2", zone1) + `},` +
		`{"id":"a-S2","hostname":"h2","pid":"slave(1)@127.0.0.3:5051"` + domainJSON("aws/us-west-2", "aws/us-west-2b") + `},` +
		`{"id":"a-S3","hostname":"h3","pid":"slave(1)@127.0.0.4:5051"}],` +
		`"frameworks":[{"id":"f","name":"marathon","tasks":[` +
		task("web.1", "web", "a-S1", 31001, "127.0.9.1") + "," +
		task("web.2", "web", "a-S2", 31002, "127.0.9.2", "fd00::9:2") + "," +
		task("web.3", "web", "a-S3", 31003, "127.0.9.3") + "," +
		task("db.1", "db", "a-S1", 31004, "127.0.9.4") +
		`]}]}`)
}

var digStatus = regexp.MustCompile(`status: ([A-Z]+)`)

// digRcode asks with dig and returns the reply's status and its authority section's
// record types.
func digRcode(t *testing.T, addr, qtype, name string) (status string, authority []string) {
	t.Helper()
	out, err := digOutput("@127.0.0.1", "-p", portOf(addr), "+noall", "+comments", "+authority", "+tries=1", "+time=2", qtype, name)
	if err != nil {
		t.Fatalf("dig %s %s: %v", qtype, name, err)
	}
	m := digStatus.FindSubmatch(out)
	if m == nil {
		t.Fatalf("dig %s %s: no status in\n%s", qtype, name, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && !strings.HasPrefix(line, ";") {
			authority = append(authority, f[3])
		}
	}
	return string(m[1]), authority
}

// TestDomainNames checks naming.md's "Names by fault domain" with dig on the real
// binary, polling and streaming: pin and prefer, by zone and region, for A, AAAA and
// SRV (with the targets' addresses in the additional section), NODATA and NXDOMAIN,
// an agent moving to another zone, and the HTTP API's blocking query on a name by
// fault domain waking when its answer changes.
func TestDomainNames(t *testing.T) {
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	for _, mode := range []string{"poll", "stream"} {
		t.Run(mode, func(t *testing.T) { domainNames(t, mode) })
	}
}

func domainNames(t *testing.T, mode string) {
	t.Helper()
	m := startMaster(t, domainState("aws/us-west-2a"))
	m.SetStream(mode == "stream")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        mode "+mode+"\n        http "+apiAddr+"\n"))
	s.waitReady()
	check := func(qtype, name string, want ...string) {
		t.Helper()
		digCheck(t, s.addr, qtype, name, want...)
	}
	rcode := func(qtype, name, want string) {
		t.Helper()
		status, auth := digRcode(t, s.addr, qtype, name)
		if status != want || !slices.Equal(auth, []string{"SOA"}) {
			t.Errorf("%s %s: %s with authority %v, want %s with the SOA", qtype, name, status, auth, want)
		}
	}

	check("A", "us-west-2a.pin._zone.web.marathon.mesos", "127.0.9.1")
	check("A", "us-west-2b.pin._zone.web.marathon.mesos", "127.0.9.2")
	check("AAAA", "us-west-2b.pin._zone.web.marathon.mesos", "fd00::9:2")
	check("A", "US-West-2A.Prefer._zone.web.marathon.mesos", "127.0.9.1")
	check("A", "us-west-2.pin._region.web.marathon.mesos", "127.0.9.1", "127.0.9.2")
	check("A", "us-west-2a.pin._zone.web.marathon.slave.mesos", "127.0.0.2")
	check("A", "us-west-2a.pin._zone.db.marathon.mesos", "127.0.9.4")
	// pin in a zone with no task: NODATA; prefer there falls back to every task (the
	// one in no domain too).
	rcode("A", "us-west-2c.pin._zone.web.marathon.mesos", "NOERROR")
	check("A", "us-west-2c.pin._zone.web.marathon.mesos")
	check("A", "us-west-2c.prefer._zone.web.marathon.mesos", "127.0.9.1", "127.0.9.2", "127.0.9.3")
	check("A", "eu-central-1.prefer._region.web.marathon.mesos", "127.0.9.1", "127.0.9.2", "127.0.9.3")
	rcode("AAAA", "us-west-2a.pin._zone.web.marathon.mesos", "NOERROR")
	rcode("A", "us-west-2b.pin._zone.db.marathon.mesos", "NOERROR")
	// An unknown N, or one that gathers no task group, is NXDOMAIN.
	rcode("A", "us-west-2a.pin._zone.nope.marathon.mesos", "NXDOMAIN")
	rcode("A", "us-west-2a.pin._zone.leader.mesos", "NXDOMAIN")
	rcode("TXT", "pin._zone.web.marathon.mesos", "NOERROR")

	// SRV: the targets in the zone, their addresses in the additional section.
	check("SRV", "us-west-2a.pin._zone._web._tcp.marathon.mesos", "31001 web-*-s1.marathon.slave.mesos.")
	check("SRV", "us-west-2.pin._region._web._tcp.marathon.slave.mesos", "31001 web-*-s1.marathon.slave.mesos.", "31002 web-*-s2.marathon.slave.mesos.")
	check("SRV", "us-west-2c.prefer._zone._web._tcp.marathon.mesos",
		"31001 web-*-s1.marathon.slave.mesos.", "31002 web-*-s2.marathon.slave.mesos.", "31003 web-*-s3.marathon.slave.mesos.")
	out, err := digOutput("@127.0.0.1", "-p", portOf(s.addr), "+noall", "+additional", "SRV", "us-west-2b.pin._zone._web._tcp.marathon.mesos")
	if err != nil || !strings.Contains(string(out), "127.0.0.3") || strings.Contains(string(out), "127.0.0.2") {
		t.Errorf("additional section of a pinned SRV answer: %q %v", out, err)
	}

	// The HTTP API answers the same names, and a blocking query on one wakes when an
	// agent moves into its zone.
	get := func(path string) (int, string, []api.Host) {
		resp, err := http.Get("http://" + apiAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hosts []api.Host
		json.Unmarshal(b, &hosts)
		return resp.StatusCode, resp.Header.Get(api.IndexHeader), hosts
	}
	const watched = "/v1/hosts/us-west-2b.pin._zone.web.marathon.mesos."
	code, index, hosts := get(watched)
	if code != http.StatusOK || len(hosts) != 2 || hosts[0].IP != "127.0.9.2" || hosts[1].IP != "fd00::9:2" {
		t.Fatalf("%s: %d %v", watched, code, hosts)
	}
	woke := make(chan []api.Host, 1)
	go func() {
		_, _, hosts := get(watched + "?wait=20s&index=" + index)
		woke <- hosts
	}()

	eventually(t, "the blocking query to wait", 5*time.Second, func() bool {
		return s.metric("coredns_mesos_http_watches") == 1
	})
	select {
	case hosts := <-woke:
		t.Fatalf("the blocking query returned %v with nothing changed", hosts)
	default:
	}

	// a-S1 moves to aws/us-west-2b.
	if mode == "stream" {
		m.Emit(`{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"id":{"value":"a-S1"},"hostname":"h1","port":5051` +
			domainJSON("aws/us-west-2", "aws/us-west-2b") + `},"pid":"slave(1)@127.0.0.2:5051","active":true}}}`)
	} else {
		m.SetState(domainState("aws/us-west-2b"))
	}
	select {
	case hosts := <-woke:
		ips := make([]string, 0, len(hosts))
		for _, h := range hosts {
			ips = append(ips, h.IP)
		}
		slices.Sort(ips)
		if !slices.Equal(ips, []string{"127.0.9.1", "127.0.9.2", "fd00::9:2"}) {
			t.Errorf("the blocking query woke with %v", ips)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the blocking query on a name by fault domain did not wake when an agent moved into its zone")
	}
	check("A", "us-west-2b.pin._zone.web.marathon.mesos", "127.0.9.1", "127.0.9.2")
	rcode("A", "us-west-2a.pin._zone.web.marathon.mesos", "NOERROR")
	check("A", "us-west-2a.pin._zone.web.marathon.mesos")
	check("A", "us-west-2a.prefer._zone.web.marathon.mesos", "127.0.9.1", "127.0.9.2", "127.0.9.3")
}

// TestZoneTemplate renders README's per-zone nginx upstream with mesos-watch: the
// tasks of web in zone us-west-2a, then, once none is there, every task of web.
func TestZoneTemplate(t *testing.T) {
	m := startMaster(t, domainState("aws/us-west-2a"))
	m.SetStream(false)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        mode poll\n        http "+apiAddr+"\n"))
	s.waitReady()
	render := func() string {
		t.Helper()
		out := t.TempDir() + "/upstream.conf"
		b, err := exec.Command(watchBin, "-api", "http://"+apiAddr, "-template", "../examples/nginx-upstream-zone.tmpl", "-out", out, "-once").CombinedOutput()
		if err != nil {
			t.Fatalf("mesos-watch -once: %v\n%s", err, b)
		}
		got, _ := os.ReadFile(out)
		return string(got)
	}
	if got := render(); !strings.Contains(got, "server 127.0.0.2:31001;") || strings.Count(got, "server ") != 1 {
		t.Errorf("zone us-west-2a:\n%s", got)
	}
	m.SetState(domainState("aws/us-west-2c"))
	eventually(t, "us-west-2a to empty", 5*time.Second, func() bool {
		return strings.Count(render(), "server 127.0.0.") == 3
	})
}
