package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

// Real secondaries from Debian's packages, BIND's named and Knot's knotd, copy the
// plugin's zone: by AXFR first, then by IXFR as NOTIFY tells them of each change.

// daemon is a secondary server the test started, stopped by its PID.
type daemon struct {
	name string
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *syncBuffer
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

// soa returns the serial d answers for zone (0 for none), and fails tb at once when d
// has exited (a configuration it rejected, say) instead of letting it wait for a copy
// that never comes.
func (d *daemon) soa(tb testing.TB, zone string) uint32 {
	tb.Helper()
	if d.cmd != nil {
		select {
		case <-d.done:
			tb.Fatalf("%s exited: %v\n%s", d.name, d.cmd.ProcessState, d.log.String())
		default:
		}
	}
	return soaOf(d.addr, zone)
}

// newDaemon readies a server of the tests' own, named name, on port of 127.0.0.1, in
// a directory of its own.
func newDaemon(tb testing.TB, name string, port int) *daemon {
	tb.Helper()
	return &daemon{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), dir: tb.TempDir(), log: &syncBuffer{}}
}

// configure writes the daemon's configuration file and returns its path.
func (d *daemon) configure(tb testing.TB, file, conf string) string {
	tb.Helper()
	path := filepath.Join(d.dir, file)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// run starts the daemon with args, stopped when the test ends, which logs what it
// wrote if the test failed.
func (d *daemon) run(tb testing.TB, args ...string) {
	tb.Helper()
	d.start(tb, args...)
	tb.Cleanup(func() {
		d.stop()
		if tb.Failed() {
			tb.Logf("%s's log:\n%s", d.name, d.log.String())
		}
	})
}

// start starts the daemon with args, or (none given) again with the last ones.
func (d *daemon) start(tb testing.TB, args ...string) {
	tb.Helper()
	if len(args) > 0 {
		d.args = args
	}
	d.cmd = exec.Command(d.args[0], d.args[1:]...)
	d.cmd.Dir = d.dir
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	cmd, done := d.cmd, make(chan struct{})
	d.done = done
	go func() {
		cmd.Wait()
		close(done)
	}()
}

// The settings README gives a BIND secondary, which the tests' BIND has too (and
// TestReadmeSecondaryConfigs holds README to):
//   - BIND 9.18.28 and later refuse an RRset of over 100 records by default
//     (CVE-2024-1737): an app's SRV name has a record for each task;
//   - BIND's SOA queries, the ones NOTIFYs set off among them, go through a rate
//     limiter that, once busy, sends them at ticks 10/rate seconds apart: half a
//     second at the default 20, 10 ms at 1000.
var bindSettings = []string{"    max-records-per-type 0;", "    serial-query-rate 1000;"}

// startBIND runs named as a secondary of zone from primary, on port of 127.0.0.1.
func startBIND(tb testing.TB, port int, zone, primary string) *daemon {
	tb.Helper()
	d := newDaemon(tb, "bind", port)
	host, pport, err := net.SplitHostPort(primary)
	if err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`options {
    directory "%[1]s";
    pid-file "%[1]s/named.pid";
    listen-on port %[2]d { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    dnssec-validation no;
    allow-query { any; };
    allow-transfer { 127.0.0.1; };
    request-ixfr yes;
%[6]s
};
controls { };
logging {
    channel out { stderr; severity info; print-time yes; print-category yes; };
    category default { out; };
    category xfer-in { out; };
    category notify { out; };
};
zone "%[3]s" {
    type secondary;
    primaries { %[4]s port %[5]s; };
    file "%[1]s/zone.db";
    allow-notify { 127.0.0.1; };
};
`, d.dir, port, strings.TrimSuffix(zone, "."), host, pport, strings.Join(bindSettings, "\n"))
	// -g: in the foreground, logging to stderr; -n 1: one worker thread, on a
	// two-core machine shared with the suite.
	d.run(tb, "named", "-g", "-n", "1", "-c", d.configure(tb, "named.conf", conf))
	return d
}

// How a Knot secondary keeps its copy. The tests' Knot writes the zone file at each
// change, so that a restarted knotd asks IXFR from its serial. README's large-cluster
// setting never writes it: at 100k tasks a write takes a second, during which no
// refresh runs, and a later zonefile-sync does not help, since Knot writes the file
// anyway each time its journal fills (20 changes); with -1 it merges the changes in
// its journal instead, and a restarted knotd takes the whole zone once.
const (
	knotRestartable = "    zonefile-sync: 0\n    zonefile-load: whole\n    journal-content: none"
	knotLargeZone   = "    zonefile-sync: -1"
)

