// Command probe is bench/firstanswer.sh's clock: it asks a DNS server for one A record
// every few milliseconds until the answer holds one, then prints the seconds since the
// server was started and the server's peak RSS at that moment (VmHWM, in kB).
//
//	probe -server 127.0.0.1:28353 -name app-0-0.marathon.mesos. -pid 1234 -needs 1200 -since 1700000000123456
//
// -since is when the server was started, in microseconds since the epoch (bash's
// ${EPOCHREALTIME/./}). One process asking over one socket costs the measured server
// next to nothing, where dig started every 10 ms costs tens of milliseconds each.
// It fails at once if the server (or -needs, the fake master) exits, or if the server
// answers that the name does not exist (its records are loaded and the name is not
// among them).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

func main() {
	server := flag.String("server", "", "the server's HOST:PORT (UDP)")
	name := flag.String("name", "", "the name whose A record marks the records loaded")
	pid := flag.Int("pid", 0, "the server's process id: its peak RSS, and whether it still runs")
	needs := flag.Int("needs", 0, "another process the answer needs (the fake master): fail if it exits")
	since := flag.Int64("since", 0, "when the server was started, microseconds since the epoch")
	every := flag.Duration("every", 10*time.Millisecond, "how often to ask")
	wait := flag.Duration("timeout", 200*time.Millisecond, "how long to wait for one answer")
	limit := flag.Duration("limit", 30*time.Minute, "give up after this long")
	flag.Parse()
	if *server == "" || *name == "" || *pid <= 0 || *since <= 0 {
		fmt.Fprintln(os.Stderr, "probe: -server, -name, -pid and -since are required")
		os.Exit(2)
	}
	secs, hwm, err := probe(*server, dns.Fqdn(*name), *pid, *needs, time.UnixMicro(*since), *every, *wait, *limit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	fmt.Printf("%.3f %d\n", secs, hwm)
}

func probe(server, name string, pid, needs int, start time.Time, every, wait, limit time.Duration) (float64, int64, error) {
	c := &dns.Client{Net: "udp", Timeout: wait}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	for {
		if err := running(pid, "the server"); err != nil {
			return 0, 0, err
		}
		if needs > 0 {
			if err := running(needs, "the process the server needs (-needs)"); err != nil {
				return 0, 0, err
			}
		}
		r, _, err := c.Exchange(m, server)
		if err == nil {
			if r.Rcode == dns.RcodeNameError {
				return 0, 0, fmt.Errorf("%s answered NXDOMAIN for %s: the records are loaded and the name is not among them", server, name)
			}
			for _, rr := range r.Answer {
				if _, ok := rr.(*dns.A); ok {
					secs := time.Since(start).Seconds()
					hwm, err := peakRSS(pid)
					return secs, hwm, err
				}
			}
		}
		// Refused (not listening yet), timed out, SERVFAIL (not loaded yet): again.
		if time.Since(start) > limit {
			return 0, 0, fmt.Errorf("no answer for %s from %s within %v (last error: %v)", name, server, limit, err)
		}
		time.Sleep(every)
	}
}

// running fails if process pid has exited (gone, or a zombie its parent has not reaped).
func running(pid int, what string) error {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return fmt.Errorf("%s, process %d, exited", what, pid)
	}
	// The state follows the command name, which is in parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && strings.HasPrefix(string(b[i:]), ") Z") {
		return fmt.Errorf("%s, process %d, exited", what, pid)
	}
	return nil
}

// peakRSS reads VmHWM, in kB, from /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
}
