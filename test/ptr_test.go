package e2e

import (
	"strings"
	"testing"
)

// TestPTRWithDig: dig -x against the real binary: a PTR for a task address one task
// holds, to its canonical name; none for an agent address two host-networked tasks
// share; NXDOMAIN for an address no task holds.
func TestPTRWithDig(t *testing.T) {
	if !haveTool(t, "dig", "dnsutils") {
		return
	}
	js := strings.Replace(string(recipeState(freePort(t), freePort(t))), `{"id":"nginx.2"`,
		`{"id":"worker.1","name":"worker","slave_id":"a-S1","state":"TASK_RUNNING"},{"id":"nginx.2"`, 1)
	m := startMaster(t, []byte(js))
	s := startCoreDNS(t, "    mesos mesos. 127.in-addr.arpa. {\n        masters "+m.URL()+"\n    }")
	s.waitReady()
	dig := func(args ...string) string {
		t.Helper()
		out, err := digOutput(append([]string{"@127.0.0.1", "-p", portOf(s.addr), "+noall", "+answer", "+comments"}, args...)...)
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// cassandra-seed.1 holds 127.0.1.1 alone.
	out := dig("-x", "127.0.1.1")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "PTR\tcassandra-seed-") || !strings.Contains(out, ".marathon.mesos.") {
		t.Errorf("dig -x 127.0.1.1:\n%s", out)
	}
	// nginx.2 holds its agent's 127.0.0.3 alone; nginx.1 and worker.1 share 127.0.0.2.
	if out := dig("-x", "127.0.0.3"); !strings.Contains(out, "PTR\tnginx-") {
		t.Errorf("dig -x 127.0.0.3:\n%s", out)
	}
	if out := dig("-x", "127.0.0.2"); !strings.Contains(out, "status: NOERROR") || strings.Contains(out, "PTR\t") {
		t.Errorf("dig -x 127.0.0.2 (shared):\n%s", out)
	}
	if out := dig("-x", "127.9.9.9"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("dig -x 127.9.9.9:\n%s", out)
	}
	// The forward zone answers as before.
	if out := dig("cassandra-seed.marathon.mesos"); strings.Count(out, "\tA\t") != 3 {
		t.Errorf("forward:\n%s", out)
	}
}
