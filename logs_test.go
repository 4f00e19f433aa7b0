package mesos

import (
	"bytes"
	golog "log"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// What operators read: each test here checks that a log line or a metric says what is
// true.

// logBuffer collects what CoreDNS logs (clog writes through the std log package).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines are the logged lines that contain s.
func (l *logBuffer) lines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// captureLog sends the log to a buffer until the test ends; call it before starting
// the instance, so that the instance is stopped before the log is given back.
func captureLog(t *testing.T) *logBuffer {
	t.Helper()
	l := &logBuffer{}
	golog.SetOutput(l)
	t.Cleanup(func() { golog.SetOutput(os.Stderr) })
	return l
}

// waitFor polls cond until it holds, or fails t after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSkippedLoggedReadably: what the builder leaves out is logged as reason=count,
// sorted, without calling a reserved name or an SRV over the limit "malformed".
func TestSkippedLoggedReadably(t *testing.T) {
	logs := captureLog(t)
	js := `{"leader": "master@10.0.0.2:5050",
	"slaves": [{"id": "S0", "hostname": "a0", "pid": "slave(1)@10.0.1.1:5051"}],
	"frameworks": [
		{"id": "f1", "name": "leader", "pid": "scheduler@10.6.0.1:1"},
		{"id": "f2", "name": "marathon", "pid": "scheduler@10.6.0.2:1", "tasks": [
			{"id": "web.1", "name": "web", "slave_id": "S0", "state": "TASK_RUNNING", "resources": {"ports": "[31000-31001]"},
			 "statuses": [{"state": "TASK_RUNNING", "timestamp": 1}]}]}]}`
	fm := fakemaster.StartT(t, []byte(js))
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        mode poll\n        max_srv_per_task 4\n    }\n}\n", fm.URL())
	waitFor(t, "answers", func() bool { return answers(addr, "web.marathon.mesos.") == 1 })
	waitFor(t, "the left-out records logged", func() bool { return len(logs.lines("left out")) >= 1 })
	line := logs.lines("left out")[0]
	if ok, _ := regexp.MatchString(`left out \d+ entities and records: reserved_name=\d+, srv_over_limit=4$`, line); !ok {
		t.Errorf("left out: %q, want reason=count, sorted", line)
	}
	if strings.Contains(line, "malformed") || strings.Contains(line, "map[") {
		t.Errorf("left out: %q", line)
	}
}
