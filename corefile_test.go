package mesos

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coredns-mesos/mesos/internal/migrate"
	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/dnssec"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/root"
	_ "github.com/coredns/coredns/plugin/secondary"
	_ "github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// validateCorefile runs every plugin's setup on corefile, as CoreDNS does when it
// loads one, without starting anything: nothing is listened on or sent. The files it
// names under /etc/coredns/ are replaced by real ones.
func validateCorefile(t *testing.T, name, corefile string) error {
	t.Helper()
	saved := dnsserver.Directives
	dnsserver.Directives = []string{"root", "reload", "bind", "ready", "health", "prometheus", "errors", "log",
		"loadbalance", "cache", "dnssec", "transfer", "secondary", "mesos", "forward"}
	t.Cleanup(func() { dnsserver.Directives = saved })
	dir := t.TempDir()
	writeCA(t, dir)
	os.Rename(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "mesos-ca.pem"))
	os.WriteFile(filepath.Join(dir, "mesos-secret"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "zk-secret"), []byte("zks3cret\n"), 0o600)
	writeReadmeKey(t, filepath.Join(dir, "Kmesos.example.org.+013+NNNNN"), "mesos.example.org.")
	corefile = strings.ReplaceAll(corefile, "/etc/coredns/", dir+"/")
	blocks, err := caddyfile.Parse(name, strings.NewReader(corefile), dnsserver.Directives)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		// cache rewrites the TTLs of what passes through it, zone transfers included
		// (an AXFR's records to its 5 s minimum): a secondary would serve those.
		if len(b.Tokens["cache"]) > 0 && len(b.Tokens["transfer"]) > 0 {
			return fmt.Errorf("server block %v both caches and transfers: the secondaries would get cache's TTLs", b.Keys)
		}
	}
	return caddy.ValidateAndExecuteDirectives(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: name, ServerTypeName: "dns"}, nil, true)
}

// writeReadmeKey writes the signing key README's dnssec example names: a P-256 key
// for zone, as BIND's key files.
func writeReadmeKey(t *testing.T, base, zone string) {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReadmeCorefiles loads every "~~~ corefile" block of README.md, as CoreDNS's own
// readme test does, and the Corefiles the project ships.
func TestReadmeCorefiles(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)~~~ corefile\n(.*?)~~~").FindAllStringSubmatch(string(raw), -1)
	if len(blocks) < 5 {
		t.Fatalf("README has %d corefile examples, want at least 5", len(blocks))
	}
	for i, b := range blocks {
		if err := validateCorefile(t, "README.md", b[1]); err != nil {
			t.Errorf("README example %d does not load: %v\n%s", i+1, err, b[1])
		}
	}
	for _, f := range []string{"Corefile.example", "scripts/Corefile.quickstart"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateCorefile(t, f, string(raw)); err != nil {
			t.Errorf("%s does not load: %v", f, err)
		}
	}
	// A Corefile that is wrong fails here too: the check can fail.
	if err := validateCorefile(t, "bad", ".:53 {\n mesos {\n  masters 10.0.0.1\n  refresh soon\n }\n}\n"); err == nil {
		t.Error("a bad Corefile loaded")
	}
	if err := validateCorefile(t, "cached", "mesos:53 {\n cache 30\n mesos {\n  masters 10.0.0.1\n }\n transfer {\n  to 10.0.0.53\n }\n}\n"); err == nil || !strings.Contains(err.Error(), "both caches and transfers") {
		t.Errorf("a block that caches and transfers: %v", err)
	}
}

