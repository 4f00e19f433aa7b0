package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max time.Duration
		ok       bool
	}{
		{"100ms:1s", 100 * time.Millisecond, time.Second, true},
		{"2s", 2 * time.Second, 2 * time.Second, true},
		{"0s:0s", 0, 0, true},
		{"1s:100ms", 0, 0, false},
		{"soon", 0, 0, false},
		{"-1s:1s", 0, 0, false},
		{"1s:", 0, 0, false},
	} {
		lo, hi, err := parseWait(tc.in)
		if (err == nil) != tc.ok || tc.ok && (lo != tc.min || hi != tc.max) {
			t.Errorf("parseWait(%q) = %v, %v, %v", tc.in, lo, hi, err)
		}
	}
}

// The lists a template sees are sorted and free of repeats, whatever order the API
// gives, so that the same answer always renders the same text.
func TestAnswersSorted(t *testing.T) {
	ts, err := services([]byte(`[{"service":"_w._tcp.m.mesos","host":"b.m.slave.mesos.","ip":"10.0.0.2","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"fd00::1","port":"9","port_number":9},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"c.m.slave.mesos.","ip":"","port":"1","port_number":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{"a.m.slave.mesos.", "fd00::1", 9}, {"a.m.slave.mesos.", "10.0.0.1", 31000}, {"b.m.slave.mesos.", "10.0.0.2", 31000}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("services: %v", ts)
	}
	if ts[0].Addr() != "[fd00::1]:9" || ts[1].Addr() != "10.0.0.1:31000" {
		t.Errorf("Addr: %s %s", ts[0].Addr(), ts[1].Addr())
	}
	hs, err := hosts([]byte(`[{"host":"w.m.mesos.","ip":"10.0.0.2"},{"host":"w.m.mesos.","ip":"10.0.0.1"},{"host":"w.m.mesos.","ip":"10.0.0.2"}]`))
	if err != nil || !reflect.DeepEqual(hs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("hosts: %v %v", hs, err)
	}
	if _, err := hosts([]byte(`{"error":"x"}`)); err == nil {
		t.Error("hosts took an error body")
	}
}

// syncLog collects what mesos-watch says, from any goroutine, and lets a test wait for
// a line.
type syncLog struct {
	mu   sync.Mutex
	text strings.Builder
	more chan struct{}
}

func newSyncLog() *syncLog { return &syncLog{more: make(chan struct{}, 1)} }

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.text.Write(p)
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
	return n, err
}

func (l *syncLog) logf(format string, a ...any) { fmt.Fprintf(l, format+"\n", a...) }

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// wait returns once the log holds n lines containing want. It fails the test if ended
// closes first (the watcher returned) or after a minute.
func (l *syncLog) wait(t *testing.T, want string, n int, ended <-chan struct{}) {
	t.Helper()
	deadline := time.After(time.Minute)
	for strings.Count(l.String(), want) < n {
		select {
		case <-l.more:
		case <-ended:
			t.Fatalf("the watcher returned before saying %q %d times; it said:\n%s", want, n, l.String())
		case <-deadline:
			t.Fatalf("waited a minute for %q %d times; the log:\n%s", want, n, l.String())
		}
	}
}

// closedAddr is a loopback address nothing listens on: connections are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

const testTemplate = `{{range service "_web._tcp.marathon.mesos"}}server {{.Addr}};
{{end}}`

func writeTemplate(t *testing.T) (tmpl, out string) {
	t.Helper()
	dir := t.TempDir()
	tmpl = filepath.Join(dir, "upstream.tmpl")
	if err := os.WriteFile(tmpl, []byte(testTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	return tmpl, filepath.Join(dir, "upstream.conf")
}

// -once against an API that cannot answer ends with status 1 after a bounded number of
// tries, says why, writes nothing, and never claims to keep an answer it does not have.
// Both an address nothing listens on and a proxy's page (a 200 that does not decode).
func TestOnceGivesUp(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Mesos-Index", "7")
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>502 Bad Gateway</body></html>\n"))
	}))
	defer page.Close()
	for _, tc := range []struct{ name, api, why string }{
		{"unreachable", "http://" + closedAddr(t), "connection refused"},
		{"proxy page", page.URL, "does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, out := writeTemplate(t)
			stderr := newSyncLog()
			code := make(chan int, 1)
			go func() { code <- run([]string{"-once", "-api", tc.api, "-template", tmpl, "-out", out}, stderr) }()
			select {
			case c := <-code:
				if c != 1 {
					t.Errorf("exit status %d, want 1", c)
				}
			case <-time.After(time.Minute):
				t.Fatalf("-once still trying after a minute:\n%s", stderr)
			}
			said := stderr.String()
			if !strings.Contains(said, "giving up after 5 tries") || !strings.Contains(said, tc.why) || !strings.Contains(said, "_web._tcp.marathon.mesos") {
				t.Errorf("the message does not say which name, how many tries and why:\n%s", said)
			}
			if strings.Contains(said, "keeping the last answer") {
				t.Errorf("claims to keep an answer it never had:\n%s", said)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("-out was written: %v", err)
			}
		})
	}
}

// A 200 whose body does not decode (a proxy's page) is an error like any other: the
// watcher keeps the last good file, retries, and follows the next good answer.
func TestUndecodableAnswerKeepsLastFile(t *testing.T) {
	const a = `[{"service":"_web._tcp.marathon.mesos","host":"web-a.marathon.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000}]`
	const b = `[{"service":"_web._tcp.marathon.mesos","host":"web-b.marathon.slave.mesos.","ip":"10.0.0.2","port":"31001","port_number":31001}]`
	// The test opens each gate once it has seen the file it expects.
	showPage, release := make(chan struct{}), make(chan struct{})
	var paged atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("index") {
		case "":
			w.Header().Set("X-Mesos-Index", "1")
			w.Write([]byte(a))
		case "1":
			if paged.CompareAndSwap(false, true) {
				select {
				case <-showPage:
				case <-r.Context().Done():
					return
				}
				// A proxy's error page, with the plugin's headers passed on.
				w.Header().Set("X-Mesos-Index", "2")
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html><body>502 Bad Gateway</body></html>\n"))
				return
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("X-Mesos-Index", "3")
			w.Write([]byte(b))
		default:
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	tmpl, out := writeTemplate(t)
	log := newSyncLog()
	w, err := newWatcher(config{api: srv.URL, template: tmpl, out: out, minWait: 10 * time.Millisecond, maxWait: 50 * time.Millisecond,
		block: time.Minute, client: srv.Client(), logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	ended := make(chan struct{})
	go func() {
		runErr = w.run(ctx)
		close(ended)
	}()
	defer func() {
		cancel()
		<-ended
		if runErr != nil {
			t.Errorf("run: %v", runErr)
		}
	}()
	read := func() string {
		got, _ := os.ReadFile(out)
		return string(got)
	}
	log.wait(t, "wrote ", 1, ended)
	if got := read(); got != "server 10.0.0.1:31000;\n" {
		t.Fatalf("first file %q", got)
	}
	close(showPage)
	log.wait(t, "keeping the last answer", 1, ended)
	if got := read(); got != "server 10.0.0.1:31000;\n" {
		t.Errorf("after the proxy's page the file is %q, want the last good one", got)
	}
	close(release)
	log.wait(t, "wrote ", 2, ended)
	if got := read(); got != "server 10.0.0.2:31001;\n" {
		t.Errorf("after the next good answer the file is %q", got)
	}
}

// answering is an API that answers _web._tcp.marathon.mesos with one target, and a
// blocking query on it only when the client gives up.
func answering(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("index") != "" {
			<-r.Context().Done()
			return
		}
		w.Header().Set("X-Mesos-Index", "1")
		w.Write([]byte(`[{"service":"_web._tcp.marathon.mesos","host":"web-a.marathon.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000}]`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// -once ends with status 1 when the file cannot be written or the command fails,
// saying why: a script that runs it sees the failure. A failed command puts the file
// back as it was, so that running -once again fails again rather than finding the
// file unchanged and skipping the command.
func TestOnceFailsWithTheFileOrCommand(t *testing.T) {
	srv := answering(t)
	tmpl, out := writeTemplate(t)
	once := func(args ...string) (int, string) {
		stderr := newSyncLog()
		c := run(append([]string{"-once", "-api", srv.URL, "-template", tmpl}, args...), stderr)
		return c, stderr.String()
	}
	if c, said := once("-out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.conf")); c != 1 || !strings.Contains(said, "no such file or directory") {
		t.Errorf("a file it cannot write: exit status %d, want 1, saying why:\n%s", c, said)
	}
	failing := []string{"-out", out, "-exec", "echo no reload; exit 3"}
	for range 2 {
		if c, said := once(failing...); c != 1 || !strings.Contains(said, "exit status 3: no reload") || !strings.Contains(said, "put "+out+" back") {
			t.Errorf("a command that fails: exit status %d, want 1, saying why:\n%s", c, said)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("the file the failed command followed is still there: %v", err)
		}
	}
	os.WriteFile(out, []byte("old\n"), 0o600)
	if c, _ := once(failing...); c != 1 {
		t.Errorf("a command that fails, over an old file: exit status %d, want 1", c)
	}
	if got, _ := os.ReadFile(out); string(got) != "old\n" {
		t.Errorf("the old file is %q after the command failed, want it back", got)
	}
	if c, said := once("-out", out, "-exec", "true"); c != 0 {
		t.Errorf("a command that works: exit status %d:\n%s", c, said)
	}
	if got, _ := os.ReadFile(out); string(got) != "server 10.0.0.1:31000;\n" {
		t.Errorf("the file the command followed: %q", got)
	}
}

// A command that fails runs again, with backoff, until it works, though the file no
// longer changes; then it does not run again.
func TestFailedCommandRetried(t *testing.T) {
	saved := retryFirst
	retryFirst = 10 * time.Millisecond
	defer func() { retryFirst = saved }()
	srv := answering(t)
	tmpl, out := writeTemplate(t)
	runs := filepath.Join(t.TempDir(), "runs")
	// Fails on its first two runs.
	command := fmt.Sprintf(`echo x >> %s; [ "$(wc -l < %s)" -ge 3 ] || { echo busy; exit 1; }`, runs, runs)
	log := newSyncLog()
	w, err := newWatcher(config{api: srv.URL, template: tmpl, out: out, command: command, minWait: time.Millisecond, maxWait: 10 * time.Millisecond,
		block: time.Minute, client: srv.Client(), logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		w.run(ctx)
		close(ended)
	}()
	defer func() {
		cancel()
		<-ended
	}()
	log.wait(t, "trying again", 2, ended)
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(runs)
		if n := strings.Count(string(b), "x"); n == 3 {
			break
		} else if n > 3 || time.Now().After(deadline) {
			t.Fatalf("the command ran %d times, want 3; the log:\n%s", n, log)
		}
		select {
		case <-log.more:
		case <-time.After(10 * time.Millisecond):
		}
	}
	if said := log.String(); strings.Count(said, "trying again in") != 2 || !strings.Contains(said, "exit status 1: busy (trying again in 10ms)") ||
		!strings.Contains(said, "(trying again in 20ms)") || strings.Count(said, "wrote ") != 1 {
		t.Errorf("the log:\n%s", said)
	}
}
