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

// script is the one Up runs: Script, or a stand-in in this package's tests.
var script = Script

// Server is one standalone ZooKeeper server.
type Server struct {
	t    testing.TB
	dir  string
	Addr string
	cmd  *exec.Cmd
	// exited is closed when cmd has exited; err is then its Wait error.
	exited chan struct{}
	err    error
}

// startTimeout bounds a start that neither serves nor exits. A ZooKeeper that cannot
// start (no java, a bad configuration, its port taken) exits, and Up fails at once
// with its output; this is only for one that hangs, so it allows for a slow JVM start
// on a machine busy with other work.
const startTimeout = 2 * time.Minute

// Available reports whether a ZooKeeper can be started here.
func Available() bool { return Missing() == "" }

// Missing says what this machine lacks to start a ZooKeeper (the package, or the Java
// runtime its script runs), "" when nothing.
func Missing() string {
	if _, err := os.Stat(Script); err != nil {
		return "ZooKeeper (Debian: apt-get install zookeeper)"
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "java, which ZooKeeper's script runs (Debian: apt-get install default-jre-headless)"
	}
	return ""
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
	tb.Cleanup(s.Down) // first: a start that times out leaves a process to stop
	s.Up()
	return s
}

// Up starts the server (again, on the same port and data).
func (s *Server) Up() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(script, "start-foreground", filepath.Join(s.dir, "zoo.cfg")) // #nosec G204 -- a fixed script and a config file of its own
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
	s.exited = make(chan struct{})
	go func() { s.err = cmd.Wait(); log.Close(); close(s.exited) }()
	deadline := time.After(startTimeout)
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		if serving(s.Addr) {
			return
		}
		select {
		case <-s.exited:
			logs, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
			s.cmd = nil
			s.t.Fatalf("ZooKeeper (%s) exited before serving on %s: %v\n%s", script, s.Addr, s.err, logs)
		case <-deadline:
			logs, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
			s.t.Fatalf("ZooKeeper did not serve on %s within %v:\n%s", s.Addr, startTimeout, logs)
		case <-retry.C:
		}
	}
}

// serving reports whether a ZooKeeper serves on addr: not only listening, srvr
// answers with the server's mode.
func serving(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("srvr"))
	out, _ := io.ReadAll(c)
	return strings.Contains(string(out), "Mode:")
}

// Down stops the server: its process group, by the id this package started it with.
func (s *Server) Down() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited: // exited by itself: its process group id may be another's now
		s.cmd = nil
		return
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}
