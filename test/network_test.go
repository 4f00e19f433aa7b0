package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// netTask is one task of the network-scope cluster: its app, agent, container
// network and DiscoveryInfo ports, written as a 1.x master writes them.
type netTask struct {
	id, app, agent string
	// docker is the Docker network ("BRIDGE", "HOST", "USER"); mappings are its
	// host:container port pairs.
	docker   string
	mappings [][2]int
	// ports are DiscoveryInfo ports: number, name, network-scope label ("" for none).
	ports []netPort
	// ips are the container's addresses (netinfo).
	ips []string
}

type netPort struct {
	number      int
	name, scope string
}

func (t netTask) json() string {
	ports := make([]string, 0, len(t.ports))
	for _, p := range t.ports {
		s := fmt.Sprintf(`{"number":%d,"name":%q,"protocol":"tcp"`, p.number, p.name)
		if p.scope != "" {
			s += fmt.Sprintf(`,"labels":{"labels":[{"key":"VIP_0","value":"/x:1"},{"key":"network-scope","value":%q}]}`, p.scope)
		}
		ports = append(ports, s+"}")
	}
	maps := make([]string, 0, len(t.mappings))
	for _, m := range t.mappings {
		maps = append(maps, fmt.Sprintf(`{"host_port":%d,"container_port":%d,"protocol":"tcp"}`, m[0], m[1]))
	}
	ips := make([]string, 0, len(t.ips))
	for _, ip := range t.ips {
		ips = append(ips, fmt.Sprintf(`{"ip_address":%q}`, ip))
	}
	return fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_RUNNING",`+
		`"discovery":{"visibility":"FRAMEWORK","name":%q,"ports":{"ports":[%s]}},`+
		`"container":{"type":"DOCKER","docker":{"image":"x","network":%q,"port_mappings":[%s]}},`+
		`"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[%s]}]}}]}`,
		t.id, t.app, t.agent, t.app, strings.Join(ports, ","), t.docker, strings.Join(maps, ","), strings.Join(ips, ","))
}

// netState is a cluster of two agents, 127.0.0.2 (a-S1) and 127.0.0.3 (a-S2), with
// the tasks given. The containers' own addresses are on 127.0.9.0/24 and fd00::9:0,
// where nothing listens: an answer that names one reaches nothing, as a Docker bridge
// address does from another host.
func netState(tasks ...netTask) []byte {
	ts := make([]string, 0, len(tasks))
	for _, t := range tasks {
		ts = append(ts, t.json())
	}
	return []byte(`{"leader":"master@127.0.0.1:5050","slaves":[` +
		`{"id":"a-S1","pid":"slave(1)@127.0.0.2:5051"},{"id":"a-S2","pid":"slave(1)@127.0.0.3:5051"}],` +
		`"frameworks":[{"id":"f","name":"marathon","tasks":[` + strings.Join(ts, ",") + `]}]}`)
}

// The tasks of naming.md's three cases: a Docker bridge with its port labelled host,
// one with an unlabelled port that its port mappings name (Marathon before the label),
// a container-network task, and a task on the host's network.
func netTasks(p1, p2 int) []netTask {
	return []netTask{
		{id: "web.1", app: "web", agent: "a-S1", docker: "BRIDGE", mappings: [][2]int{{p1, 8080}, {p1 + 1, 8081}},
			ports: []netPort{{p1, "http", "host"}, {8081, "admin", "container"}}, ips: []string{"127.0.9.1", "fd00::9:1"}},
		{id: "web.2", app: "web", agent: "a-S2", docker: "BRIDGE", mappings: [][2]int{{p2, 8080}},
			ports: []netPort{{p2, "http", ""}}, ips: []string{"127.0.9.2"}},
		{id: "db.1", app: "db", agent: "a-S2", docker: "USER",
			ports: []netPort{{5432, "pg", "container"}}, ips: []string{"127.0.9.3", "fd00::9:3"}},
		{id: "cache.1", app: "cache", agent: "a-S1", docker: "HOST",
			ports: []netPort{{6379, "redis", "host"}}, ips: []string{"127.0.0.2"}},
	}
}

// dig asks the server with dig and returns the answers of +short, sorted; for SRV
// "port target".
func dig(t *testing.T, addr, qtype, name string) []string {
	t.Helper()
	out, err := digOutput("@127.0.0.1", "-p", portOf(addr), "+short", "+tries=1", "+time=2", qtype, name)
	if err != nil {
		t.Fatalf("dig %s %s: %v", qtype, name, err)
	}
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		if qtype == "SRV" {
			f := strings.Fields(line) // priority weight port target
			line = f[2] + " " + f[3]
		}
		got = append(got, line)
	}
	slices.Sort(got)
	return got
}

