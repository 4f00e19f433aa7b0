package mesos

import (
	"bufio"
	"bytes"
	golog "log"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

// onlyInstance is the one running instance of a test that started one.
func onlyInstance(t *testing.T) *Mesos {
	t.Helper()
	live := liveInstances()
	if len(live) != 1 {
		t.Fatalf("%d instances running, want 1", len(live))
	}
	return live[0]
}

// refreshErrors sums refreshes_total{outcome="error"} of m's block over the reasons.
func refreshErrors(m *Mesos) float64 {
	sum := 0.0
	for _, r := range refreshReasons {
		sum += value(refreshCount.WithLabelValues(m.key.server, m.Zones[0], "error", r))
	}
	return sum
}

// streamAttempts sums stream_reconnects_total of m's block: one a subscription tried
// and ended, whether or not it got as far as a snapshot.
func streamAttempts(m *Mesos) float64 {
	sum := 0.0
	for _, r := range streamEnds {
		sum += value(reconnects.WithLabelValues(m.key.server, m.Zones[0], r))
	}
	return sum
}

// gauge is the value of one series of g.
func gauge(g *prometheus.GaugeVec, labels ...string) float64 {
	return value(g.WithLabelValues(labels...))
}

// value is a counter's or a gauge's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestAutoModeFailureCountedOnce: in mode auto an attempt that fails (the stream, then
// the poll that stands in for it) is one count of refreshes_total{outcome="error"} and
// one log line, as README says; it once was two counts and three lines.
func TestAutoModeFailureCountedOnce(t *testing.T) {
	logs := captureLog(t)
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	fm.SetFault(fakemaster.ServerError, 0)
	startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 1h\n    }\n}\n", fm.URL())
	m := onlyInstance(t)
	waitFor(t, "two failed attempts", func() bool { return streamAttempts(m) >= 2 && refreshErrors(m) >= 2 })
	m.stop()
	attempts, errs := streamAttempts(m), refreshErrors(m)
	// The stop may cut the last attempt between its stream and its poll: counted as an
	// attempt, not (yet) as a failure.
	if errs != attempts && errs != attempts-1 {
		t.Errorf("%v attempts counted %v failed refreshes, want one each", attempts, errs)
	}
	if got := len(logs.lines("refresh failed")); float64(got) != errs {
		t.Errorf("%v failed refreshes logged %d times, want once each:\n%s", errs, got, logs)
	}
	if got := logs.lines("event stream ended"); len(got) != 0 {
		t.Errorf("no stream ever opened, yet logged: %q", got)
	}
}

// TestStreamEndSaysWhatIsServed: a stream that never opened does not claim to serve the
// records it gave (there are none); one that did, does.
func TestStreamEndSaysWhatIsServed(t *testing.T) {
	logs := captureLog(t)
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	fm.SetFault(fakemaster.ServerError, 0)
	block := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        mode stream\n        refresh 1h\n    }\n}\n"
	_, addr, _ := startInProcess(t, block, fm.URL())
	m := onlyInstance(t)
	waitFor(t, "a failed attempt", func() bool { return refreshErrors(m) >= 1 })
	waitFor(t, "the failure logged", func() bool { return len(logs.lines("refresh failed")) >= 1 })
	if got := logs.lines("serving the records it gave"); len(got) != 0 {
		t.Errorf("no records were ever loaded, yet logged: %q", got)
	}
	if got := logs.lines("no records yet"); len(got) == 0 {
		t.Errorf("the failure does not say there are no records yet:\n%s", logs)
	}
	// Now a stream that gives records, and ends.
	fm.SetFault(fakemaster.OK, 0)
	waitFor(t, "answers from the stream", func() bool { return answers(addr, "test123.marathon.mesos.") == 1 })
	fm.DropStreams()
	waitFor(t, "the end of the stream logged", func() bool { return len(logs.lines("event stream ended (closed)")) >= 1 })
	if got := logs.lines("event stream ended (closed)")[0]; !strings.Contains(got, "serving the records it gave") {
		t.Errorf("the end of a stream that gave records: %q", got)
	}
}

// TestReloadFailureSaysRecordsServed: after a reload that changed the masters, the new
// instance answers from the records handed over, and says so when its own refresh
// fails, instead of "no records yet (answering SERVFAIL)".
func TestReloadFailureSaysRecordsServed(t *testing.T) {
	logs := captureLog(t)
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakemaster.StartT(t, js), fakemaster.StartT(t, js)
	b.SetFault(fakemaster.ServerError, 0)
	conf := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        mode poll\n        refresh 1h\n    }\n}\n"
	inst, addr, input := startInProcess(t, conf, a.URL())
	waitFor(t, "answers", func() bool { return answers(addr, "test123.marathon.mesos.") == 1 })
	next, err := inst.Restart(input(b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { next.ShutdownCallbacks(); next.Stop() })
	waitFor(t, "the new instance's failure logged", func() bool { return len(logs.lines("refresh failed")) >= 1 })
	if n := answers(addr, "test123.marathon.mesos."); n != 1 {
		t.Errorf("the handed-over records are not served: %d answers", n)
	}
	for _, line := range logs.lines("refresh failed") {
		if strings.Contains(line, "no records yet") || !strings.Contains(line, "serving records") {
			t.Errorf("the new instance serves the handed-over records, yet logged: %q", line)
		}
	}
}

