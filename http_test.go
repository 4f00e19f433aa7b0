package mesos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/fixture"
	"github.com/coredns-mesos/mesos/plugin/api"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/test/fakemaster"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

type httpAnswer struct {
	code  int
	index uint32
	body  []byte
}

func httpGet(t *testing.T, url string) httpAnswer {
	t.Helper()
	code, index, body := fixture.Get(t, url, api.IndexHeader)
	return httpAnswer{code: code, index: index, body: body}
}

// startAPI starts CoreDNS in process with the HTTP API on a free port, reading a fake
// master that serves the capture; it returns the master, the DNS address and the API's
// base URL, once the API answers for name.
func startAPI(t *testing.T, capture, extra, name string) (*fakemaster.Master, string, string) {
	t.Helper()
	js, err := fakemaster.ReadCapture(capture)
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        http %s\n%s    }\n}\n", fm.URL(), httpAddr, extra)
	base := "http://" + httpAddr
	deadline := time.Now().Add(10 * time.Second)
	for httpGet(t, base+"/v1/hosts/"+name).code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the API never answered %s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fm, addr, base
}

func exchange(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(65000, false)
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// TestHTTPAPIMatchesDNS compares, for every name of every state capture, the hosts and
// services answers with the DNS answers of the same server over TCP: the fields
// Mesos-DNS gives, with the intended differences (every address of a target, the port
// also as a number).
func TestHTTPAPIMatchesDNS(t *testing.T) {
	captures, _ := filepath.Glob("testdata/mesos/state-*.json")
	if len(captures) == 0 {
		t.Fatal("no captures")
	}
	for _, capture := range captures {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			_, addr, base := startAPI(t, capture, "", "leader.mesos")
			// The names: from a build of the same state.
			js, err := fakemaster.ReadCapture(capture)
			if err != nil {
				t.Fatal(err)
			}
			js, err = fakemaster.Rewrite(js)
			if err != nil {
				t.Fatal(err)
			}
			st, err := state.Decode(bytes.NewReader(js))
			if err != nil {
				t.Fatal(err)
			}
			opts := records.DefaultOptions()
			opts.Masters = nil
			set := records.Build(context.Background(), st, opts, nil)
			owners := map[string]uint16{}
			set.Walk("mesos.", func(rr dns.RR) bool {
				owners[rr.Header().Name] |= map[uint16]uint16{dns.TypeA: 1, dns.TypeAAAA: 1, dns.TypeSRV: 2}[rr.Header().Rrtype]
				return true
			})
			checked := 0
			for owner, kinds := range owners {
				if kinds&1 != 0 {
					var want []api.Host
					for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
						for _, rr := range exchange(t, addr, owner, qt).Answer {
							switch rr := rr.(type) {
							case *dns.A:
								want = append(want, api.Host{Host: owner, IP: rr.A.String()})
							case *dns.AAAA:
								want = append(want, api.Host{Host: owner, IP: rr.AAAA.String()})
							}
						}
					}
					sameAnswer(t, base+"/v1/hosts/"+strings.TrimSuffix(owner, "."), want, func(h api.Host) string { return h.Host + " " + h.IP })
					checked++
				}
				if kinds&2 != 0 {
					r := exchange(t, addr, owner, dns.TypeSRV)
					addrs := map[string][]string{}
					for _, rr := range r.Extra {
						switch rr := rr.(type) {
						case *dns.A:
							addrs[rr.Hdr.Name] = append(addrs[rr.Hdr.Name], rr.A.String())
						case *dns.AAAA:
							addrs[rr.Hdr.Name] = append(addrs[rr.Hdr.Name], rr.AAAA.String())
						}
					}
					// The service as a client might spell it: the answer repeats it.
					given := strings.ToUpper(owner[:2]) + owner[2:len(owner)-1]
					var want []api.Service
					for _, rr := range r.Answer {
						srv := rr.(*dns.SRV)
						e := api.Service{Service: given, Host: srv.Target, Port: strconv.Itoa(int(srv.Port)), PortNumber: srv.Port}
						if len(addrs[srv.Target]) == 0 {
							want = append(want, e)
						}
						for _, ip := range addrs[srv.Target] {
							e.IP = ip
							want = append(want, e)
						}
					}
					sameAnswer(t, base+"/v1/services/"+given, want, func(e api.Service) string { return e.Host + " " + e.Port + " " + e.IP })
					checked++
				}
			}
			if checked == 0 {
				t.Error("no name checked")
			}
		})
	}
}

