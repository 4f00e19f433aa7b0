package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestNotifySecondaries: three CoreDNS secondary instances pull the zone from the
// plugin; after a change on the fake master each answers the new record within a
// second, where without NOTIFY they would wait for the SOA refresh (60 s).
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
			for time.Since(start) < 5*time.Second {
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
		if d == 0 || d > time.Second {
			t.Errorf("secondary %d: the new record after %v, want within 1 s\n%s", i, d, secondaries[i].log.String())
		} else {
			t.Logf("secondary %d answered the new record after %v", i, d)
		}
	}
	if n := primary.metric("coredns_mesos_notifies_total", `result="ok"`); n < 1 {
		t.Errorf("notifies_total{result=ok} = %v", n)
	}
}
