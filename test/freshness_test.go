package e2e

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

// BenchmarkFreshness measures, on loopback with the real binary, the time from a
// change on the fake master to the first DNS answer that shows it: a launch (the name
// appears) and a kill (it goes), with 200 other task events a second in the
// background. Each iteration is one change; p50/p99/max are reported.
//
//	go test -run '^$' -bench 'Freshness/stream' -benchtime 100x ./test
//	go test -run '^$' -bench 'Freshness/poll' -benchtime 4x ./test      # at the default refresh, 30 s
func BenchmarkFreshness(b *testing.B) {
	for _, tasks := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("stream/tasks=%d", tasks), func(b *testing.B) { freshness(b, tasks, "stream") })
	}
	b.Run("poll/tasks=10000", func(b *testing.B) { freshness(b, 10000, "poll") })
}

func freshness(b *testing.B, tasks int, mode string) {
	b.Helper()
	c := newSynth(b, tasks)
	agent, fw, fname := c.agent, c.fw, c.fwName
	m := startMaster(b, c.doc)
	block := fmt.Sprintf("    mesos {\n        masters %s\n        mode %s\n        timeout 60s\n    }", m.URL(), mode)
	s := startCoreDNS(b, block)
	s.waitReady()

	added := func(id, name string) string { return fakemaster.TaskRunning(fw, agent, id, name) }
	killed := func(id string) string { return fakemaster.TaskKilled(fw, id) }
	// 200 events a second on other names: 100 launches and 100 kills.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if mode == "stream" {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				m.Emit(added(fmt.Sprintf("churn.%d", i), fmt.Sprintf("churn-%d", i%50)))
				if i >= 50 {
					m.Emit(killed(fmt.Sprintf("churn.%d", i-50)))
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	zone := "." + labelOf(fname) + ".mesos."
	launch, kill := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	base := c.doc
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("fresh-%d", i)
		id := name + ".1"
		start := time.Now()
		if mode == "stream" {
			m.Emit(added(id, name))
		} else {
			base = withTask(b, base, fw, id, name, agent)
			m.SetState(base)
		}
		launch = append(launch, waitFor(b, s.addr, name+zone, true).Sub(start))
		start = time.Now()
		if mode == "stream" {
			m.Emit(killed(id))
		} else {
			base = withoutTask(base, id)
			m.SetState(base)
		}
		kill = append(kill, waitFor(b, s.addr, name+zone, false).Sub(start))
	}
	b.StopTimer()
	report(b, "launch", launch)
	report(b, "kill", kill)
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid)); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB"))); err == nil {
					b.ReportMetric(float64(n)/1024, "rss-MB")
				}
			}
		}
	}
}

// waitFor asks for name every millisecond until it exists (or is gone) and returns
// when it first did.
func waitFor(b *testing.B, addr, name string, exists bool) time.Time {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r, err := exchange(addr, "udp", name, dns.TypeA, 1232)
		if err == nil && (r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0) == exists {
			return time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("%s never became %v", name, exists)
	return time.Time{}
}

func report(b *testing.B, what string, d []time.Duration) {
	b.Helper()
	slices.Sort(d)
	q := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), what+"-p50-ms")
	b.ReportMetric(q(0.99), what+"-p99-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, what+"-max-ms")
}

func labelOf(s string) string {
	var out []byte
	for _, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			out = append(out, c)
		case c == '.', c == '_':
			out = append(out, '-')
		}
	}
	return string(out)
}

// withTask and withoutTask change a /master/state document, for poll mode.
func withTask(b *testing.B, doc []byte, fw, id, name, agent string) []byte {
	b.Helper()
	marker := []byte(fmt.Sprintf(`"id":%q`, fw))
	i := bytes.Index(doc, marker)
	if i < 0 {
		b.Fatalf("framework %s not in the state", fw)
	}
	j := bytes.Index(doc[i:], []byte(`"tasks":[`))
	if j < 0 {
		b.Fatal("no tasks array")
	}
	at := i + j + len(`"tasks":[`)
	task := fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_RUNNING"},`, id, name, agent)
	return slices.Concat(doc[:at], []byte(task), doc[at:])
}

func withoutTask(doc []byte, id string) []byte {
	i := bytes.Index(doc, []byte(fmt.Sprintf(`{"id":%q,`, id)))
	if i < 0 {
		return doc
	}
	j := bytes.Index(doc[i:], []byte("},"))
	return slices.Concat(doc[:i], doc[i+j+2:])
}