// sameAnswer fetches url and checks that its JSON list is want, in any order (key
// orders both).
func sameAnswer[T comparable](t *testing.T, url string, want []T, key func(T) string) {
	t.Helper()
	a := httpGet(t, url)
	var got []T
	if err := json.Unmarshal(a.body, &got); err != nil || a.code != http.StatusOK {
		t.Fatalf("%s: %d %s %v", url, a.code, a.body, err)
	}
	order := func(x, y T) int { return strings.Compare(key(x), key(y)) }
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", url, got, want)
	}
}

func TestHTTPAPIRequests(t *testing.T) {
	dir := t.TempDir()
	secret := "s3cr3t-never-shown"
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, base := startAPI(t, "testdata/mesos/state-1.5.0-dcos.json",
		"        basic_auth dcos file "+filepath.Join(dir, "secret")+"\n        ttl 30\n", "test123.marathon.mesos.")

	for _, tc := range []struct {
		path string
		code int
		body string // a substring of the body
	}{
		{"/v1/version", 200, `"Service":"CoreDNS mesos plugin"`},
		{"/v1/hosts/test123.marathon.mesos", 200, `{"host":"test123.marathon.mesos.","ip":"127.`},
		{"/v1/hosts/TEST123.Marathon.mesos.", 200, `{"host":"test123.marathon.mesos.","ip":"127.`},
		// A name that exists without addresses (an empty non-terminal) is not unknown.
		{"/v1/hosts/marathon.slave.mesos", 200, "[]"},
		{"/v1/hosts/nosuchapp.marathon.mesos", 404, "[]"},
		{"/v1/hosts/test123.marathon.example.org", 404, "[]"},
		{"/v1/services/_nosuch._tcp.marathon.mesos", 404, "[]"},
		{"/v1/services/_framework._tcp.marathon.mesos", 200, `"port":"`},
		{"/v1/hosts/" + strings.Repeat("a", 64) + ".mesos", 400, "label"},
		{"/v1/hosts/a..mesos", 400, "label"},
		{"/v1/hosts/%3Cscript%3E.mesos", 400, "not a domain name"},
		{"/v1/hosts/test123.marathon.mesos?index=x", 400, `index \"x\"`},
		{"/v1/hosts/test123.marathon.mesos?index=-1", 400, "index"},
		{"/v1/hosts/test123.marathon.mesos?wait=forever&index=1", 400, "wait"},
		{"/v1/hosts/test123.marathon.mesos?wait=-5s", 400, "wait"},
		{"/v1/hosts/test123.marathon.mesos?stale", 400, `unknown query parameter \"stale\"`},
		{"/v1/hosts/test123.marathon.mesos?%3Cb%3E=1", 400, `\u003cb\u003e`},
		{"/v1/version?x=1", 400, "unknown query parameter"},
		// Enumeration is off unless asked for.
		{"/v1/axfr", 404, ""},
		{"/v1/enumerate", 404, ""},
	} {
		a := httpGet(t, base+tc.path)
		if a.code != tc.code || !strings.Contains(string(a.body), tc.body) {
			t.Errorf("GET %s: %d %s, want %d with %s", tc.path, a.code, a.body, tc.code, tc.body)
		}
		if bytes.Contains(a.body, []byte("<")) {
			t.Errorf("GET %s: unescaped input in %s", tc.path, a.body)
		}
	}
	resp, err := http.Post(base+"/v1/version", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/version: %d", resp.StatusCode)
	}

	cfg := httpGet(t, base+"/v1/config")
	if bytes.Contains(cfg.body, []byte(secret)) {
		t.Fatalf("/v1/config shows the secret: %s", cfg.body)
	}
	var c api.ConfigJSON
	if err := json.Unmarshal(cfg.body, &c); err != nil {
		t.Fatal(err)
	}
	if c.TTL != 30 || c.Domain != "mesos" || c.MesosCredentials == nil || c.MesosCredentials.Principal != "dcos" ||
		c.EnumerationOn || c.MaxWatches != api.DefaultMaxWatches || len(c.Masters) != 1 || c.SOAMname != "ns1.mesos." {
		t.Errorf("/v1/config: %s", cfg.body)
	}
}