// digCheck asks with dig and checks the answers against want: the addresses, or for
// SRV "port target" patterns (srvMatch).
func digCheck(t *testing.T, addr, qtype, name string, want ...string) {
	t.Helper()
	got := dig(t, addr, qtype, name)
	ok := srvMatch(got, want...)
	if qtype != "SRV" {
		slices.Sort(want)
		ok = slices.Equal(got, want)
	}
	if !ok {
		t.Errorf("%s %s: %q, want %q", qtype, name, got, want)
	}
}

// srvMatch reports whether the SRV answers got are the patterns want (see matchWild),
// one for one.
func srvMatch(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return matchWild(g, w) }) {
			return false
		}
	}
	return true
}

// matchWild matches s against a pattern where "*" stands for one task hash (five
// characters of the z-base-32 alphabet).
func matchWild(s, pattern string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return s == pattern
	}
	return len(s) == len(before)+5+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// TestNetworkScope checks naming.md's "Ports and the network they live on" and "The
// auto address source" with dig on the real binary, polling and streaming, and that a
// task launched on the fake master follows the same rules.
func TestNetworkScope(t *testing.T) {
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	for _, mode := range []string{"poll", "stream"} {
		for _, sources := range []string{"", "auto host"} {
			t.Run(mode+"/"+strings.ReplaceAll(orDefault(sources), " ", "_"), func(t *testing.T) {
				networkScope(t, mode, sources)
			})
		}
	}
}

func orDefault(sources string) string {
	if sources == "" {
		return "default"
	}
	return sources
}

func networkScope(t *testing.T, mode, sources string) {
	t.Helper()
	p1, p2 := 31001, 31002
	tasks := netTasks(p1, p2)
	m := startMaster(t, netState(tasks...))
	m.SetStream(mode == "stream")
	extra := "        mode " + mode + "\n"
	if sources != "" {
		extra += "        ip_sources " + sources + "\n"
	}
	s := startCoreDNS(t, mesosBlock(m.URL(), extra))
	s.waitReady()
	auto := sources != ""
	check := func(qtype, name string, want ...string) {
		t.Helper()
		digCheck(t, s.addr, qtype, name, want...)
	}

	// Ports: the agent's (labelled host, or a mapped host port without a label)
	// target the agent names, the container's the task's own.
	check("SRV", "_web._tcp.marathon.mesos",
		fmt.Sprintf("%d web-*-s1.marathon.slave.mesos.", p1),
		fmt.Sprintf("%d web-*-s2.marathon.slave.mesos.", p2),
		"8081 web-*-s1.marathon.mesos.")
	check("SRV", "_http._web._tcp.marathon.mesos",
		fmt.Sprintf("%d web-*-s1.marathon.slave.mesos.", p1),
		fmt.Sprintf("%d web-*-s2.marathon.slave.mesos.", p2))
	check("SRV", "_admin._web._tcp.marathon.mesos", "8081 web-*-s1.marathon.mesos.")
	check("SRV", "_db._tcp.marathon.mesos", "5432 db-*-s2.marathon.mesos.")
	check("SRV", "_redis._cache._tcp.marathon.mesos", "6379 cache-*-s1.marathon.slave.mesos.")
	// The agent names carry the agents' addresses, whatever the sources.
	check("A", "web.marathon.slave.mesos", "127.0.0.2", "127.0.0.3")

	// Addresses: Mesos-DNS's order gives the containers' own; auto gives the agents'
	// for the tasks behind them, and netinfo for the others.
	if auto {
		check("A", "web.marathon.mesos", "127.0.0.2", "127.0.0.3")
		check("AAAA", "web.marathon.mesos")
	} else {
		check("A", "web.marathon.mesos", "127.0.9.1", "127.0.9.2")
		check("AAAA", "web.marathon.mesos", "fd00::9:1")
	}
	check("A", "db.marathon.mesos", "127.0.9.3")
	check("AAAA", "db.marathon.mesos", "fd00::9:3")
	check("A", "cache.marathon.mesos", "127.0.0.2")

	// A task launched now, on a bridge with an unlabelled mapped port: the same rules.
	launched := netTask{id: "web.3", app: "web", agent: "a-S2", docker: "BRIDGE", mappings: [][2]int{{31003, 80}},
		ports: []netPort{{31003, "http", ""}}, ips: []string{"127.0.9.4"}}
	if mode == "stream" {
		v1, err := fakemaster.TaskToV1([]byte(launched.json()), "f")
		if err != nil {
			t.Fatal(err)
		}
		m.Emit(`{"type":"TASK_ADDED","task_added":{"task":` + v1 + `}}`)
	} else {
		m.SetState(netState(append(tasks, launched)...))
	}
	eventually(t, "the launched task's SRV record", 5*time.Second, func() bool {
		return len(dig(t, s.addr, "SRV", "_http._web._tcp.marathon.mesos")) == 3
	})
	check("SRV", "_http._web._tcp.marathon.mesos",
		fmt.Sprintf("%d web-*-s1.marathon.slave.mesos.", p1),
		fmt.Sprintf("%d web-*-s2.marathon.slave.mesos.", p2),
		"31003 web-*-s2.marathon.slave.mesos.")
	if auto {
		check("A", "web.marathon.mesos", "127.0.0.2", "127.0.0.3")
	} else {
		check("A", "web.marathon.mesos", "127.0.9.1", "127.0.9.2", "127.0.9.4")
	}
}

