// Command mesos-records prints the DNS records the mesos plugin serves for a saved
// master state, or, with -stats, how long decoding and building took and the peak RSS.
// With -synth N it writes a synthetic N-task state instead; with -from-config it turns
// a Mesos-DNS config.json into the equivalent Corefile.
//
//	curl -s http://leader:5050/master/state > state.json
//	mesos-records -zone mesos. state.json
//	mesos-records -synth 100000 > state-100k.json && mesos-records -stats state-100k.json
//	mesos-records -from-config /etc/mesos-dns/config.json > Corefile
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/coredns-mesos/mesos/internal/migrate"
	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/records"

	"github.com/miekg/dns"
)

func main() {
	zone := flag.String("zone", "mesos.", "zone to print")
	stats := flag.Bool("stats", false, "print timings, counts and peak RSS instead of the records")
	synthN := flag.Int("synth", 0, "write a synthetic state with this many running tasks to stdout")
	seed := flag.Uint64("seed", 1, "seed for -synth")
	fromConfig := flag.String("from-config", "", "print the Corefile equivalent to this Mesos-DNS config.json (warnings on stderr)")
	flag.Parse()

	if *fromConfig != "" {
		js, err := os.ReadFile(*fromConfig)
		if err != nil {
			fail(err)
		}
		corefile, warnings, err := migrate.Convert(js)
		if err != nil {
			fail(err)
		}
		for _, w := range warnings {
			fmt.Fprintln(os.Stderr, "mesos-records: warning:", w)
		}
		fmt.Print(corefile)
		return
	}

	if *synthN > 0 {
		if _, err := synth.Write(os.Stdout, synth.Config{Tasks: *synthN, Seed: *seed}); err != nil {
			fail(err)
		}
		return
	}
	var in io.Reader = os.Stdin
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fail(err)
		}
		defer f.Close()
		in = f
	}
	// The records are built while the state is decoded, as the server's first poll
	// does: "decode" is that, "build" what is left after it (the masters, sealing).
	start := time.Now()
	o := records.DefaultOptions()
	o.Zones = []string{dns.Fqdn(*zone)}
	o.Hosts = records.NewHostCache(nil)
	u := records.NewUpdater(&o)
	st, err := u.LoadingDecoder(context.Background())(in)
	if err != nil {
		fail(err)
	}
	decoded := time.Now()
	u.Update(context.Background(), st)
	set := u.Publish(nil)
	built := time.Now()
	if *stats {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		s := set.Stats()
		fmt.Printf("decode %v build %v total %v\n", decoded.Sub(start).Round(time.Millisecond), built.Sub(decoded).Round(time.Millisecond), built.Sub(start).Round(time.Millisecond))
		fmt.Printf("records %d tasks %d agents %d frameworks %d skipped %v\n", s.Records, s.Tasks, s.Agents, s.Frameworks, s.Skipped)
		fmt.Printf("peak_rss_mb %d live_heap_mb %d\n", ru.Maxrss/1024, ms.HeapAlloc>>20)
		runtime.KeepAlive(set)
		return
	}
	w := os.Stdout
	set.Walk(dns.Fqdn(*zone), func(rr dns.RR) bool {
		fmt.Fprintln(w, rr.String())
		return true
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mesos-records:", err)
	os.Exit(1)
}