// TestFromConfig turns a Mesos-DNS config.json with every key into a Corefile that
// loads and says what it could not carry over.
func TestFromConfig(t *testing.T) {
	js := `{
	  "zk": "zk://dns:zkpass@10.101.160.15:2181,10.101.160.16:2181/mesos",
	  "zkDetectionTimeout": 30,
	  "masters": ["10.101.160.15:5050", "10.101.160.16:5050"],
	  "refreshSeconds": 60,
	  "stateTimeoutSeconds": 300,
	  "ttl": 30,
	  "domain": "mesos.example.org",
	  "port": 5353,
	  "resolvers": ["169.254.169.254", "[fd00::53]:53"],
	  "timeout": 5,
	  "httpon": true,
	  "dnson": true,
	  "httpport": 8123,
	  "externalon": true,
	  "recurseon": true,
	  "listener": "10.101.160.16",
	  "SOAMname": "ns1.mesos.example.org",
	  "SOARname": "root.ns1.mesos.example.org",
	  "SOARefresh": 60,
	  "SOARetry": 600,
	  "SOAExpire": 86400,
	  "SOAMinttl": 10,
	  "IPSources": ["netinfo", "mesos", "label", "host"],
	  "EnforceRFC952": true,
	  "SRVRecordDefaultWeight": 5,
	  "enumerationOn": false,
	  "mesosHTTPSOn": true,
	  "caCertFile": "/etc/coredns/mesos-ca.pem",
	  "mesosAuthentication": "basic",
	  "mesosCredentials": {"principal": "dns", "secret": "hunter2"},
	  "SetTruncateBit": false,
	  "bogusKey": 1
	}`
	corefile, warnings, err := migrate.Convert([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".:5353 {", "bind 10.101.160.16", "mesos mesos.example.org {", "masters zk://10.101.160.15:2181,10.101.160.16:2181/mesos",
		"zk_auth dns file " + migrate.ZKSecretFile,
		"refresh 60s", "timeout 300s", "ttl 30", "soa_minttl 10", "ip_sources netinfo mesos host", "rfc952", "srv_weight 5",
		"tls /etc/coredns/mesos-ca.pem", "basic_auth dns file " + migrate.SecretFile, "forward . 169.254.169.254:53 [fd00::53]:53"} {
		if !strings.Contains(corefile, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, corefile)
		}
	}
	if strings.Contains(corefile, "hunter2") || strings.Contains(corefile, "zkpass") {
		t.Error("the secret was copied into the Corefile")
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{"zk:", "zkDetectionTimeout", "label", "bogusKey", "httpon", "timeout:", "mesosCredentials", "masters:"} {
		if !strings.Contains(strings.ToLower(all), strings.ToLower(want)) {
			t.Errorf("no warning about %s in:\n%s", want, all)
		}
	}
	if err := validateCorefile(t, "from-config", corefile); err != nil {
		t.Errorf("the Corefile does not load: %v\n%s", err, corefile)
	}
	// Without resolvers the block serves the domain alone.
	// Without ZooKeeper the masters are listed, https when MesosHTTPSOn says so.
	corefile, _, err = migrate.Convert([]byte(`{"masters": ["10.0.0.1:5050"], "mesosHTTPSOn": true, "externalon": false}`))
	if err != nil || !strings.Contains(corefile, "masters https://10.0.0.1:5050") {
		t.Errorf("masters: %v\n%s", err, corefile)
	}
	// ZooKeeper's masters over TLS without a CA: a bare tls, the system's roots.
	corefile, _, err = migrate.Convert([]byte(`{"zk": "zk://10.0.0.1:2181/mesos", "mesosHTTPSOn": true, "externalon": false}`))
	if err != nil || !regexp.MustCompile(`(?m)^\s+tls$`).MatchString(corefile) {
		t.Errorf("zk with MesosHTTPSOn: %v\n%s", err, corefile)
	}
	if err := validateCorefile(t, "from-config", corefile); err != nil {
		t.Errorf("zk with MesosHTTPSOn: the Corefile does not load: %v\n%s", err, corefile)
	}
	corefile, _, err = migrate.Convert([]byte(`{"masters": ["10.0.0.1:5050"], "externalon": false}`))
	if err != nil || !strings.Contains(corefile, "mesos:53 {") || strings.Contains(corefile, "forward") {
		t.Errorf("minimal config: %v\n%s", err, corefile)
	}
	if err := validateCorefile(t, "from-config", corefile); err != nil {
		t.Errorf("minimal Corefile does not load: %v", err)
	}
	// A ZooKeeper password that holds a '/' stays out of the Corefile, which loads
	// and reads it from the file.
	corefile, _, err = migrate.Convert([]byte(`{"zk": "zk://dns:s3cr/et@10.0.0.1:2181/mesos", "externalon": false}`))
	if err != nil || strings.Contains(corefile, "s3cr") || !strings.Contains(corefile, "zk_auth dns file "+migrate.ZKSecretFile) {
		t.Errorf("zk password with a slash: %v\n%s", err, corefile)
	}
	if err := validateCorefile(t, "from-config", corefile); err != nil {
		t.Errorf("zk password with a slash: the Corefile does not load: %v\n%s", err, corefile)
	}
	if _, _, err := migrate.Convert([]byte(`{"ttl": "sixty"}`)); err == nil || !strings.Contains(err.Error(), "ttl") {
		t.Errorf("a bad value: %v", err)
	}
}
