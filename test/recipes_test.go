package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The recipes run unchanged, in a mount namespace of their own whose /etc/resolv.conf
// names CoreDNS on this address: the system resolver (dig, nginx) then asks the plugin.
// Port 53 cannot be chosen, so the address is: a loopback address of this run's own, so
// that two copies of the suite on one machine do not meet.
var nsAddr = fmt.Sprintf("127.%d.%d.153", 1+rand.IntN(254), 1+rand.IntN(254))

// backend serves its own name over HTTP on addr.
func backend(t *testing.T, addr, name string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func recipeState(p1, p2 int) []byte {
	task := func(id, name, agent, ports, ip string) string {
		s := fmt.Sprintf(`{"id":%q,"name":%q,"slave_id":%q,"state":"TASK_RUNNING"`, id, name, agent)
		if ports != "" {
			s += fmt.Sprintf(`,"resources":{"ports":%q}`, ports)
		}
		if ip != "" {
			s += fmt.Sprintf(`,"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":%q}]}]}}]`, ip)
		}
		return s + "}"
	}
	tasks := []string{
		task("cassandra-seed.1", "cassandra-seed", "a-S1", "[9042-9042]", "127.0.1.1"),
		task("cassandra-seed.2", "cassandra-seed", "a-S1", "[9043-9043]", "127.0.1.2"),
		task("cassandra-seed.3", "cassandra-seed", "a-S2", "[9044-9044]", "127.0.1.3"),
		task("nginx.1", "nginx", "a-S1", fmt.Sprintf("[%d-%d]", p1, p1), ""),
		task("nginx.2", "nginx", "a-S2", fmt.Sprintf("[%d-%d]", p2, p2), ""),
	}
	return []byte(`{"leader":"master@127.0.0.1:5050","slaves":[` +
		`{"id":"a-S1","pid":"slave(1)@127.0.0.2:5051"},{"id":"a-S2","pid":"slave(1)@127.0.0.3:5051"}],` +
		`"frameworks":[{"id":"f","name":"marathon","tasks":[` + strings.Join(tasks, ",") + `]}]}`)
}

// nginxConf is an nginx that runs from dir, listens on port and proxies to the
// upstream block "backend" in dir/upstream.conf, trying each server once.
func nginxConf(dir string, port int) string {
	return fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[1]s/upstream.conf;
    server {
        listen 127.0.0.1:%[2]d;
        location / { proxy_pass http://backend; proxy_next_upstream off; }
    }
}
`, dir, port)
}

// nginxDir makes a directory for an nginx to run from (nginxConf, on a free port),
// and returns it and the port.
func nginxDir(t *testing.T) (dir string, port int) {
	t.Helper()
	dir, port = t.TempDir(), freePort(t)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(nginxConf(dir, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, port
}

// stopNginx stops, when the test ends, the nginx that runs from dir, by the PID in its
// pid file, with sig.
func stopNginx(t *testing.T, dir string, sig syscall.Signal) {
	t.Helper()
	t.Cleanup(func() {
		if pid, err := os.ReadFile(filepath.Join(dir, "nginx.pid")); err == nil {
			var p int
			fmt.Sscan(string(pid), &p)
			if p > 0 {
				syscall.Kill(p, sig)
			}
		}
	})
}

func TestShellRecipes(t *testing.T) {
	if os.Geteuid() != 0 {
		missing(t, "root, for unshare -m and port 53 on "+nsAddr)
	}
	if !haveTool(t, "nginx", "nginx-light") || !haveTool(t, "dig", "dnsutils") || !haveTool(t, "unshare", "util-linux") {
		return
	}
	p1, p2 := freePort(t), freePort(t)
	backend(t, fmt.Sprintf("127.0.0.2:%d", p1), "backend-one")
	backend(t, fmt.Sprintf("127.0.0.3:%d", p2), "backend-two")
	m := startMaster(t, recipeState(p1, p2))
	s := startCoreDNSWith(t, mesosBlock(m.URL(), ""), `.:53 {
    bind `+nsAddr+`
    mesos {
        masters `+m.URL()+`
    }
}`)
	s.waitReady()
	eventually(t, "the :53 listener", 10*time.Second, func() bool {
		r, err := exchange(nsAddr+":53", "udp", "cassandra-seed.marathon.mesos.", dns.TypeA, 1232)
		return err == nil && len(r.Answer) == 3
	})

	dir, nginxPort := nginxDir(t)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+nsAddr+"\n"), 0o644)

	// The two lines between the markers are the recipes as operators run them today.
	script := `set -eu
mount --bind "$DIR/resolv.conf" /etc/resolv.conf
# --- recipes ---
SEED=$(echo $(dig +short cassandra-seed.marathon.mesos) | tr ' ' ',')
UPSTREAMS=$(dig +short SRV _nginx._tcp.marathon.mesos | awk '{print $4":"$3}')
# --- end ---
echo "$SEED" > "$DIR/seed"
{ echo "upstream backend {"; for u in $UPSTREAMS; do echo "    server $u;"; done; echo "}"; } > "$DIR/upstream.conf"
nginx -p "$DIR" -c "$DIR/nginx.conf" -t
nginx -p "$DIR" -c "$DIR/nginx.conf"
`
	cmd := exec.Command("unshare", "-m", "bash", "-c", script)
	cmd.Env = append(os.Environ(), "DIR="+dir)
	out, err := cmd.CombinedOutput()
	stopNginx(t, dir, syscall.SIGTERM)
	if err != nil {
		t.Fatalf("recipe script: %v\n%s", err, out)
	}

	seed, _ := os.ReadFile(filepath.Join(dir, "seed"))
	got := strings.Split(strings.TrimSpace(string(seed)), ",")
	slices.Sort(got)
	if strings.Join(got, ",") != "127.0.1.1,127.0.1.2,127.0.1.3" {
		t.Errorf("SEED=%q", seed)
	}
	up, _ := os.ReadFile(filepath.Join(dir, "upstream.conf"))
	if strings.Count(string(up), ".marathon.slave.mesos.:") != 2 {
		t.Errorf("upstream block:\n%s", up)
	}
	// nginx loaded the block (it resolved the SRV targets through the plugin) and
	// proxies to both backends.
	seen := map[string]bool{}
	for i := 0; i < 10 && len(seen) < 2; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", nginxPort))
		if err != nil {
			t.Fatalf("through nginx: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)] = true
	}
	if !seen["backend-one"] || !seen["backend-two"] {
		t.Errorf("nginx reached %v", seen)
	}
}