// TestModeIsWhatTheMasterCan: mode says what the master can do, not whether it is up:
// an outage of a streaming master leaves mode{stream} at 1 (stream_connected says the
// stream is down); a master that cannot stream is polled, and mode{poll} says so.
func TestModeIsWhatTheMasterCan(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        refresh 1h\n    }\n}\n", fm.URL())
	m := onlyInstance(t)
	server, zone := m.key.server, m.Zones[0]
	waitFor(t, "answers", func() bool { return answers(addr, "test123.marathon.mesos.") == 1 })
	waitFor(t, "mode stream", func() bool { return gauge(modeGauge, server, zone, modeStream) == 1 })
	fm.SetFault(fakemaster.ServerError, 0)
	fm.DropStreams()
	waitFor(t, "a failed attempt", func() bool { return refreshErrors(m) >= 1 })
	if s, p, c := gauge(modeGauge, server, zone, modeStream), gauge(modeGauge, server, zone, modePoll), gauge(streamConnected, server, zone); s != 1 || p != 0 || c != 0 {
		t.Errorf("a streaming master down: mode stream %v, poll %v, stream_connected %v; want 1, 0, 0", s, p, c)
	}
	// The master comes back without the event stream (before 1.5): polled.
	fm.SetStream(false)
	fm.SetFault(fakemaster.OK, 0)
	waitFor(t, "mode poll", func() bool {
		return gauge(modeGauge, server, zone, modePoll) == 1 && gauge(modeGauge, server, zone, modeStream) == 0
	})
}

// TestStateSizeInStreamMode: state_size_bytes reports the SUBSCRIBED snapshot's size
// in stream mode, as it reports the polled state's.
func TestStateSizeInStreamMode(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	_, addr, _ := startInProcess(t, ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n        mode stream\n    }\n}\n", fm.URL())
	m := onlyInstance(t)
	waitFor(t, "answers", func() bool { return answers(addr, "test123.marathon.mesos.") == 1 })
	// The length the master's RecordIO gives its first record, the snapshot.
	resp, err := http.Post(fm.URL()+"/api/v1", "application/json", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	if err != nil {
		t.Fatal(err)
	}
	head, err := bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, err := strconv.ParseFloat(strings.TrimSpace(head), 64)
	if err != nil {
		t.Fatal(err)
	}
	if got := gauge(stateSize, m.key.server, m.Zones[0]); got != want {
		t.Errorf("state_size_bytes %v in stream mode, want the snapshot's %v", got, want)
	}
}

// series reports whether the registry holds a series of the metric for server.
func series(t *testing.T, name, server string) bool {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "server" && l.GetValue() == server {
					return true
				}
			}
		}
	}
	return false
}

// TestZooKeeperSeriesOnlyWithZooKeeper: a block that does not use ZooKeeper has no
// zookeeper_* series (a 0 there reads as a lost session); one that does has them from
// the start.
func TestZooKeeperSeriesOnlyWithZooKeeper(t *testing.T) {
	js, err := fakemaster.ReadCapture("testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemaster.StartT(t, js)
	other := freeTCPPort(t)
	// Nothing listens on 127.0.0.1:1: the ZooKeeper block never gets a session.
	block := ".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters %s\n    }\n}\n" +
		".:%d {\n    bind 127.0.0.1\n    mesos {\n        masters zk://127.0.0.1:1/mesos\n    }\n}\n"
	_, addr, _ := startInProcess(t, block, fm.URL(), other)
	waitFor(t, "answers", func() bool { return answers(addr, "test123.marathon.mesos.") == 1 })
	var plain, withZK string
	for _, m := range liveInstances() {
		if m.cfg.zk == nil {
			plain = m.key.server
		} else {
			withZK = m.key.server
		}
	}
	if plain == "" || withZK == "" {
		t.Fatalf("instances: plain %q, ZooKeeper %q", plain, withZK)
	}
	for _, name := range []string{"coredns_mesos_zookeeper_connected", "coredns_mesos_zookeeper_leader_changes_total"} {
		if series(t, name, plain) {
			t.Errorf("%s exists for %s, which does not use ZooKeeper", name, plain)
		}
		if !series(t, name, withZK) {
			t.Errorf("%s missing for %s, which uses ZooKeeper", name, withZK)
		}
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