// knotRemote is the setting README gives, and the tests use, for the primary's remote:
// Knot plans a NOTIFY of its own a second after each transfer that changed the zone,
// in whole seconds, and a NOTIFY from the primary in that second waits for it.
const knotRemote = "    block-notify-after-transfer: on"

// startKnot runs knotd as a secondary of zone from primary, on port of 127.0.0.1,
// keeping its copy as keep says (knotRestartable, knotLargeZone).
func startKnot(tb testing.TB, port int, zone, primary, keep string) *daemon {
	tb.Helper()
	d := newDaemon(tb, "knot", port)
	host, pport, err := net.SplitHostPort(primary)
	if err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
    background-workers: 1
    tcp-workers: 1
    udp-workers: 1
database:
    storage: "%[1]s"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: %[4]s@%[5]s
%[7]s
acl:
  - id: primary
    address: 127.0.0.1
    action: [notify, transfer]
template:
  - id: default
    storage: "%[1]s"
%[6]s
zone:
  - domain: %[3]s
    master: primary
    acl: primary
`, d.dir, port, zone, host, pport, keep, knotRemote)
	d.run(tb, "knotd", "-c", d.configure(tb, "knot.conf", conf))
	return d
}

// secondariesBlock is the mesos block of the secondaries' tests: the event stream, with
// a timeout a synthetic cluster's snapshot meets on a machine busy with another suite.
func secondariesBlock(masters, extra string) string {
	return fmt.Sprintf("    mesos {\n        masters %s\n        mode stream\n        timeout 10s\n%s\n    }", masters, extra)
}

// bindTransfer is named's line for a transfer it took, with the records it brought.
var bindTransfer = regexp.MustCompile(`Transfer completed: \d+ messages, (\d+) records`)

// primaryAddr2Knot writes host:port as Knot's logs do, host@port.
func primaryAddr2Knot(addr string) string { return strings.Replace(addr, ":", "@", 1) }

// axfr is zone as an AXFR from addr gives it: one line a record, sorted, and the
// SOA's serial.
func axfr(addr, zone string) ([]string, uint32, error) {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second}
	env, err := tr.In(m, addr)
	if err != nil {
		return nil, 0, err
	}
	var lines []string
	var serial uint32
	seen := map[string]bool{}
	for e := range env {
		if e.Error != nil {
			return nil, 0, e.Error
		}
		for _, rr := range e.RR {
			if soa, ok := rr.(*dns.SOA); ok {
				serial = soa.Serial
			}
			// The SOA comes first and last; each record once.
			s := strings.ToLower(rr.String())
			if !seen[s] {
				seen[s] = true
				lines = append(lines, s)
			}
		}
	}
	slices.Sort(lines)
	return lines, serial, nil
}

// soaOf is addr's serial for zone over UDP, 0 when it has none yet.
func soaOf(addr, zone string) uint32 {
	r, err := exchange(addr, "udp", zone, dns.TypeSOA, 1232)
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return 0
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial
	}
	return 0
}

// sameZone waits for the primary's serial to move from before (0: to be any), then
// for each secondary to hold it, and compares the whole zones: every name answers on
// the secondaries exactly as on the primary.
func sameZone(t *testing.T, what string, primary *server, zone string, before uint32, secondaries ...*daemon) {
	t.Helper()
	var want []string
	var serial uint32
	eventually(t, what+": the primary's zone to change and settle", 20*time.Second, func() bool {
		lines, s, err := axfr(primary.addr, zone)
		if err != nil || s == 0 || s == before {
			return false
		}
		// Settled: the same serial a moment later.
		time.Sleep(300 * time.Millisecond)
		if soaOf(primary.addr, zone) != s {
			return false
		}
		want, serial = lines, s
		return true
	})
	for _, d := range secondaries {
		eventually(t, fmt.Sprintf("%s: %s to reach serial %d", what, d.name, serial), 20*time.Second, func() bool {
			return d.soa(t, zone) == serial
		})
		got, s, err := axfr(d.addr, zone)
		if err != nil || s != serial {
			t.Fatalf("%s: AXFR from %s: serial %d, %v", what, d.name, s, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %s holds %d records, the primary %d; differences:\n%s", what, d.name, len(got), len(want), strings.Join(diffLines(got, want), "\n"))
		}
	}
}

func diffLines(got, want []string) []string {
	var out []string
	for _, l := range got {
		if _, ok := slices.BinarySearch(want, l); !ok {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range want {
		if _, ok := slices.BinarySearch(got, l); !ok {
			out = append(out, "- "+l)
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("… %d more", len(out)-20))
	}
	return out
}

// TestSecondariesFollowIncrementally: a BIND and a Knot secondary copy the zone of a
// 1,000-task cluster, and after launches, kills, an agent removal and a failover on
// the fake master each holds exactly the primary's zone, having pulled each change by
// IXFR (the primary counts the transfers by kind, Knot logs each). A CoreDNS
// secondary, which asks AXFR only, still follows beside them.
func TestSecondariesFollowIncrementally(t *testing.T) {
	if !haveTool(t, "named", "bind9") || !haveTool(t, "knotd", "knot") {
		return
	}
	c := newSynth(t, 1000)
	m := startMaster(t, c.doc)
	bindPort, knotPort, cdPort := freePort(t), freePort(t), freePort(t)
	primaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// The stream, with room for a 1,000-task snapshot on a busy machine: the agent's
	// removal is an event only the stream carries.
	block := secondariesBlock(m.URL(), "        notify_interval 100ms") + fmt.Sprintf(`
    transfer mesos {
        to 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d
    }`, bindPort, knotPort, cdPort)
	primary := startCoreDNSOn(t, primaryAddr, block)
	primary.waitReady()
	bind := startBIND(t, bindPort, "mesos.", primaryAddr)
	knot := startKnot(t, knotPort, "mesos.", primaryAddr, knotRestartable)
	cd := startCoreDNSOn(t, fmt.Sprintf("127.0.0.1:%d", cdPort), fmt.Sprintf("    secondary mesos {\n        transfer from %s\n    }\n    transfer mesos {\n        to *\n    }", primaryAddr))
	cdSecondary := &daemon{name: "coredns secondary", addr: cd.addr}
	sameZone(t, "first copy", primary, "mesos.", 0, bind, knot, cdSecondary)

	steps := []struct {
		what string
		do   func() error
	}{
		{"launches", func() error {
			for i := range 5 {
				if _, err := m.Launch(fakemaster.Launch{Name: fmt.Sprintf("late-%d", i), Ports: 2}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"kills", func() error {
			if len(m.KillName(c.apps[0].Name, true)) == 0 {
				return fmt.Errorf("no task of %s to kill", c.apps[0].Name)
			}
			return nil
		}},
		{"an agent removed", func() error {
			eventually(t, "the event stream to be open", 10*time.Second, func() bool {
				return primary.metric("coredns_mesos_stream_connected") == 1
			})
			m.Emit(`{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"` + c.agent + `"}}}`)
			return nil
		}},
		{"a failover and a launch on the new leader", func() error {
			if err := m.Failover(500 * time.Millisecond); err != nil {
				return err
			}
			_, err := m.Launch(fakemaster.Launch{Name: "after-failover", Ports: 1})
			return err
		}},
	}
	for _, s := range steps {
		before := primary.metric("coredns_mesos_transfers_total", `kind="ixfr"`)
		serial := soaOf(primary.addr, "mesos.")
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		sameZone(t, "after "+s.what, primary, "mesos.", serial, bind, knot, cdSecondary)
		if after := primary.metric("coredns_mesos_transfers_total", `kind="ixfr"`); after < before+2 {
			t.Errorf("after %s: %v incremental transfers, want at least one each from BIND and Knot (%v before)", s.what, after, before)
		}
	}
	if n := primary.metric("coredns_mesos_transfers_total", `kind="ixfr_full"`); n != 0 {
		t.Errorf("%v IXFR answered with the whole zone, want none: the journal reaches every serial the secondaries held", n)
	}
	// Their own words: Knot names each incoming transfer's kind; BIND logs the
	// records each brought, a few hundred at most here against the zone's 11,000.
	if n := strings.Count(knot.log.String(), "IXFR, incoming, remote "+primaryAddr2Knot(primaryAddr)+", finished"); n < len(steps) {
		t.Errorf("knotd logs %d incoming IXFR, want one a step (%d)", n, len(steps))
	}
	small := 0
	for _, m := range bindTransfer.FindAllStringSubmatch(bind.log.String(), -1) {
		if n, _ := strconv.Atoi(m[1]); n < 2000 {
			small++
		}
	}
	if small < len(steps) {
		t.Errorf("named logs %d transfers of under 2,000 records, want one a step (%d)", small, len(steps))
	}
}

// restart stops the server and starts it again with the same Corefile and address.
func (s *server) restart(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.cmd = exec.Command(corednsBin, "-conf", s.conf)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.waitReady()
}

// TestSecondariesCatchUp: a secondary whose serial the journal no longer reaches (it
// was stopped while the cluster changed more than the journal holds), and one whose
// serial is from before the primary restarted (a new journal), get the whole zone in
// answer to their IXFR, then follow by IXFR again.
func TestSecondariesCatchUp(t *testing.T) {
	if !haveTool(t, "named", "bind9") || !haveTool(t, "knotd", "knot") {
		return
	}
	c := newSynth(t, 300)
	m := startMaster(t, c.doc)
	bindPort, knotPort := freePort(t), freePort(t)
	primaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	block := secondariesBlock(m.URL(), "        notify_interval 100ms\n        ixfr_journal 60") + fmt.Sprintf(`
    transfer mesos {
        to 127.0.0.1:%d 127.0.0.1:%d
    }`, bindPort, knotPort)
	primary := startCoreDNSOn(t, primaryAddr, block)
	primary.waitReady()
	bind := startBIND(t, bindPort, "mesos.", primaryAddr)
	knot := startKnot(t, knotPort, "mesos.", primaryAddr, knotRestartable)
	sameZone(t, "first copy", primary, "mesos.", 0, bind, knot)

	kinds := func() (full, incremental float64) {
		return primary.metric("coredns_mesos_transfers_total", `kind="ixfr_full"`), primary.metric("coredns_mesos_transfers_total", `kind="ixfr"`)
	}
	launch := func(n int, prefix string) {
		t.Helper()
		for i := range n {
			if _, err := m.Launch(fakemaster.Launch{Name: fmt.Sprintf("%s-%d", prefix, i), Ports: 2}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both stopped while ten tasks launch: more than the 60 records the journal holds.
	bind.stop()
	knot.stop()
	serial := soaOf(primary.addr, "mesos.")
	launch(10, "while-away")
	eventually(t, "the launches to be served", 10*time.Second, func() bool { return soaOf(primary.addr, "mesos.") != serial })
	time.Sleep(300 * time.Millisecond)
	if held := primary.metric("coredns_mesos_ixfr_journal_records"); held > 60 {
		t.Fatalf("the journal holds %v records, over its 60", held)
	}
	full0, inc0 := kinds()
	bind.start(t)
	knot.start(t)
	// Back, they hold their old serial until a NOTIFY (or their refresh) comes: the
	// next change sends one.
	eventually(t, "the secondaries to answer again", 10*time.Second, func() bool {
		return bind.soa(t, "mesos.") != 0 && knot.soa(t, "mesos.") != 0
	})
	serial = soaOf(primary.addr, "mesos.")
	launch(1, "wake")
	sameZone(t, "back after the journal moved on", primary, "mesos.", serial, bind, knot)
	full1, inc1 := kinds()
	if full1 < full0+2 || inc1 != inc0 {
		t.Errorf("back after the journal moved on: %v whole-zone and %v incremental answers to IXFR, want 2 and 0", full1-full0, inc1-inc0)
	}
	serial = soaOf(primary.addr, "mesos.")
	launch(1, "then")
	sameZone(t, "a launch after", primary, "mesos.", serial, bind, knot)
	if _, inc2 := kinds(); inc2 < inc1+2 {
		t.Errorf("a launch after catching up: %v incremental transfers, want one each", inc2-inc1)
	}

	// The primary restarted: a new journal, which no secondary's serial is in.
	primary.restart(t)
	serial = soaOf(bind.addr, "mesos.")
	launch(1, "after-restart")
	sameZone(t, "after the primary restarted", primary, "mesos.", serial, bind, knot)
	full3, inc3 := kinds()
	if full3 < 2 {
		t.Errorf("after the primary restarted: %v whole-zone answers to IXFR, want one each", full3)
	}
	serial = soaOf(primary.addr, "mesos.")
	launch(1, "then-again")
	sameZone(t, "a launch after the restart", primary, "mesos.", serial, bind, knot)
	if _, inc4 := kinds(); inc4 < inc3+2 {
		t.Errorf("a launch after the restart: %v incremental transfers, want one each", inc4-inc3)
	}
}

// TestReverseZoneByIXFR: a Knot secondary of a reverse zone takes a task's PTR record
// added and then deleted by IXFR, and holds exactly the primary's zone after each.
func TestReverseZoneByIXFR(t *testing.T) {
	if !haveTool(t, "knotd", "knot") {
		return
	}
	const zone = "127.in-addr.arpa."
	m := startMaster(t, recipeState(freePort(t), freePort(t)))
	knotPort := freePort(t)
	primaryAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	block := strings.Replace(secondariesBlock(m.URL(), "        notify_interval 100ms"), "    mesos {", "    mesos mesos. "+zone+" {", 1) +
		fmt.Sprintf("\n    transfer %s {\n        to 127.0.0.1:%d\n    }", zone, knotPort)
	primary := startCoreDNSOn(t, primaryAddr, block)
	primary.waitReady()
	knot := startKnot(t, knotPort, zone, primaryAddr, knotRestartable)
	sameZone(t, "first copy", primary, zone, 0, knot)
	eventually(t, "the event stream to be open", 10*time.Second, func() bool {
		return primary.metric("coredns_mesos_stream_connected") == 1
	})
	ptr := "9.1.0.127.in-addr.arpa."
	incremental := func() float64 {
		return primary.metric("coredns_mesos_transfers_total", `zone="`+zone+`"`, `kind="ixfr"`)
	}

	serial := soaOf(primary.addr, zone)
	m.Emit(taskAdded(t, "late.1", "late", "a-S1"))
	m.Emit(taskUpdated("late.1", "a-S1", "TASK_RUNNING", "127.0.1.9", ""))
	sameZone(t, "a task's PTR added", primary, zone, serial, knot)
	if r, err := exchange(knot.addr, "udp", ptr, dns.TypePTR, 1232); err != nil || len(r.Answer) != 1 {
		t.Fatalf("knot: no PTR for the new task's address: %v %v", r, err)
	}
	if n := incremental(); n < 1 {
		t.Errorf("the PTR added: %v incremental transfers of %s", n, zone)
	}

	serial = soaOf(primary.addr, zone)
	m.Emit(taskUpdated("late.1", "a-S1", "TASK_KILLED", "127.0.1.9", ""))
	sameZone(t, "the task's PTR deleted", primary, zone, serial, knot)
	if r, err := exchange(knot.addr, "udp", ptr, dns.TypePTR, 1232); err != nil || len(r.Answer) != 0 {
		t.Fatalf("knot: the killed task's PTR is still there: %v %v", r, err)
	}
	if n := incremental(); n < 2 {
		t.Errorf("the PTR deleted: %v incremental transfers of %s, want 2", n, zone)
	}
	if n := strings.Count(knot.log.String(), "IXFR, incoming"); n < 2 {
		t.Errorf("knotd logs %d incoming IXFR of %s, want 2", n, zone)
	}
}

// TestReadmeSecondaryConfigs: the BIND and Knot configurations README gives load in
// named-checkconf and knotc, and have the settings the tests give the daemons. The
// replicated one names master-pin-tolerance, which Knot has from 3.3 (README says
// so): with an older knotc it is checked without it.
func TestReadmeSecondaryConfigs(t *testing.T) {
	if !haveTool(t, "named-checkconf", "bind9") || !haveTool(t, "knotc", "knot") {
		return
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)~~~ (txt|yaml)\n(.*?)~~~").FindAllStringSubmatch(string(readme), -1)
	dir := t.TempDir()
	bind, knot := 0, 0
	for i, b := range blocks {
		conf := b[2]
		var cmd *exec.Cmd
		path := filepath.Join(dir, fmt.Sprintf("conf%d", i))
		switch {
		case b[1] == "txt" && strings.Contains(conf, "type secondary;"):
			bind++
			cmd = exec.Command("named-checkconf", path)
			wantSettings(t, "BIND", conf, bindSettings...)
		case b[1] == "yaml" && strings.Contains(conf, "remote:"):
			knot++
			wantSettings(t, "Knot", conf, knotRemote, knotLargeZone)
			if strings.Contains(conf, "master-pin-tolerance") && !knotHas(t, "master-pin-tolerance") {
				conf = regexp.MustCompile(`(?m)^\s*master-pin-tolerance:.*\n`).ReplaceAllString(conf, "")
			}
			cmd = exec.Command("knotc", "-c", path, "conf-check")
		default:
			continue
		}
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README's configuration %q does not load: %v\n%s\n%s", cmd.Args[0], err, out, conf)
		}
	}
	if bind != 1 || knot != 2 {
		t.Errorf("README gives %d BIND and %d Knot configurations, want 1 and 2", bind, knot)
	}
}

// wantSettings checks that a README configuration has each setting the tests and the
// benchmark give the daemon, on a line of its own.
func wantSettings(t *testing.T, daemon, conf string, settings ...string) {
	t.Helper()
	lines := strings.Split(conf, "\n")
	for _, s := range settings {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == strings.TrimSpace(s) }) {
			t.Errorf("README's %s configuration lacks %q, which the tests give it:\n%s", daemon, strings.TrimSpace(s), conf)
		}
	}
}

// knotHas reports whether the installed Knot knows the zone option name.
func knotHas(t *testing.T, name string) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe.conf")
	conf := "zone:\n  - domain: probe.\n    " + name + ": 1\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command("knotc", "-c", path, "conf-check").Run() == nil
}
