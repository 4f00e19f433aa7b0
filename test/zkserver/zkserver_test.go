package zkserver

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fatalTB is a testing.TB whose Fatal ends only the goroutine that called it, as the
// testing package's does, and records the message for the test to check.
type fatalTB struct {
	testing.TB // the real test, for TempDir and Cleanup
	mu         sync.Mutex
	msg        string
	failed     bool
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg, f.failed = fmt.Sprintf(format, args...), true
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fatalTB) Helper() {}

// TestStartFailsAtOnce: a ZooKeeper whose script exits at once (here a stand-in that
// says what Debian's says without java) fails Start at once with that output, not
// after the start timeout.
func TestStartFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "zkServer.sh")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'exec: /usr/bin/java: not found' >&2\nexit 127\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(s string) { script = s }(script)
	script = fake

	tb := &fatalTB{TB: t}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(tb)
	}()
	select {
	case <-done:
	case <-time.After(startTimeout / 2):
		t.Fatalf("Start still waiting after %v for a script that exited at once", startTimeout/2)
	}
	took := time.Since(start)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if !tb.failed {
		t.Fatal("Start returned without failing for a ZooKeeper that never served")
	}
	if !strings.Contains(tb.msg, "exited before serving") || !strings.Contains(tb.msg, "java: not found") || !strings.Contains(tb.msg, "exit status 127") {
		t.Errorf("the failure does not say why: %q", tb.msg)
	}
	// At once: the exit is noticed within the retry interval, far from the timeout.
	if took > 30*time.Second {
		t.Errorf("the failure took %v", took)
	}
	t.Logf("failed after %v: %s", took, tb.msg)
}

// TestDownUp: a ZooKeeper starts and serves; Down stops it, Up serves again on the
// same address.
func TestDownUp(t *testing.T) {
	if m := Missing(); m != "" {
		if os.Getenv("MESOS_TEST_ALL") != "" {
			t.Fatalf("needs %s (MESOS_TEST_ALL is set)", m)
		}
		t.Skipf("SKIPPED, not passed: needs %s; MESOS_TEST_ALL=1 makes this a failure", m)
	}
	s := Start(t)
	if !serving(s.Addr) {
		t.Fatalf("Start returned before ZooKeeper served on %s", s.Addr)
	}
	s.Down()
	if serving(s.Addr) {
		t.Fatalf("still serving on %s after Down", s.Addr)
	}
	s.Up()
	if !serving(s.Addr) {
		t.Errorf("Up returned before ZooKeeper served on %s", s.Addr)
	}
}
