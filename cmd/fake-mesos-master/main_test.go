package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// start runs the command with args until the test ends and returns its master.
func start(t *testing.T, args ...string) *fakemaster.Master {
	t.Helper()
	stop := make(chan os.Signal)
	ready := make(chan *fakemaster.Master, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(args, io.Discard, func(m *fakemaster.Master, _ int) { ready <- m }, stop)
	}()
	select {
	case m := <-ready:
		t.Cleanup(func() {
			close(stop)
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return m
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not ready")
	}
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemo: the quick start's command line serves the demo state, takes a launch and a
// kill that show in /master/state, and announces the heartbeat interval given.
func TestDemo(t *testing.T) {
	m := start(t, "-listen", "127.0.0.1:0", "-state", "../../testdata/demo/state.json", "-heartbeat", "2s")
	webs := func() int {
		_, body := get(t, m.URL()+"/master/state")
		return strings.Count(body, `"name":"web"`)
	}
	if n := webs(); n != 2 {
		t.Fatalf("%d web tasks in the demo state, want 2", n)
	}
	if code, body := get(t, m.URL()+"/fake/launch?name=web&ports=2"); code != http.StatusOK || !strings.Contains(body, "ports [31100-31101]") {
		t.Fatalf("launch: %d %q", code, body)
	}
	if n := webs(); n != 3 {
		t.Errorf("%d web tasks after a launch, want 3", n)
	}
	if code, body := get(t, m.URL()+"/fake/kill?name=web"); code != http.StatusOK || !strings.Contains(body, "killed web.fake-") {
		t.Fatalf("kill: %d %q", code, body)
	}
	if n := webs(); n != 2 {
		t.Errorf("%d web tasks after the kill, want 2", n)
	}
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, _ := r.ReadString('\n')
	n, _ := strconv.Atoi(strings.TrimSpace(line))
	rec := make([]byte, n)
	if _, err := io.ReadFull(r, rec); err != nil {
		t.Fatal(err)
	}
	var sub struct {
		Subscribed struct {
			Heartbeat float64 `json:"heartbeat_interval_seconds"`
		} `json:"subscribed"`
	}
	if err := json.Unmarshal(rec, &sub); err != nil || sub.Subscribed.Heartbeat != 2 {
		t.Errorf("SUBSCRIBED announces %v s (%v), want 2", sub.Subscribed.Heartbeat, err)
	}
}

// TestRefused: a listener outside loopback, no state, two states, a negative
// heartbeat and stray arguments are refused before anything is served.
func TestRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-listen", "10.1.2.3:5050", "-synth", "10"}, "outside loopback"},
		{[]string{"-listen", "0.0.0.0:5050", "-synth", "10"}, "outside loopback"},
		{[]string{"-listen", "127.0.0.1:0"}, "one of -state or -synth"},
		{[]string{"-listen", "127.0.0.1:0", "-synth", "10", "-state", "x.json"}, "one or the other"},
		{[]string{"-listen", "127.0.0.1:0", "-synth", "10", "-heartbeat", "-1s"}, "-heartbeat"},
		{[]string{"-listen", "127.0.0.1:0", "-synth", "10", "extra"}, "unexpected arguments"},
		{[]string{"-listen", "127.0.0.1:0", "-state", "/nonexistent.json"}, "no such file"},
	} {
		err := run(c.args, io.Discard, func(*fakemaster.Master, int) { t.Errorf("%v: served", c.args) }, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}

// TestUsage: -h names every control, fault and stream fault.
func TestUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-h"}, &out, nil, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	want := make([]string, 0, 9+len(fakemaster.Faults)+len(fakemaster.StreamFaults))
	want = append(want, "-heartbeat", "/fake/launch?name=", "/fake/kill?name=", "/fake/churn?", "/fake/fault?f=",
		"/fake/stream-fault?kind=", "/fake/heartbeats?pause=", "/fake/failover", "/fake/follower?leader=")
	for _, f := range fakemaster.Faults {
		want = append(want, string(f.Fault))
	}
	for _, f := range fakemaster.StreamFaults {
		want = append(want, string(f.Fault))
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("-h does not mention %q:\n%s", w, out.String())
		}
	}
}
