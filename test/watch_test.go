package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"
)

// TestNginxRecipeWithWatch is README's nginx recipe driven by mesos-watch instead of
// cron: a real nginx proxies to backends on loopback, and its upstream block follows
// the tasks the fake master launches and kills, within a second on an idle machine
// (logged; the test fails past followBound, which blocking queries that did not work
// could not beat), with one reload per settled change and none when nothing changed.
func TestNginxRecipeWithWatch(t *testing.T) {
	if !haveTool(t, "nginx", "nginx-light") {
		return
	}
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	backend(t, fmt.Sprintf("127.0.0.2:%d", p1), "backend-one")
	backend(t, fmt.Sprintf("127.0.0.3:%d", p2), "backend-two")
	backend(t, fmt.Sprintf("127.0.0.4:%d", p3), "backend-three")
	js := strings.Replace(string(recipeState(p1, p2)), `{"id":"a-S2","pid":"slave(1)@127.0.0.3:5051"}`,
		`{"id":"a-S2","pid":"slave(1)@127.0.0.3:5051"},{"id":"a-S3","pid":"slave(1)@127.0.0.4:5051"}`, 1)
	// The example template is the upstream of the app "web" (the quick start's demo
	// app), where the shell recipe's is "nginx".
	js = strings.ReplaceAll(js, `"name":"nginx"`, `"name":"web"`)
	m := startMaster(t, []byte(js))
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        http "+api+"\n"))
	s.waitReady()

	dir, nginxPort := nginxDir(t)
	upstream := filepath.Join(dir, "upstream.conf")
	tmpl, err := filepath.Abs("../examples/nginx-upstream.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	nginx := fmt.Sprintf("nginx -p %[1]s -c %[1]s/nginx.conf", dir)

	// -once renders the first file, and nginx starts on it.
	once := exec.Command(watchBin, "-api", "http://"+api, "-template", tmpl, "-out", upstream, "-once")
	if out, err := once.CombinedOutput(); err != nil {
		t.Fatalf("mesos-watch -once: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(upstream); strings.Count(string(b), "server 127.0.0.") != 2 {
		t.Fatalf("first upstream.conf:\n%s", b)
	}
	if out, err := exec.Command("sh", "-c", nginx).CombinedOutput(); err != nil {
		t.Fatalf("nginx: %v\n%s", err, out)
	}
	stopNginx(t, dir, syscall.SIGQUIT)
	seen := func() map[string]bool {
		got := map[string]bool{}
		for range 12 {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", nginxPort))
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				got[string(b)] = true
			}
		}
		return got
	}
	eventually(t, "nginx to proxy to both backends", 5*time.Second, func() bool {
		got := seen()
		return got["backend-one"] && got["backend-two"]
	})

	reloads := filepath.Join(dir, "reloads")
	log := &syncBuffer{}
	w := exec.Command(watchBin, "-api", "http://"+api, "-template", tmpl, "-out", upstream, "-wait", "50ms:500ms",
		"-exec", nginx+" -s reload && echo reload >> "+reloads)
	w.Stdout, w.Stderr = log, log
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Process.Signal(syscall.SIGTERM)
		w.Wait()
		if t.Failed() {
			t.Logf("mesos-watch log:\n%s", log.String())
		}
	})
	count := func() int {
		b, _ := os.ReadFile(reloads)
		return strings.Count(string(b), "reload")
	}
	// The file is already what the template renders: no reload.
	time.Sleep(700 * time.Millisecond)
	if n := count(); n != 0 {
		t.Fatalf("%d reloads with nothing changed", n)
	}

	follows := func(what string, want, not string) {
		t.Helper()
		start := time.Now()
		deadline := start.Add(followBound)
		for time.Now().Before(deadline) {
			got := seen()
			if got[want] && (not == "" || !got[not]) {
				t.Logf("%s: nginx followed in %v", what, time.Since(start))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		b, _ := os.ReadFile(upstream)
		t.Fatalf("%s: nginx did not follow within %v; upstream.conf:\n%s", what, followBound, b)
	}

	// A new instance of web on the third agent.
	v1, err := fakemaster.TaskToV1([]byte(fmt.Sprintf(`{"id":"nginx.3","name":"web","slave_id":"a-S3","state":"TASK_RUNNING","resources":{"ports":"[%d-%d]"}}`, p3, p3)), "f")
	if err != nil {
		t.Fatal(err)
	}
	m.Emit(`{"type":"TASK_ADDED","task_added":{"task":` + v1 + `}}`)
	follows("launch", "backend-three", "")
	eventually(t, "one reload", 2*time.Second, func() bool { return count() == 1 })

	// The first instance is killed.
	m.Emit(fakemaster.TaskKilled("f", "nginx.1"))
	follows("kill", "backend-three", "backend-one")
	eventually(t, "a second reload", 2*time.Second, func() bool { return count() == 2 })

	// A change to another app: nothing to render, no reload.
	m.Emit(fakemaster.TaskKilled("f", "cassandra-seed.3"))
	time.Sleep(time.Second)
	if n := count(); n != 2 {
		t.Errorf("%d reloads after a change to another app, want 2", n)
	}
	final, _ := os.ReadFile(upstream)
	if strings.Count(string(final), "server 127.0.0.") != 2 || strings.Contains(string(final), fmt.Sprint(p1)) {
		t.Errorf("final upstream.conf:\n%s", final)
	}

	// The API goes away: the last good file stays, and mesos-watch retries.
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	eventually(t, "mesos-watch to report the API down", 5*time.Second, func() bool {
		return strings.Contains(log.String(), "keeping the last answer")
	})
	if b, _ := os.ReadFile(upstream); string(b) != string(final) || count() != 2 {
		t.Errorf("with the API down: %d reloads, upstream.conf:\n%s", count(), b)
	}
	if w.ProcessState != nil {
		t.Errorf("mesos-watch exited with the API down: %v", w.ProcessState)
	}
}

// followBound is how late nginx may follow a change: well above the second it takes
// on an idle machine, far below a blocking query's wait (5 minutes) or a poll.
const followBound = 10 * time.Second

// TestWatchExampleOnDemo: the example template renders the quick start's demo state:
// its two web tasks, at their SRV records' addresses and ports.
func TestWatchExampleOnDemo(t *testing.T) {
	js, err := fakemaster.ReadCapture("../testdata/demo/state.json")
	if err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, js)
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        http "+api+"\n"))
	s.waitReady()
	out := filepath.Join(t.TempDir(), "upstream.conf")
	b, err := exec.Command(watchBin, "-api", "http://"+api, "-template", "../examples/nginx-upstream.tmpl", "-out", out, "-once").CombinedOutput()
	if err != nil {
		t.Fatalf("mesos-watch -once: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	if !strings.Contains(string(got), "server 127.0.0.2:31000;") || !strings.Contains(string(got), "server 127.0.0.3:31002;") || strings.Count(string(got), "server 127.") != 2 {
		t.Errorf("the example template on the demo state:\n%s", got)
	}
}

// TestWatchBadTemplate: a template that fails on the answers ends mesos-watch with a
// non-zero status and a message that names the template, and leaves the file alone.
func TestWatchBadTemplate(t *testing.T) {
	m := startMaster(t, recipeState(freePort(t), freePort(t)))
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startCoreDNS(t, mesosBlock(m.URL(), "        http "+api+"\n"))
	s.waitReady()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "bad.tmpl")
	os.WriteFile(tmpl, []byte(`{{range service "_nginx._tcp.marathon.mesos"}}{{.Weight}}{{end}}`), 0o644)
	out := filepath.Join(dir, "out")
	os.WriteFile(out, []byte("last good\n"), 0o644)
	cmd := exec.Command(watchBin, "-api", "http://"+api, "-template", tmpl, "-out", out)
	b, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(b), "bad.tmpl") || !strings.Contains(string(b), "Weight") {
		t.Errorf("bad template: %v\n%s", err, b)
	}
	if got, _ := os.ReadFile(out); string(got) != "last good\n" {
		t.Errorf("the file became %q", got)
	}
	// One that does not parse: status 2.
	os.WriteFile(tmpl, []byte(`{{range}`), 0o644)
	cmd = exec.Command(watchBin, "-api", "http://"+api, "-template", tmpl, "-out", out)
	if b, err := cmd.CombinedOutput(); err == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(b), "bad.tmpl") {
		t.Errorf("unparsable template: %v\n%s", err, b)
	}
}
