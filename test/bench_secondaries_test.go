package e2e

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

// BenchmarkSecondaries: a BIND and a Knot secondary of a synthetic cluster (100k tasks,
// BENCH_TASKS to change it) while the fake master's event stream churns 200 task
// events a second, for BENCH_SECS (20) seconds, with notify_interval BENCH_NOTIFY (the
// default when unset), once with the journal (IXFR) and once without (ixfr_journal 0:
// every transfer is the whole zone), and once with no secondary at all for the
// primary's CPU. It reports the bytes the secondaries took by transfer per task
// change on the master (their own logs: xfr_bytes/change, and each one's), the time
// from a task launched on the master to each secondary answering its name (a probe
// every 500 ms, polled every 5 ms: p50_ms, p99_ms, and answered, the share it
// answered within 10 s), how long each took to bring a change in (apply_ms), the
// primary's CPU as a share of one core (cpu_share), and what the journal held at the
// end (journal_records). The secondaries are configured as README says for a large
// cluster (serial-query-rate for BIND; block-notify-after-transfer and zonefile-sync
// -1 for Knot). Run it alone:
//
//	go test -run '^$' -bench BenchmarkSecondaries -benchtime 1x ./test
func BenchmarkSecondaries(b *testing.B) {
	if !haveTool(b, "named", "bind9") || !haveTool(b, "knotd", "knot") {
		return
	}
	tasks := envInt("BENCH_TASKS", 100000)
	secs := envInt("BENCH_SECS", 20)
	c := newSynth(b, tasks)
	for _, mode := range []string{"none", "axfr", "ixfr"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				runSecondaries(b, c, mode, time.Duration(secs)*time.Second)
			}
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

var (
	// How long each took to bring a change in: BIND's transfer, Knot's whole refresh
	// (the transfer and applying it).
	bindSecs  = regexp.MustCompile(`from [0-9.#]+: Transfer completed: .*, ([0-9.]+) secs`)
	knotSecs  = regexp.MustCompile(`refresh, remote [^,]+, zone updated, ([0-9.]+) seconds`)
	bindBytes = regexp.MustCompile(`from [0-9.#]+: Transfer completed: \d+ messages, \d+ records, (\d+) bytes`)
	knotBytes = regexp.MustCompile(`[AI]XFR, incoming, remote [^,]+, finished, [0-9.]+ seconds, \d+ messages, (\d+) bytes`)
)

func sumBytes(re *regexp.Regexp, log string) int {
	n := 0
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

func runSecondaries(b *testing.B, c *synthCluster, mode string, window time.Duration) {
	b.Helper()
	m := startMaster(b, c.doc)
	bindPort, knotPort := freePort(b), freePort(b)
	primaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	extra := ""
	if v := os.Getenv("BENCH_NOTIFY"); v != "" {
		extra = "\n        notify_interval " + v
	}
	if mode == "axfr" {
		extra = "\n        ixfr_journal 0"
	}
	block := fmt.Sprintf("    mesos {\n        masters %s\n        mode stream\n        timeout 60s%s\n    }", m.URL(), extra)
	if mode != "none" {
		block += fmt.Sprintf("\n    transfer mesos {\n        to 127.0.0.1:%d 127.0.0.1:%d\n    }", bindPort, knotPort)
	}
	primary := startCoreDNSOn(b, primaryAddr, block)
	primary.waitReady()
	var secondaries []*daemon
	if mode != "none" {
		secondaries = []*daemon{startBIND(b, bindPort, "mesos.", primaryAddr), startKnot(b, knotPort, "mesos.", primaryAddr, knotLargeZone)}
		for _, d := range secondaries {
			eventually(b, d.name+" to copy the zone", 5*time.Minute, func() bool { return d.soa(b, "mesos.") != 0 })
		}
	}
	logStart := make([]int, len(secondaries))
	for i, d := range secondaries {
		logStart[i] = len(d.log.String())
	}
	pid := primary.cmd.Process.Pid
	_, cpu0 := procStat(b, pid)
	if err := m.Churn(200); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var lat [2][]time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	probes := 0
	for time.Since(start) < window {
		probes++
		name := fmt.Sprintf("probe-%d", probes)
		task, err := m.Launch(fakemaster.Launch{Name: name, Ports: 1})
		if err != nil {
			b.Fatal(err)
		}
		launched := time.Now()
		qname := name + "." + task.Framework + ".mesos."
		for i, d := range secondaries {
			wg.Go(func() {
				for time.Since(launched) < 10*time.Second {
					r, err := exchange(d.addr, "udp", qname, dns.TypeA, 1232)
					if err == nil && len(r.Answer) > 0 {
						mu.Lock()
						lat[i] = append(lat[i], time.Since(launched))
						mu.Unlock()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := m.Churn(0); err != nil {
		b.Fatal(err)
	}
	_, cpu1 := procStat(b, pid)
	cpu := cpu1 - cpu0
	wg.Wait()
	changes := 200*elapsed.Seconds() + float64(probes)
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cpu_share")
	if mode == "none" {
		return
	}
	total := 0
	for i, d := range secondaries {
		log := d.log.String()[logStart[i]:]
		re := bindBytes
		if d.name == "knot" {
			re = knotBytes
		}
		n := sumBytes(re, log)
		secs := bindSecs
		if d.name == "knot" {
			secs = knotSecs
		}
		if ms := secs.FindAllStringSubmatch(log, -1); len(ms) > 0 {
			var sum float64
			for _, m := range ms {
				v, _ := strconv.ParseFloat(m[1], 64)
				sum += v
			}
			b.ReportMetric(sum/float64(len(ms))*1000, d.name+"_apply_ms")
		}
		total += n
		ls := lat[i]
		slices.Sort(ls)
		// Whole-zone transfers at 100k tasks fall behind: what a secondary did not
		// answer within 10 s is reported, the percentiles are of what it answered.
		b.ReportMetric(float64(len(ls))/float64(probes), d.name+"_answered")
		if len(ls) > 0 {
			b.ReportMetric(float64(ls[len(ls)/2].Microseconds())/1000, d.name+"_p50_ms")
			b.ReportMetric(float64(ls[min(len(ls)-1, len(ls)*99/100)].Microseconds())/1000, d.name+"_p99_ms")
		}
		b.ReportMetric(float64(n)/changes, d.name+"_bytes/change")
	}
	b.ReportMetric(float64(total)/changes, "xfr_bytes/change")
	b.ReportMetric(primary.metric("coredns_mesos_ixfr_journal_records"), "journal_records")
	b.ReportMetric(primary.metric("coredns_mesos_transfers_total", `kind="ixfr"`), "ixfr")
	b.ReportMetric(primary.metric("coredns_mesos_transfers_total", `kind="ixfr_full"`)+primary.metric("coredns_mesos_transfers_total", `kind="axfr"`), "whole")
	if strings.Contains(primary.log.String(), "panic") {
		b.Error("the primary panicked")
	}
}
