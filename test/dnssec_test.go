package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/test/fakemaster"

	"github.com/miekg/dns"
)

// writeKey generates a key signing the zone (ECDSA P-256, KSK flags: one key signs
// everything) and writes it as BIND's key files, which the dnssec plugin reads. It
// returns the files' base name and the DNSKEY.
func writeKey(t *testing.T, dir, zone string) (string, *dns.DNSKEY) {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     257,
		Protocol:  3,
		Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", zone, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		t.Fatal(err)
	}
	return base, k
}

// startUnbound runs a validating unbound on loopback that sends the queries for zone
// to the server at addr and trusts key for it. Every other name goes to a loopback
// port nothing listens on: nothing leaves the machine.
func startUnbound(t *testing.T, zone, addr string, key *dns.DNSKEY) *daemon {
	t.Helper()
	port := freePort(t)
	d := newDaemon(t, "unbound", port)
	host, pport, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %[1]d
    do-ip6: no
    do-daemonize: no
    use-syslog: no
    logfile: ""
    username: ""
    chroot: ""
    directory: "%[2]s"
    pidfile: "%[2]s/unbound.pid"
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor: "%[3]s"
    # A name launched is asked before it exists: no negative answer is kept.
    cache-max-negative-ttl: 0
    qname-minimisation: no
remote-control:
    control-enable: no
stub-zone:
    name: "%[4]s"
    stub-addr: %[5]s@%[6]s
stub-zone:
    name: "."
    stub-addr: 127.0.0.1@%[7]d
`, port, d.dir, strings.ReplaceAll(key.String(), "\t", " "), zone, host, pport, freePort(t))
	confPath := d.configure(t, "unbound.conf", conf)
	if out, err := exec.Command("unbound-checkconf", confPath).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v\n%s\n%s", err, out, conf)
	}
	d.run(t, "unbound", "-d", "-c", confPath)
	eventually(t, "unbound to answer", 10*time.Second, func() bool {
		_, err := exchange(d.addr, "udp", zone, dns.TypeSOA, 1232)
		return err == nil
	})
	return d
}

// validated asks the resolver at addr with DO and returns its answer; secure is the
// AD bit: the resolver validated the answer from the zone's trust anchor down.
func validated(t *testing.T, addr, name string, qtype uint16) (r *dns.Msg, secure bool) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	m.AuthenticatedData = true
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r, r.AuthenticatedData
}

// TestSignedZoneValidates: the dnssec plugin in front of mesos signs a delegated zone;
// a validating unbound that trusts the zone's key finds a task's A, an SRV with its
// additional records, a name that does not exist and a type a name lacks all secure,
// and a task launched on the fake master validates as soon as it is served.
func TestSignedZoneValidates(t *testing.T) {
	if !haveTool(t, "unbound", "unbound") {
		return
	}
	const zone = "mesos.example.org."
	m := startMaster(t, recipeState(freePort(t), freePort(t)))
	base, key := writeKey(t, t.TempDir(), zone)
	primary := startCoreDNS(t, fmt.Sprintf(`    dnssec %s {
        key file %s
    }
    mesos %s {
        masters %s
        refresh 300ms
        timeout 200ms
    }`, zone, base, zone, m.URL()))
	primary.waitReady()
	u := startUnbound(t, zone, primary.addr, key)

	r, secure := validated(t, u.addr, "nginx.marathon."+zone, dns.TypeA)
	if !secure || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Errorf("a task's A: rcode %s, %d answers, secure %v", dns.RcodeToString[r.Rcode], len(r.Answer), secure)
	}
	r, secure = validated(t, u.addr, "_nginx._tcp.marathon."+zone, dns.TypeSRV)
	if n := countType(r.Answer, dns.TypeSRV); !secure || n != 2 {
		t.Errorf("an SRV: %d SRV records, secure %v", n, secure)
	}
	// The additional records, as the primary gives them, signed.
	direct := new(dns.Msg)
	direct.SetQuestion("_nginx._tcp.marathon."+zone, dns.TypeSRV)
	direct.SetEdns0(4096, true)
	dr, err := dns.Exchange(direct, primary.addr)
	if err != nil {
		t.Fatal(err)
	}
	if countType(dr.Extra, dns.TypeA) == 0 || countType(dr.Extra, dns.TypeRRSIG) == 0 {
		t.Errorf("the SRV answer's additional records carry no signature: %v", dr.Extra)
	}
	r, secure = validated(t, u.addr, "nosuch.marathon."+zone, dns.TypeA)
	if !secure || len(r.Answer) != 0 || (r.Rcode != dns.RcodeNameError && r.Rcode != dns.RcodeSuccess) {
		t.Errorf("a name that does not exist: rcode %s, %d answers, secure %v", dns.RcodeToString[r.Rcode], len(r.Answer), secure)
	}
	r, secure = validated(t, u.addr, "nginx.marathon."+zone, dns.TypeTXT)
	if !secure || len(r.Answer) != 0 || r.Rcode != dns.RcodeSuccess {
		t.Errorf("a type the name lacks: rcode %s, %d answers, secure %v", dns.RcodeToString[r.Rcode], len(r.Answer), secure)
	}

	// A task launched: asked from the moment it is launched, it validates once served.
	start := time.Now()
	if _, err := m.Launch(fakemaster.Launch{Name: "late", Ports: 1, Agent: "a-S1"}); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	for time.Since(start) < 10*time.Second {
		r, secure := validated(t, u.addr, "late.marathon."+zone, dns.TypeA)
		if secure && len(r.Answer) > 0 {
			took = time.Since(start)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	switch {
	case took == 0:
		t.Error("a task launched never validated")
	case took > notifyBound:
		t.Errorf("a task launched validated after %v, want within %v (a second on an idle machine)", took, notifyBound)
	default:
		t.Logf("a task launched validated after %v", took)
	}
}

func countType(rrs []dns.RR, t uint16) int {
	n := 0
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			n++
		}
	}
	return n
}