func TestHTTPAPIEnumeration(t *testing.T) {
	_, addr, base := startAPI(t, "testdata/mesos/state-1.5.0-dcos.json", "        http_enumerate\n", "leader.mesos")
	a := httpGet(t, base+"/v1/axfr")
	var got api.Axfr
	if err := json.Unmarshal(a.body, &got); err != nil || a.code != 200 {
		t.Fatalf("axfr: %d %s %v", a.code, a.body, err)
	}
	soa := exchange(t, addr, "mesos.", dns.TypeSOA).Answer[0].(*dns.SOA)
	if got.Serial != soa.Serial || got.TTL != 60 || got.Domain != "mesos" || got.Mname != "ns1.mesos" || got.Rname != "root.ns1.mesos" {
		t.Errorf("axfr header: %+v, SOA %v", got, soa)
	}
	for name, ips := range got.Records.As {
		var want []string
		for _, rr := range exchange(t, addr, name, dns.TypeA).Answer {
			want = append(want, rr.(*dns.A).A.String())
		}
		slices.Sort(want)
		slices.Sort(ips)
		if !slices.Equal(ips, want) {
			t.Errorf("axfr As %s: %v, DNS %v", name, ips, want)
		}
	}
	for name, targets := range got.Records.SRVs {
		var want []string
		for _, rr := range exchange(t, addr, name, dns.TypeSRV).Answer {
			want = append(want, fmt.Sprintf("%s:%d", rr.(*dns.SRV).Target, rr.(*dns.SRV).Port))
		}
		slices.Sort(want)
		slices.Sort(targets)
		if !slices.Equal(targets, want) {
			t.Errorf("axfr SRVs %s: %v, DNS %v", name, targets, want)
		}
	}
	if len(got.Records.As) < 10 || len(got.Records.SRVs) < 3 {
		t.Errorf("axfr: %d A names, %d SRV names", len(got.Records.As), len(got.Records.SRVs))
	}

	// Every record a task gives, as /v1/enumerate lists it, is one of the zone's; and
	// every running task with records is there.
	a = httpGet(t, base+"/v1/enumerate")
	var en api.Enumeration
	if err := json.Unmarshal(a.body, &en); err != nil || a.code != 200 {
		t.Fatalf("enumerate: %d %s %v", a.code, a.body, err)
	}
	zone := map[string][]string{}
	for rt, m := range map[string]map[string][]string{"A": got.Records.As, "AAAA": got.Records.AAAAs, "SRV": got.Records.SRVs} {
		for name, vs := range m {
			zone[rt+" "+name] = vs
		}
	}
	tasks, records := 0, 0
	for _, f := range en.Frameworks {
		for _, tk := range f.Tasks {
			tasks++
			if tk.ID == "" || tk.Name == "" || len(tk.Records) == 0 {
				t.Errorf("enumerate: task %+v of %s", tk, f.Name)
			}
			canonical := false
			for _, r := range tk.Records {
				records++
				if !slices.Contains(zone[r.Rtype+" "+r.Name], r.Host) {
					t.Errorf("enumerate: %s of task %s is not in the zone", r, tk.ID)
				}
				canonical = canonical || strings.HasSuffix(r.Name, "."+f.Name+".mesos.") && strings.Count(r.Name, "-") >= 1
			}
			if !canonical {
				t.Errorf("enumerate: task %s lacks its canonical name: %v", tk.ID, tk.Records)
			}
		}
	}
	var running int
	for _, m := range liveInstances() {
		if "http://"+m.cfg.http == base {
			running = m.set.Load().Stats().Tasks
		}
	}
	if tasks != running || records < 2*tasks {
		t.Errorf("enumerate: %d tasks with %d records, the set has %d running tasks", tasks, records, running)
	}
}

