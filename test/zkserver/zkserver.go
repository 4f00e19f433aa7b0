// Package zkserver runs a real ZooKeeper (Debian's zookeeper package) on loopback for
// tests, with a data directory of its own.
package zkserver

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Script is where Debian's zookeeper package puts its start script.
const Script = "/usr/share/zookeeper/bin/zkServer.sh"

// Server is one standalone ZooKeeper server.
type Server struct {
	t    testing.TB
	dir  string
	Addr string
	cmd  *exec.Cmd
}

// Available reports whether a ZooKeeper can be started here.
func Available() bool {
	_, err := os.Stat(Script)
	return err == nil
}

// Start runs a ZooKeeper on a free loopback port; it is stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	// A port below the kernel's ephemeral range (32768 and up): while this server is
	// Down, no other test's listener on port 0 can take it.
	var addr string
	for range 100 {
		a := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(10000)) // #nosec G404 -- a test port
		if l, err := net.Listen("tcp", a); err == nil {
			l.Close()
			addr = a
			break
		}
	}
	if addr == "" {
		tb.Fatal("no free port for ZooKeeper")
	}
	s := &Server{t: tb, dir: tb.TempDir(), Addr: addr}
	_, port, _ := net.SplitHostPort(addr)
	cfg := fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n4lw.commands.whitelist=srvr\n",
		filepath.Join(s.dir, "data"), port)
	if err := os.WriteFile(filepath.Join(s.dir, "zoo.cfg"), []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	s.Up()
	tb.Cleanup(s.Down)
	return s
}

// Up starts the server (again, on the same port and data).
func (s *Server) Up() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(Script, "start-foreground", filepath.Join(s.dir, "zoo.cfg")) // #nosec G204 -- a fixed script and a config file of its own
	cmd.Env = append(os.Environ(), "ZOO_LOG_DIR="+s.dir)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log, err := os.Create(filepath.Join(s.dir, "zookeeper.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	// Serving, not only listening: srvr answers with the server's mode.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", s.Addr, 500*time.Millisecond); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Write([]byte("srvr"))
			out, _ := io.ReadAll(c)
			c.Close()
			if strings.Contains(string(out), "Mode:") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
	s.t.Fatalf("ZooKeeper did not serve on %s:\n%s", s.Addr, logs)
}

// Down stops the server: its process group, by the id this package started it with.
func (s *Server) Down() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	s.cmd = nil
}
