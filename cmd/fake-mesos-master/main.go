// Command fake-mesos-master serves a Mesos master state on loopback for trying the
// plugin without a cluster: a capture (addresses rewritten to 127.x.x.x) or a
// synthetic cluster. Faults can be scripted at run time:
//
//	curl 'http://127.0.0.1:5050/fake/fault?f=503'
//	curl 'http://127.0.0.1:5050/fake/fault?f=ok'    # healthy again
//
// It runs in the foreground until interrupted; -h lists the faults.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/test/fakemaster"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5050", "loopback address to serve on")
	stateFile := flag.String("state", "", "state capture to serve (JSON)")
	synthN := flag.Int("synth", 0, "serve a synthetic cluster with this many running tasks instead")
	flag.Usage = func() {
		w := flag.CommandLine.Output()
		fmt.Fprintf(w, "Usage: fake-mesos-master -state FILE | -synth N [-listen 127.0.0.1:5050]\n\n")
		flag.PrintDefaults()
		fmt.Fprintf(w, "\nFaults, at run time: curl 'http://LISTEN/fake/fault?f=FAULT[&delay=2s]'\n")
		for _, f := range fakemaster.Faults {
			fmt.Fprintf(w, "  %-10s %s\n", f.Fault, f.Does)
		}
		fmt.Fprintf(w, "\nEvent stream: POST /api/v1 (SUBSCRIBE, GET_STATE, GET_MASTER); task churn on it:\n")
		fmt.Fprintf(w, "  curl 'http://LISTEN/fake/churn?per_second=200'   (0 stops it)\n")
	}
	flag.Parse()
	if err := fakemaster.CheckLoopback(*listen); err != nil {
		log.Fatal(err)
	}
	var js []byte
	switch {
	case *synthN > 0:
		var b bytes.Buffer
		if _, err := synth.Write(&b, synth.Config{Tasks: *synthN, Seed: 1}); err != nil {
			log.Fatal(err)
		}
		js = b.Bytes()
	case *stateFile != "":
		raw, err := os.ReadFile(*stateFile)
		if err != nil {
			log.Fatal(err)
		}
		if js, err = fakemaster.Rewrite(raw); err != nil {
			log.Fatalf("%s: %v", *stateFile, err)
		}
	default:
		log.Fatal("one of -state or -synth is required")
	}
	m, err := fakemaster.Start(*listen)
	if err != nil {
		log.Fatal(err)
	}
	m.SetState(js)
	log.Printf("fake mesos master on %s (%d bytes of state)", m.URL(), len(js))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	m.Close()
}
