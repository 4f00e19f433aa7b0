// Command fake-mesos-master serves a Mesos master state on loopback for trying the
// plugin without a cluster: a capture (addresses rewritten to 127.x.x.x) or a
// synthetic cluster, with the v1 event stream. It is changed at run time over HTTP:
//
//	curl '127.0.0.1:5050/fake/launch?name=web&ports=2'   # a task, in the state and on the stream
//	curl '127.0.0.1:5050/fake/kill?name=web'
//	curl '127.0.0.1:5050/fake/fault?f=503'               # the master fails; f=ok heals it
//	curl '127.0.0.1:5050/fake/failover'                  # a new leader, its agents recovering
//
// It runs in the foreground until interrupted; -h lists every control.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/test/fakemaster"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	err := run(os.Args[1:], os.Stderr, func(m *fakemaster.Master, size int) {
		log.Printf("fake mesos master on %s (%d bytes of state); -h lists the controls under %s/fake/", m.URL(), size, m.URL())
	}, sig)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		log.Fatal(err)
	}
}

// run serves until stop, calling ready once it answers.
func run(args []string, out io.Writer, ready func(m *fakemaster.Master, size int), stop <-chan os.Signal) error {
	fs := flag.NewFlagSet("fake-mesos-master", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "127.0.0.1:5050", "loopback address to serve on")
	stateFile := fs.String("state", "", "state capture to serve (JSON)")
	synthN := fs.Int("synth", 0, "serve a synthetic cluster with this many running tasks instead")
	heartbeat := fs.Duration("heartbeat", 15*time.Second, "heartbeat interval the event stream announces and keeps (0: none, as a master before 1.5)")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	if err := fakemaster.CheckLoopback(*listen); err != nil {
		return err
	}
	if *heartbeat < 0 {
		return fmt.Errorf("-heartbeat %v: a duration, 0 for none", *heartbeat)
	}
	var js []byte
	switch {
	case *synthN > 0 && *stateFile != "":
		return errors.New("-state and -synth: one or the other")
	case *synthN > 0:
		var b bytes.Buffer
		if _, err := synth.Write(&b, synth.Config{Tasks: *synthN, Seed: 1}); err != nil {
			return err
		}
		js = b.Bytes()
	case *stateFile != "":
		raw, err := os.ReadFile(*stateFile)
		if err != nil {
			return err
		}
		if js, err = fakemaster.Rewrite(raw); err != nil {
			return fmt.Errorf("%s: %w", *stateFile, err)
		}
	default:
		return errors.New("one of -state or -synth is required (see -h)")
	}
	m, err := fakemaster.Start(*listen)
	if err != nil {
		return err
	}
	defer m.Close()
	m.SetState(js)
	m.SetHeartbeat(*heartbeat)
	ready(m, len(js))
	<-stop
	return nil
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: fake-mesos-master -state FILE | -synth N [-listen 127.0.0.1:5050] [-heartbeat 15s]\n\n")
	fs.PrintDefaults()
	fmt.Fprintf(w, `
It serves /master/state, /master/redirect, /master/state-summary and the v1 API
(POST /api/v1: SUBSCRIBE, GET_STATE, GET_MASTER). Controls, with curl (GET or POST):

  /fake/launch?name=NAME[&ports=1][&agent=ID|HOST][&framework=ID|NAME][&id=ID]
      a running task (NAME.fake-N) on the agents in turn, in marathon by default:
      in the state and, as TASK_ADDED, on open streams
  /fake/kill?name=NAME[&all=1] | /fake/kill?id=ID
      the last task of that name launched (every one with all=1), or that task:
      out of the state and, as TASK_KILLED, on open streams
  /fake/churn?per_second=N
      N launches and kills a second of tasks churn-0..49, in the state too; 0 stops it
  /fake/fault?f=FAULT[&delay=2s]
      what the state and API endpoints answer (streams open already go on):
`)
	for _, f := range fakemaster.Faults {
		fmt.Fprintf(w, "        %-10s %s\n", f.Fault, f.Does)
	}
	fmt.Fprintf(w, `  /fake/stream-fault?kind=KIND
      what the streams open now do:
`)
	for _, f := range fakemaster.StreamFaults {
		fmt.Fprintf(w, "        %-10s %s\n", f.Fault, f.Does)
	}
	fmt.Fprintf(w, `  /fake/heartbeats?pause=1|0[&interval=DURATION]
      pause or resume the heartbeats of open streams; interval: what streams opened
      from now announce (a client gives a stream up after three silent intervals)
  /fake/failover[?reregister=10s]
      a new leader on this address: streams end; until reregister passes every agent
      is recovered (not re-registered) and no task is known; then they are back, with
      AGENT_ADDED and TASK_ADDED events
  /fake/follower?leader=HOST:PORT
      this master follows another (a loopback address): its state and API redirect
      there and its streams end; leader= with nothing makes it lead again
`)
}