// watchAsync issues a blocking query and reports its answer and how long it took.
func watchAsync(url string) <-chan struct {
	a    httpAnswer
	took time.Duration
} {
	ch := make(chan struct {
		a    httpAnswer
		took time.Duration
	}, 1)
	go func() {
		start := time.Now()
		resp, err := http.Get(url) // #nosec G107 -- a loopback test server
		a := httpAnswer{code: -1}
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a.code, a.body = resp.StatusCode, b
			n, _ := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 32)
			a.index = uint32(n)
		}
		ch <- struct {
			a    httpAnswer
			took time.Duration
		}{a, time.Since(start)}
	}()
	return ch
}

func TestHTTPWatch(t *testing.T) {
	fm, _, base := startAPI(t, "testdata/mesos/state-1.5.0-dcos.json", "        max_watches 3\n", "test123.marathon.mesos")
	fw, agent, agent2 := marathonAndAgents(t)
	first := httpGet(t, base+"/v1/hosts/test123.marathon.mesos")
	other := httpGet(t, base+"/v1/hosts/watched.marathon.mesos")
	if first.index == 0 || other.code != 404 || other.index == 0 {
		t.Fatalf("first answers: %+v %+v", first, other)
	}

	// Indexes that are not the name's are answered at once, with the name's.
	for _, idx := range []uint32{first.index - 1, first.index + 1000, 0} {
		start := time.Now()
		a := httpGet(t, fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=5s", base, idx))
		if a.index != first.index || !bytes.Equal(a.body, first.body) || time.Since(start) > 2*time.Second {
			t.Errorf("index %d: %+v after %v, want %d at once", idx, a, time.Since(start), first.index)
		}
	}

	// A watch on test123 and one on watched: a task named watched starts; only the
	// second returns, at once, with the new answer and a new index.
	w1 := watchAsync(fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=1500ms", base, first.index))
	w2 := watchAsync(fmt.Sprintf("%s/v1/hosts/watched.marathon.mesos?index=%d&wait=30s", base, other.index))
	waitWatching(t, base, 2)
	fm.Emit(fakemaster.TaskRunning(fw, agent, "watched.1", "watched"))
	select {
	case r := <-w2:
		if r.a.code != 200 || r.a.index <= other.index || !bytes.Contains(r.a.body, []byte(`"host":"watched.marathon.mesos."`)) {
			t.Errorf("the watch of the changed name: %+v", r.a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch of the changed name did not return")
	}
	r := <-w1
	// wait is honoured, and its jitter is at most wait/16.
	if r.a.index != first.index || !bytes.Equal(r.a.body, first.body) || r.took < 1500*time.Millisecond || r.took > 1500*time.Millisecond*17/16+time.Second {
		t.Errorf("the watch of the untouched name: %+v after %v", r.a, r.took)
	}

	// The bound: a fourth open watch is refused.
	ws := make([]<-chan struct {
		a    httpAnswer
		took time.Duration
	}, 0, 3)
	for range 3 {
		ws = append(ws, watchAsync(fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=30s", base, first.index)))
	}
	waitWatching(t, base, 3)
	if a := httpGet(t, fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=30s", base, first.index)); a.code != http.StatusTooManyRequests {
		t.Errorf("past max_watches: %d %s", a.code, a.body)
	}
	// Another test123 instance, on each agent: one adds an address, and answers all
	// three.
	fm.Emit(fakemaster.TaskRunning(fw, agent, "test123.extra", "test123"))
	fm.Emit(fakemaster.TaskRunning(fw, agent2, "test123.extra2", "test123"))
	for _, w := range ws {
		select {
		case r := <-w:
			if r.a.code != 200 || r.a.index <= first.index {
				t.Errorf("after test123 changed: %+v", r.a)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a watch of test123 did not return")
		}
	}
}

// waitWatching waits until the API holds n open watches.
func waitWatching(t *testing.T, base string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range liveInstances() {
			if a := m.httpAPI.Load(); a != nil && "http://"+m.cfg.http == base && a.Watching() == n {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never %d open watches", n)
}

func marathonAndAgents(t *testing.T) (fw, agent, agent2 string) {
	t.Helper()
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Slaves []struct {
			ID string `json:"id"`
		} `json:"slaves"`
		Frameworks []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal(js, &st); err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Frameworks {
		if f.Name == "marathon" {
			fw = f.ID
		}
	}
	if len(st.Slaves) < 2 {
		t.Fatal("the capture has fewer than two agents")
	}
	return fw, st.Slaves[0].ID, st.Slaves[1].ID
}

// TestHTTPWatchShutdownAndReload: open watches are answered when the server stops or
// reloads, the reloaded server listens where the old one did, and no goroutine stays.
func TestHTTPWatchShutdownAndReload(t *testing.T) {
	before := runtime.NumGoroutine()
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	base := "http://" + httpAddr
	inst, _, input := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        http %s\n        ttl %d\n    }\n}\n", fm.URL(), httpAddr, 60)
	deadline := time.Now().Add(10 * time.Second)
	var first httpAnswer
	for first = httpGet(t, base+"/v1/hosts/test123.marathon.mesos"); first.code != 200; first = httpGet(t, base+"/v1/hosts/test123.marathon.mesos") {
		if time.Now().After(deadline) {
			t.Fatal("no answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=5m", base, first.index)
	var mu sync.Mutex
	watches := []<-chan struct {
		a    httpAnswer
		took time.Duration
	}{watchAsync(url), watchAsync(url)}
	waitWatching(t, base, 2)
	next, err := inst.Restart(input(fm.URL(), httpAddr, 61))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range watches {
		select {
		case r := <-w:
			if r.a.code != 200 || !bytes.Equal(r.a.body, first.body) {
				t.Errorf("a watch at reload: %+v", r.a)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a watch stayed open through the reload")
		}
	}
	after := httpGet(t, base+"/v1/hosts/test123.marathon.mesos")
	if after.code != 200 || !bytes.Equal(after.body, first.body) {
		t.Errorf("after the reload: %+v", after)
	}
	// The reload changed the TTL, so the serial: a watch takes the index the new
	// instance gives (the old one may be answered at once, as from before a restart).
	url = fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=5m", base, after.index)
	mu.Lock()
	watches = []<-chan struct {
		a    httpAnswer
		took time.Duration
	}{watchAsync(url)}
	mu.Unlock()
	waitWatching(t, base, 1)
	next.ShutdownCallbacks()
	next.Stop()
	select {
	case r := <-watches[0]:
		if r.a.code != 200 {
			t.Errorf("a watch at shutdown: %+v", r.a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a watch stayed open through the shutdown")
	}
	http.DefaultClient.CloseIdleConnections()
	var now int
	for range 100 {
		if now = runtime.NumGoroutine(); now <= before+2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if now > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, now, buf[:runtime.Stack(buf, true)])
	}
}

// TestHTTPAddressInUse: a listener that cannot be had fails the start with the
// Corefile's line and the reason, and leaves nothing running.
func TestHTTPAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fm := fakemaster.StartT(t, []byte(`{}`))
	saved := dnsserver.Directives
	dnsserver.Directives = []string{"bind", "mesos"}
	defer func() { dnsserver.Directives = saved }()
	caddy.Quiet, dnsserver.Quiet = true, true
	before := len(liveInstances())
	inst, err := caddy.Start(corefileInput(fmt.Sprintf(".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        http %s\n    }\n}\n",
		freeTCPPort(t), fm.URL(), l.Addr())))
	if err == nil {
		inst.ShutdownCallbacks()
		inst.Stop()
		t.Fatal("started with the HTTP address in use")
	}
	if !strings.Contains(err.Error(), "Corefile:5: http "+l.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %v", err)
	}
	if n := len(liveInstances()); n != before {
		t.Errorf("%d instances running after the failed start, %d before", n, before)
	}
}

// TestHTTPAfterFailedReload: a reload that fails keeps the old instance, and its API
// listens again where it did.
func TestHTTPAfterFailedReload(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	base := "http://" + httpAddr
	inst, _, input := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        http %s\n        %s\n    }\n}\n", fm.URL(), httpAddr, "ttl 60")
	deadline := time.Now().Add(10 * time.Second)
	for httpGet(t, base+"/v1/hosts/test123.marathon.mesos").code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("no answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := inst.Restart(input(fm.URL(), httpAddr, "bogus_option")); err == nil {
		t.Fatal("a Corefile with an unknown option reloaded")
	}
	if a := httpGet(t, base+"/v1/hosts/test123.marathon.mesos"); a.code != 200 || a.index == 0 {
		t.Errorf("after the failed reload: %+v", a)
	}
}
