package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// procStat reads a process's RSS (MB) and CPU time so far.
func procStat(tb testing.TB, pid int) (rssMB float64, cpu time.Duration) {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			rssMB = kb / 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return rssMB, time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

type synthCluster struct {
	doc                []byte
	apps               []synth.App
	agent, fw, fwName  string
	otherFw, otherName string
}

func newSynth(tb testing.TB, tasks int) *synthCluster {
	tb.Helper()
	var doc bytes.Buffer
	apps, err := synth.Write(&doc, synth.Config{Tasks: tasks, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	var ids struct {
		Slaves []struct {
			ID string `json:"id"`
		} `json:"slaves"`
		Frameworks []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal(doc.Bytes(), &ids); err != nil {
		tb.Fatal(err)
	}
	return &synthCluster{doc: doc.Bytes(), apps: apps, agent: ids.Slaves[0].ID, fw: ids.Frameworks[0].ID, fwName: ids.Frameworks[0].Name,
		otherFw: ids.Frameworks[1].ID, otherName: ids.Frameworks[1].Name}
}

// BenchmarkWatches holds 10,000 blocking queries open on ten names of a 10k-task
// cluster and reports what they cost the server: memory per watch, CPU per unrelated
// event while they are open against none open, and the time from a change of one
// name to each of its 1,000 watchers being answered.
//
//	go test -run x -bench Watches -benchtime 1x ./test/
func BenchmarkWatches(b *testing.B) {
	const names, per = 10, 1000
	c := newSynth(b, 10000)
	m := startMaster(b, c.doc)
	api := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	s := startCoreDNS(b, fmt.Sprintf("    mesos {\n        masters %s\n        http %s\n        max_watches 20000\n    }", m.URL(), api))
	s.waitReady()
	pid := s.cmd.Process.Pid
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: names * per, MaxConnsPerHost: 0, IdleConnTimeout: time.Hour}}
	base := "http://" + api
	index := func(name string) string {
		resp, err := client.Get(base + "/v1/hosts/" + name)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Mesos-Index")
	}
	churn := func(d time.Duration, tag string) (events int) {
		end := time.Now().Add(d)
		for i := 0; time.Now().Before(end); i++ {
			id := fmt.Sprintf("%s.%d", tag, i)
			m.Emit(fakemaster.TaskRunning(c.otherFw, c.agent, id, "unrelated"))
			m.Emit(fakemaster.TaskKilled(c.otherFw, id))
			events += 2
			time.Sleep(10 * time.Millisecond) // about 200 events a second
		}
		return events
	}
	cpuPerEvent := func(tag string) time.Duration {
		_, before := procStat(b, pid)
		n := churn(5*time.Second, tag)
		time.Sleep(200 * time.Millisecond)
		_, after := procStat(b, pid)
		return (after - before) / time.Duration(n)
	}

	for range b.N {
		quiet := cpuPerEvent("quiet")
		rssBefore, _ := procStat(b, pid)
		goBefore := s.goroutines()
		// answered[i] is when each watcher of name i was answered.
		answered := make([][]time.Time, names)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range names {
			name := fmt.Sprintf("watched-%d.%s.mesos", i, c.fwName)
			idx := index(name)
			for range per {
				wg.Go(func() {
					resp, err := client.Get(base + "/v1/hosts/" + name + "?index=" + idx + "&wait=10m")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					answered[i] = append(answered[i], time.Now())
					mu.Unlock()
				})
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for s.metric("coredns_mesos_http_watches") < names*per {
			if time.Now().After(deadline) {
				b.Fatalf("only %v watches open", s.metric("coredns_mesos_http_watches"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		rssOpen, _ := procStat(b, pid)
		goOpen := s.goroutines()
		open := cpuPerEvent("open")
		if n := s.metric("coredns_mesos_http_watches"); n != names*per {
			b.Fatalf("unrelated changes answered %v watches", names*per-n)
		}

		var lat []time.Duration
		for i := range names {
			start := time.Now()
			m.Emit(fakemaster.TaskRunning(c.fw, c.agent, fmt.Sprintf("watched.%d", i), fmt.Sprintf("watched-%d", i)))
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
				mu.Lock()
				done := len(answered[i])
				mu.Unlock()
				if done == per {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("name %d: %d of %d watchers answered", i, done, per)
				}
			}
			mu.Lock()
			for _, at := range answered[i] {
				lat = append(lat, at.Sub(start))
			}
			mu.Unlock()
		}
		wg.Wait()
		slices.Sort(lat)
		p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
		b.ReportMetric((rssOpen-rssBefore)*1024/float64(names*per), "KB/watch")
		b.ReportMetric(float64(goOpen-goBefore)/float64(names*per), "goroutines/watch")
		b.ReportMetric(float64(quiet.Microseconds()), "µs-CPU/event-no-watches")
		b.ReportMetric(float64(open.Microseconds()), "µs-CPU/event-10k-watches")
		b.ReportMetric(float64(p(0.5).Microseconds())/1000, "ms-answered-p50")
		b.ReportMetric(float64(p(0.99).Microseconds())/1000, "ms-answered-p99")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-answered-max")
		b.Logf("RSS %.0f MB before, %.0f MB with %d watches open; CPU an unrelated event %v without, %v with them",
			rssBefore, rssOpen, names*per, quiet, open)
	}
}

// dnsperfQPS runs dnsperf pinned to CPU 1 against addr and returns its q/s.
func dnsperfQPS(tb testing.TB, addr, queries string) float64 {
	tb.Helper()
	host, port := addr[:strings.LastIndexByte(addr, ':')], portOf(addr)
	out, err := exec.Command("taskset", "-c", "1", "dnsperf", "-s", host, "-p", port, "-d", queries,
		"-c", "16", "-T", "1", "-q", "100", "-l", "5").CombinedOutput()
	if err != nil {
		tb.Fatalf("dnsperf: %v\n%s", err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "Queries" && f[1] == "per" {
			v, _ := strconv.ParseFloat(f[3], 64)
			return v
		}
	}
	tb.Fatalf("no q/s in dnsperf's output:\n%s", out)
	return 0
}

// BenchmarkDNSWithWatches compares DNS throughput of a server with the HTTP API and
// 10,000 open watches against the same server without the API, alternating, each
// pinned to CPU 0 with dnsperf on CPU 1.
//
//	go test -run x -bench DNSWithWatches -benchtime 1x ./test/
func BenchmarkDNSWithWatches(b *testing.B) {
	for _, tool := range []string{"dnsperf", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("needs %s", tool)
		}
	}
	const watches = 10000
	c := newSynth(b, 10000)
	m := startMaster(b, c.doc)
	plain := startCoreDNS(b, fmt.Sprintf("    mesos {\n        masters %s\n    }", m.URL()))
	api := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	withAPI := startCoreDNS(b, fmt.Sprintf("    mesos {\n        masters %s\n        http %s\n        max_watches 20000\n    }", m.URL(), api))
	plain.waitReady()
	withAPI.waitReady()
	for _, s := range []*server{plain, withAPI} {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(s.cmd.Process.Pid)).CombinedOutput(); err != nil {
			b.Fatalf("taskset: %v\n%s", err, out)
		}
	}
	var q bytes.Buffer
	for _, a := range c.apps {
		fmt.Fprintf(&q, "%s.%s.mesos A\n_%s._tcp.%s.mesos SRV\n", a.Name, a.Framework, a.Name, a.Framework)
	}
	fmt.Fprintf(&q, "nosuch.%s.mesos A\n", c.fwName)
	queries := filepath.Join(b.TempDir(), "queries")
	os.WriteFile(queries, q.Bytes(), 0o644)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: watches, IdleConnTimeout: time.Hour}}
	name := fmt.Sprintf("%s.%s.mesos", c.apps[0].Name, c.apps[0].Framework)
	resp, err := client.Get("http://" + api + "/v1/hosts/" + name)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	idx := resp.Header.Get("X-Mesos-Index")
	for range watches {
		go func() {
			resp, err := client.Get("http://" + api + "/v1/hosts/" + name + "?index=" + idx + "&wait=10m")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for deadline := time.Now().Add(60 * time.Second); withAPI.metric("coredns_mesos_http_watches") < watches; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the watches did not open")
		}
	}
	for range b.N {
		var a, w []float64
		for r := range 4 {
			// Each goes first in turn.
			if r%2 == 0 {
				a = append(a, dnsperfQPS(b, plain.addr, queries))
				w = append(w, dnsperfQPS(b, withAPI.addr, queries))
			} else {
				w = append(w, dnsperfQPS(b, withAPI.addr, queries))
				a = append(a, dnsperfQPS(b, plain.addr, queries))
			}
		}
		med := func(v []float64) float64 {
			v = slices.Sorted(slices.Values(v))
			return (v[1] + v[2]) / 2
		}
		b.ReportMetric(med(a), "qps-without-api")
		b.ReportMetric(med(w), "qps-10k-watches")
		b.ReportMetric(med(w)/med(a), "ratio")
		b.Logf("without the API %v q/s, with 10k open watches %v q/s", a, w)
	}
	if n := withAPI.metric("coredns_mesos_http_watches"); n != watches {
		b.Errorf("%v watches open at the end", n)
	}
}

// BenchmarkSecondaryFreshness measures the time from a change on the master to a
// CoreDNS secondary answering it, for a secondary the plugin sends NOTIFY to and one it
// does not (which checks the SOA every soa_refresh, 5 s here, 60 s by default), in one
// run.
//
//	go test -run x -bench SecondaryFreshness -benchtime 1x ./test/
func BenchmarkSecondaryFreshness(b *testing.B) {
	const changes = 10
	c := newSynth(b, 10000)
	m := startMaster(b, c.doc)
	notified, silent := freePort(b), freePort(b)
	primary := startCoreDNS(b, fmt.Sprintf("    mesos {\n        masters %s\n        soa_refresh 5\n    }\n    transfer mesos {\n        to 127.0.0.1:%d *\n    }", m.URL(), notified))
	primary.waitReady()
	secs := make([]*server, 0, 2)
	for _, p := range []int{notified, silent} {
		secs = append(secs, startCoreDNSOn(b, fmt.Sprintf("127.0.0.1:%d", p), fmt.Sprintf("    secondary mesos {\n        transfer from %s\n    }", primary.addr)))
	}
	probe := fmt.Sprintf("%s.%s.mesos.", c.apps[0].Name, c.apps[0].Framework)
	for _, s := range secs {
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if r, err := exchange(s.addr, "udp", probe, 1, 1232); err == nil && len(r.Answer) > 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("secondary %s never pulled the zone", s.addr)
			}
		}
	}
	for range b.N {
		took := [2][]time.Duration{}
		for i := range changes {
			name := fmt.Sprintf("fresh-%d", i)
			start := time.Now()
			m.Emit(fakemaster.TaskRunning(c.fw, c.agent, name+".1", name))
			var wg sync.WaitGroup
			for k, s := range secs {
				wg.Go(func() {
					q := name + "." + c.fwName + ".mesos."
					for deadline := start.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						if r, err := exchange(s.addr, "udp", q, 1, 1232); err == nil && len(r.Answer) > 0 {
							took[k] = append(took[k], time.Since(start))
							return
						}
					}
					b.Errorf("secondary %d never answered %s", k, q)
				})
			}
			wg.Wait()
			// Changes spread over the refresh period, not in step with it.
			time.Sleep(time.Duration(300+i*137%700) * time.Millisecond)
		}
		for k, what := range []string{"notify", "no-notify"} {
			d := slices.Sorted(slices.Values(took[k]))
			if len(d) == 0 {
				continue
			}
			b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-p50-"+what)
			b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "ms-max-"+what)
			b.Logf("%s: %v", what, d)
		}
	}
}
