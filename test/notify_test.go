package e2e

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestNotifySecondaries: three CoreDNS secondary instances pull the zone from the
// plugin; after a change on the fake master each answers the new record within a
// second on an idle machine, where without NOTIFY they would wait for the SOA refresh
// (60 s). The time is logged; the test fails past notifyBound, which a busy machine
// does not reach and the refresh cannot beat.
func TestNotifySecondaries(t *testing.T) {
	m := startMaster(t, recipeState(freePort(t), freePort(t)))
	ports := []int{freePort(t), freePort(t), freePort(t)}
	to := make([]string, 0, len(ports))
	for _, p := range ports {
		to = append(to, fmt.Sprintf("127.0.0.1:%d", p))
	}
	primary := startCoreDNS(t, mesosBlock(m.URL(), "")+"\n    transfer mesos {\n        to "+strings.Join(to, " ")+"\n    }")
	primary.waitReady()

	secondaries := make([]*server, 0, len(ports))
	for _, p := range ports {
		block := fmt.Sprintf("    secondary mesos {\n        transfer from %s\n    }", primary.addr)
		secondaries = append(secondaries, startCoreDNSOn(t, fmt.Sprintf("127.0.0.1:%d", p), block))
	}
	for i, s := range secondaries {
		eventually(t, fmt.Sprintf("secondary %d to pull the zone", i), 10*time.Second, func() bool {
			r, err := exchange(s.addr, "udp", "nginx.marathon.mesos.", dns.TypeA, 1232)
			return err == nil && len(r.Answer) == 2
		})
	}

	// A new task: the primary's serial grows, it sends NOTIFY, the secondaries pull.
	start := time.Now()
	m.Emit(taskAdded(t, "late.1", "late", "a-S1"))
	m.Emit(taskUpdated("late.1", "a-S1", "TASK_RUNNING", "127.0.1.9", ""))
	var wg sync.WaitGroup
	took := make([]time.Duration, len(secondaries))
	for i, s := range secondaries {
		wg.Go(func() {
			for time.Since(start) < 2*notifyBound {
				r, err := exchange(s.addr, "udp", "late.marathon.mesos.", dns.TypeA, 1232)
				if err == nil && len(r.Answer) == 1 {
					took[i] = time.Since(start)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	for i, d := range took {
		if d == 0 || d > notifyBound {
			t.Errorf("secondary %d: the new record after %v, want within %v (1 s on an idle machine)\n%s", i, d, notifyBound, secondaries[i].log.String())
		} else {
			t.Logf("secondary %d answered the new record after %v", i, d)
		}
	}
	if n := primary.metric("coredns_mesos_notifies_total", `result="ok"`); n < 1 {
		t.Errorf("notifies_total{result=ok} = %v", n)
	}
}

// TestSerialAcrossRestart: a burst of changes, then a restart of the primary, which
// remembers no serial. The secondary must take the restarted primary's NOTIFY: the
// serial never ran ahead of the clock, so the new one is above what the secondary
// holds. Before, the burst put the serial minutes ahead, and a CoreDNS secondary
// ignored every NOTIFY after the restart ("no SOA serial increase seen").
func TestSerialAcrossRestart(t *testing.T) {
	m := startMaster(t, recipeState(freePort(t), freePort(t)))
	primaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	secondaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	block := mesosBlock(m.URL(), "") + "\n    transfer mesos {\n        to " + secondaryAddr + "\n    }"
	primary := startCoreDNSOn(t, primaryAddr, block)
	primary.waitReady()
	secondary := startCoreDNSOn(t, secondaryAddr, fmt.Sprintf("    secondary mesos {\n        transfer from %s\n    }", primaryAddr))
	eventually(t, "the secondary to pull the zone", 10*time.Second, func() bool {
		r, err := exchange(secondary.addr, "udp", "nginx.marathon.mesos.", dns.TypeA, 1232)
		return err == nil && len(r.Answer) == 2
	})

	// A burst: each event its own change, as fast as the master sends them.
	const burst = 300
	for i := range burst {
		id := fmt.Sprintf("burst.%d", i)
		m.Emit(taskAdded(t, id, fmt.Sprintf("burst%d", i), "a-S1"))
		m.Emit(taskUpdated(id, "a-S1", "TASK_RUNNING", "127.0.1.9", ""))
	}
	last := fmt.Sprintf("burst%d.marathon.mesos.", burst-1)
	eventually(t, "the secondary to take the burst", 20*time.Second, func() bool {
		r, err := exchange(secondary.addr, "udp", last, dns.TypeA, 1232)
		return err == nil && len(r.Answer) == 1
	})
	held := soaSerial(t, secondary.addr)

	// The primary restarts on the same address with no memory of its serial.
	primary.cmd.Process.Signal(syscall.SIGTERM)
	primary.cmd.Wait()
	primary = startCoreDNSOn(t, primaryAddr, block)
	primary.waitReady()
	if s := soaSerial(t, primaryAddr); !serialAbove(s, held) {
		t.Errorf("the restarted primary's serial %d is not above the %d the secondary holds", s, held)
	}
	m.Emit(taskAdded(t, "after.1", "after", "a-S1"))
	m.Emit(taskUpdated("after.1", "a-S1", "TASK_RUNNING", "127.0.1.10", ""))
	eventually(t, "the secondary to take a change after the restart", 10*time.Second, func() bool {
		r, err := exchange(secondary.addr, "udp", "after.marathon.mesos.", dns.TypeA, 1232)
		return err == nil && len(r.Answer) == 1
	})
}

// notifyBound is how late a secondary may answer a change NOTIFY told it of: well
// above the second it takes on an idle machine, well below the SOA refresh (60 s).
const notifyBound = 10 * time.Second

// soaSerial is the serial of the zone mesos. at addr.
func soaSerial(t *testing.T, addr string) uint32 {
	t.Helper()
	r := ask(t, addr, "udp", "mesos.", dns.TypeSOA, 1232)
	if len(r.Answer) != 1 {
		t.Fatalf("SOA from %s: %v", addr, r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// serialAbove compares SOA serials with RFC 1982 arithmetic.
func serialAbove(a, b uint32) bool { return a != b && a-b < 1<<31 }