// TestNginxBridgeApp is the mesos-watch nginx recipe for an app on Docker bridges:
// the backends listen on their agents' addresses and ports, as Docker's port mappings
// have them, and the containers' own addresses reach nothing. nginx proxies to both
// through the upstream block that mesos-watch renders from /v1/services.
func TestNginxBridgeApp(t *testing.T) {
	if !haveTool(t, "nginx", "nginx-light") {
		return
	}
	p1, p2 := freePort(t), freePort(t)
	backend(t, fmt.Sprintf("127.0.0.2:%d", p1), "backend-one")
	backend(t, fmt.Sprintf("127.0.0.3:%d", p2), "backend-two")
	m := startMaster(t, netState(
		netTask{id: "web.1", app: "web", agent: "a-S1", docker: "BRIDGE", mappings: [][2]int{{p1, 8080}},
			ports: []netPort{{p1, "http", "host"}}, ips: []string{"127.0.9.1"}},
		netTask{id: "web.2", app: "web", agent: "a-S2", docker: "BRIDGE", mappings: [][2]int{{p2, 8080}},
			ports: []netPort{{p2, "http", ""}}, ips: []string{"127.0.9.2"}}))
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        http "+api+"\n"))
	s.waitReady()

	// The HTTP API answers as DNS does: the agents' names, addresses and ports.
	resp, err := http.Get("http://" + api + "/v1/services/_web._tcp.marathon.mesos.")
	if err != nil {
		t.Fatal(err)
	}
	var services []struct{ Host, IP, Port string }
	err = json.NewDecoder(resp.Body).Decode(&services)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sv := range services {
		if !strings.HasSuffix(sv.Host, ".marathon.slave.mesos.") {
			t.Errorf("/v1/services target %s is not an agent name", sv.Host)
		}
		got = append(got, sv.IP+":"+sv.Port)
	}
	slices.Sort(got)
	if want := []string{fmt.Sprintf("127.0.0.2:%d", p1), fmt.Sprintf("127.0.0.3:%d", p2)}; !slices.Equal(got, want) {
		t.Errorf("/v1/services: %v, want %v", got, want)
	}

	dir, nginxPort := nginxDir(t)
	upstream := filepath.Join(dir, "upstream.conf")
	once := exec.Command(watchBin, "-api", "http://"+api, "-template", "../examples/nginx-upstream.tmpl", "-out", upstream, "-once")
	if out, err := once.CombinedOutput(); err != nil {
		t.Fatalf("mesos-watch -once: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(upstream)
	if !strings.Contains(string(b), fmt.Sprintf("server 127.0.0.2:%d;", p1)) || !strings.Contains(string(b), fmt.Sprintf("server 127.0.0.3:%d;", p2)) ||
		strings.Contains(string(b), "127.0.9.") {
		t.Fatalf("upstream.conf:\n%s", b)
	}
	if out, err := exec.Command("nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx: %v\n%s", err, out)
	}
	stopNginx(t, dir, syscall.SIGQUIT)
	seen := map[string]bool{}
	eventually(t, "nginx to reach both backends", 5*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", nginxPort))
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("nginx answered %s: %s", resp.Status, b)
		}
		seen[string(b)] = true
		return seen["backend-one"] && seen["backend-two"]
	})
}

// TestMaxAnswers: with max_answers an A answer carries that many of an app's
// addresses, another window at each query, with the DO bit too (resolvers set it);
// SRV answers keep every target.
func TestMaxAnswers(t *testing.T) {
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	m := startMaster(t, recipeState(31000, 31001))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        max_answers 2\n"))
	s.waitReady()
	seen, windows := map[string]bool{}, map[string]bool{}
	for range 40 {
		got := dig(t, s.addr, "A", "cassandra-seed.marathon.mesos")
		if len(got) != 2 {
			t.Fatalf("max_answers 2: %q", got)
		}
		for _, a := range got {
			seen[a] = true
		}
		windows[strings.Join(got, " ")] = true
	}
	if len(seen) != 3 || len(windows) < 2 {
		t.Errorf("over 40 answers: addresses %v in %d windows", seen, len(windows))
	}
	out, err := digOutput("@127.0.0.1", "-p", portOf(s.addr), "+short", "+dnssec", "A", "cassandra-seed.marathon.mesos")
	if err != nil || len(strings.Fields(string(out))) != 2 {
		t.Errorf("with the DO bit: %q %v, want 2 of the 3 addresses", out, err)
	}
	if got := dig(t, s.addr, "SRV", "_cassandra-seed._tcp.marathon.mesos"); len(got) != 3 {
		t.Errorf("SRV under max_answers 2: %q, want every target", got)
	}
}
