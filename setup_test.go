package mesos

import (
	"bytes"
	"context"
	golog "log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/plugin/api"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

func parseBlock(t *testing.T, in string) (*Mesos, error) {
	t.Helper()
	return parse(caddy.NewTestController("dns", in))
}

func TestParseDefaults(t *testing.T) {
	m, err := parseBlock(t, `mesos {
		masters 10.0.0.1:5050
	}`)
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	if strings.Join(m.Zones, ",") != "mesos." || c.refresh != defaultRefresh || c.timeout != defaultTimeout || c.maxBytes != defaultMaxBytes {
		t.Errorf("defaults: zones %v refresh %v timeout %v max %d", m.Zones, c.refresh, c.timeout, c.maxBytes)
	}
	d := records.DefaultOptions()
	o := c.opts
	if o.TTL != d.TTL || o.SOA != d.SOA || o.SRVWeight != 1 || !o.CompatNames || o.RFC952 || o.HealthyOnly || len(o.IPSources) != 3 {
		t.Errorf("options %+v", o)
	}
	if c.masters[0].String() != "http://10.0.0.1:5050" || o.Masters[0] != "10.0.0.1:5050" || c.tls != nil {
		t.Errorf("master %v %v", c.masters[0], o.Masters)
	}
}

func TestParseEveryOption(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("hunter2\n"), 0o600)
	ca := writeCA(t, dir)
	m, err := parseBlock(t, `mesos mesos. mesos.example.org {
		masters https://m1.example.org:5050 m2.example.org https://m3.example.org:5443/mesos
		refresh 5s
		timeout 2s
		max_state_size 64MiB
		ttl 30
		soa_mname ns.example.org
		soa_rname hostmaster@example.org
		soa_refresh 120
		soa_retry 1m
		soa_expire 604800
		soa_minttl 5
		ip_sources docker netinfo host
		max_answers 8
		ixfr_journal 5000
		rfc952
		srv_weight 10
		compat_names off
		healthy_only
		tls `+ca+`
		tls_servername mesos.example.org
		basic_auth dns-principal file `+secretFile+`
		fallthrough mesos.example.org
	}`)
	if err != nil {
		t.Fatal(err)
	}
	c, o := m.cfg, m.cfg.opts
	if strings.Join(m.Zones, ",") != "mesos.,mesos.example.org." || strings.Join(o.Zones, ",") != "mesos.,mesos.example.org." {
		t.Errorf("zones %v", m.Zones)
	}
	urls := make([]string, 0, len(c.masters))
	for _, u := range c.masters {
		urls = append(urls, u.String())
	}
	if strings.Join(urls, " ") != "https://m1.example.org:5050 https://m2.example.org:5050 https://m3.example.org:5443/mesos" {
		t.Errorf("masters %v", urls)
	}
	if strings.Join(o.Masters, " ") != "m1.example.org:5050 m2.example.org:5050 m3.example.org:5443" {
		t.Errorf("masters for masterN %v", o.Masters)
	}
	if c.refresh != 5*time.Second || c.timeout != 2*time.Second || c.maxBytes != 64<<20 {
		t.Errorf("refresh %v timeout %v max %d", c.refresh, c.timeout, c.maxBytes)
	}
	want := records.SOAOptions{Mname: "ns.example.org.", Mbox: "hostmaster.example.org.", Refresh: 120, Retry: 60, Expire: 604800, Minimum: 5}
	if o.TTL != 30 || o.SOA != want {
		t.Errorf("ttl %d soa %+v", o.TTL, o.SOA)
	}
	if strings.Join([]string{string(o.IPSources[0]), string(o.IPSources[1]), string(o.IPSources[2])}, ",") != "docker,netinfo,host" || len(o.IPSources) != 3 {
		t.Errorf("ip sources %v", o.IPSources)
	}
	if !o.RFC952 || o.SRVWeight != 10 || o.CompatNames || !o.HealthyOnly || o.MaxAnswers != 8 {
		t.Errorf("options %+v", o)
	}
	if c.ixfrJournal != 5000 {
		t.Errorf("ixfr_journal %d", c.ixfrJournal)
	}
	if c.tls == nil || c.tls.RootCAs == nil || c.tls.ServerName != "mesos.example.org" || c.tls.InsecureSkipVerify {
		t.Errorf("tls %+v", c.tls)
	}
	if c.principal != "dns-principal" || c.secret != "hunter2" {
		t.Errorf("auth %q %q", c.principal, c.secret)
	}
	if !m.Fall.Through("x.mesos.example.org.") || m.Fall.Through("x.mesos.") {
		t.Error("fallthrough zones")
	}
}

func TestParseTimeoutFollowsRefresh(t *testing.T) {
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nrefresh 5s\n}")
	if err != nil || m.cfg.timeout != 5*time.Second {
		t.Fatalf("refresh 5s: timeout %v, %v", m.cfg.timeout, err)
	}
	// As in Mesos-DNS's defaults (refresh 60, timeout 300), a longer timeout is allowed.
	m, err = parseBlock(t, "mesos {\nmasters 10.0.0.1\nrefresh 60s\ntimeout 5m\n}")
	if err != nil || m.cfg.timeout != 5*time.Minute {
		t.Fatalf("timeout 5m: %v, %v", m.cfg.timeout, err)
	}
}

func TestParseSecretFromEnvAndInsecure(t *testing.T) {
	t.Setenv("MESOS_DNS_SECRET", "from-env")
	m, err := parseBlock(t, `mesos {
		masters https://10.0.0.1:5050
		basic_auth p env MESOS_DNS_SECRET
		insecure_skip_verify
		fallthrough
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.secret != "from-env" || !m.cfg.tls.InsecureSkipVerify || !m.Fall.Through("anything.mesos.") {
		t.Errorf("cfg %+v", m.cfg)
	}
}

func TestParseErrors(t *testing.T) {
	t.Setenv("EMPTY_SECRET", "")
	cases := []struct{ in, want string }{
		{"mesos", "masters is required"},
		{"mesos {\n}", "masters is required"},
		{"mesos {\nmasters\n}", "masters needs at least one URL"},
		{"mesos {\nmasters zk://dns:pw@10.0.0.1:2181/mesos\n}", "use zk_auth"},
		{"mesos {\nmasters zk://10.0.0.1:2181/mesos 10.0.0.2\n}", "list nothing beside it"},
		{"mesos {\nmasters zk://10.0.0.1:99999/mesos\n}", "not host:port"},
		{"mesos {\nmasters zk://,/mesos\n}", "empty ZooKeeper host"},
		{"mesos {\nmasters 10.0.0.1\nzk_auth dns env HOME\n}", "zk_auth needs a zk:// master"},
		{"mesos {\nmasters zk://10.0.0.1/mesos\nzk_auth dns\n}", "zk_auth needs USER"},
		{"mesos {\nmasters 10.0.0.1\nmode sometimes\n}", "mode needs auto, stream or poll"},
		{"mesos {\nmasters 10.0.0.1\nhttp\n}", "http needs one address"},
		{"mesos 10.in-addr.arpa {\nmasters 10.0.0.1\n}", "need a forward zone"},
		{"mesos {\nmasters 10.0.0.1\nhttp 8123\n}", "is not HOST:PORT"},
		{"mesos {\nmasters 10.0.0.1\nhttp localhost:8123\n}", "is not an IP address"},
		{"mesos {\nmasters 10.0.0.1\nhttp 127.0.0.1:0\n}", "not a port"},
		{"mesos {\nmasters 10.0.0.1\nhttp 127.0.0.1:8123\nmax_watches 0\n}", "max_watches: \"0\" is not a positive number"},
		{"mesos {\nmasters 10.0.0.1\nmax_watches 10\n}", "need http"},
		{"mesos {\nmasters 10.0.0.1\nhttp_enumerate\n}", "need http"},
		{"mesos {\nmasters 10.0.0.1\nhttp 127.0.0.1:8123\nhttp_enumerate on\n}", "http_enumerate takes no arguments"},
		{"mesos {\nmasters ftp://x\n}", "scheme must be http or https"},
		{"mesos {\nmasters http://user:pw@10.0.0.1:5050\n}", "credentials do not belong in the URL"},
		{"mesos {\nmasters 10.0.0.1:99999\n}", "bad port"},
		{"mesos {\nmasters http://10.0.0.1:5050/?x=1\n}", "no query"},
		{"mesos {\nmasters :5050\n}", "is not a master URL"},
		{"mesos {\nmasters http:/10.0.0.1:5050\n}", `"http:/10.0.0.1:5050": a scheme needs ://`},
		{"mesos {\nmasters HTTPS:10.0.0.1\n}", "a scheme needs ://"},
		{"mesos {\nmasters zk:/10.0.0.1:2181/mesos\n}", "a scheme needs ://"},
		{"mesos {\nmasters 256.1.1.1\n}", `"256.1.1.1" is neither an IP address nor a host name`},
		{"mesos {\nmasters 10.1:5050\n}", "neither an IP address nor a host name"},
		{"mesos {\nmasters 10.0.0.1:5050,10.0.0.2:5050\n}", "separated by spaces, not commas"},
		{"mesos {\nmasters http://10.0.0.1,10.0.0.2\n}", "separated by spaces, not commas"},
		{"mesos {\nmasters 10.0.0.1:\n}", "bad port"},
		{"mesos {\nmasters master_1!.example.org\n}", `"master_1!.example.org" is neither an IP address nor a host name`},
		{"mesos {\nmasters -master.example.org\n}", "neither an IP address nor a host name"},
		{"mesos {\nmasters 10.0.0.1\nmasters 10.0.0.2\n}", "masters given twice"},
		{"mesos {\nmasters 10.0.0.1\nrefresh\n}", "refresh needs one duration"},
		{"mesos {\nmasters 10.0.0.1\nrefresh soon\n}", `refresh: "soon" is not a duration`},
		{"mesos {\nmasters 10.0.0.1\nrefresh 1ms\n}", "out of range"},
		{"mesos {\nmasters 10.0.0.1\nmax_state_size lots\n}", "not a size"},
		{"mesos {\nmasters 10.0.0.1\nmax_state_size 1 2\n}", "max_state_size needs one size"},
		{"mesos {\nmasters 10.0.0.1\nttl -1\n}", `ttl: "-1" is not a number of seconds`},
		{"mesos {\nmasters 10.0.0.1\nttl 99999999999\n}", "ttl"},
		{"mesos {\nmasters 10.0.0.1\nsoa_minttl\n}", "soa_minttl needs one number"},
		{"mesos {\nmasters 10.0.0.1\nsoa_mname a..b\n}", "not a domain name"},
		{"mesos {\nmasters 10.0.0.1\nsoa_mname \"ns 1.x\"\n}", `soa_mname: "ns 1.x" is not a domain name`},
		{"mesos {\nmasters 10.0.0.1\nsoa_rname \"bad name with spaces\"\n}", "soa_rname: \"bad name with spaces\" is not a domain name"},
		{"mesos {\nmasters 10.0.0.1\nsoa_rname a(b)@example.org\n}", "not a domain name"},
		{"mesos {\nmasters 10.0.0.1\nsoa_mname ns.example.org\nns_addr 127.0.0.9\n}", "ns_addr gives ns1's addresses, but soa_mname ns.example.org. names another primary"},
		{"mesos mesos example.org {\nmasters 10.0.0.1\nsoa_mname ns1.mesos\nns_addr 127.0.0.9\n}", "drop one of them"},
		{"mesos {\nmasters 10.0.0.1\nsoa_rname\n}", "soa_rname needs one domain name"},
		{"mesos {\nmasters 10.0.0.1\nip_sources\n}", "ip_sources needs at least one"},
		{"mesos {\nmasters 10.0.0.1\nip_sources netinfo dns\n}", `unknown source "dns"`},
		{"mesos {\nmasters 10.0.0.1\nip_sources host host\n}", "host listed twice"},
		{"mesos {\nmasters 10.0.0.1\nip_sources auto autoip\n}", `unknown source "autoip" (auto, netinfo, mesos, docker, host)`},
		{"mesos {\nmasters 10.0.0.1\nmax_answers 0\n}", `max_answers: "0" is not a number from 1 to 65535`},
		{"mesos {\nmasters 10.0.0.1\nmax_answers\n}", "max_answers needs one number"},
		{"mesos {\nmasters 10.0.0.1\nixfr_journal -1\n}", `ixfr_journal: "-1" is not a number of records`},
		{"mesos {\nmasters 10.0.0.1\nixfr_journal 10 20\n}", "ixfr_journal needs one number of records"},
		{"mesos {\nmasters 10.0.0.1\nrfc952 yes\n}", "rfc952 takes no arguments"},
		{"mesos {\nmasters 10.0.0.1\nhealthy_only 1\n}", "healthy_only takes no arguments"},
		{"mesos {\nmasters 10.0.0.1\ncompat_names maybe\n}", "compat_names needs on or off"},
		{"mesos {\nmasters 10.0.0.1\nsrv_weight 70000\n}", "srv_weight"},
		{"mesos {\nmasters 10.0.0.1\ntls a b c d\n}", "tls takes"},
		{"mesos {\nmasters https://10.0.0.1\ntls /no/such/ca.pem\n}", "tls: error reading /no/such/ca.pem"},
		{"mesos {\nmasters http://10.0.0.1\ntls\n}", "tls is configured but master 10.0.0.1:5050 is plain http"},
		{"mesos {\nmasters 10.0.0.1\ninsecure_skip_verify\n}", "need an https master"},
		{"mesos {\nmasters 10.0.0.1\ntls_servername x\n}", "need an https master"},
		{"mesos {\nmasters 10.0.0.1\ntls_servername\n}", "tls_servername needs one name"},
		{"mesos {\nmasters 10.0.0.1\nbasic_auth p secret\n}", "basic_auth needs PRINCIPAL file PATH"},
		{"mesos {\nmasters 10.0.0.1\nbasic_auth p env NO_SUCH_VARIABLE_X\n}", "NO_SUCH_VARIABLE_X is not set"},
		{"mesos {\nmasters 10.0.0.1\nbasic_auth p env EMPTY_SECRET\n}", "is empty"},
		{"mesos {\nmasters 10.0.0.1\nbasic_auth p file /no/such/secret\n}", "reading secret file"},
		{"mesos {\nmasters 10.0.0.1\nbogus 1\n}", `unknown property "bogus"`},
		{"mesos . {\nmasters 10.0.0.1\n}", "would answer for every name"},
		{"mesos {\nmasters 10.0.0.1\n}\nmesos {\nmasters 10.0.0.2\n}", "Testfile:4 - Error during parsing: this plugin can only be used once per Server Block"},
		{"mesos {\nmasters 10.0.0.1\nfallthrough a.mesos\nfallthrough b.mesos\n}", "Testfile:4 - Error during parsing: fallthrough given twice"},
	}
	for _, tc := range cases {
		_, err := parseBlock(t, tc.in)
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	_, err := parseBlock(t, "mesos {\n    masters 10.0.0.1\n    refresh 30s\n    ttl soon\n}")
	if err == nil || !strings.Contains(err.Error(), "Testfile:4") || !strings.Contains(err.Error(), "ttl") {
		t.Fatalf("error %v does not name line 4 and the option", err)
	}
}

func TestParseSecretNeverInErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	os.WriteFile(f, []byte("hunter2"), 0o600)
	_, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nbasic_auth p file "+f+"\nbogus\n}")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

// writeCA writes a self-signed CA certificate and returns its path.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, []byte(testCA), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestZonesFromServerBlock: the zones come from the arguments, or else the server
// block's keys. A zone that shares no name with the block's zones is kept to warn of at
// the start (test/rewrite_test.go sees it logged, and not where a rewrite brings the
// zone names); a zone above or below a key gets names.
func TestZonesFromServerBlock(t *testing.T) {
	cases := []struct {
		keys    []string
		args    string
		want    string
		warning string // its start, "" for none
	}{
		{[]string{"mesos.example.org:53"}, "", "mesos.example.org.", ""},
		{[]string{"dns://Mesos.Example.org.:1053", "other.org"}, "", "mesos.example.org.,other.org.", ""},
		{[]string{".:53"}, "", "mesos.", ""},
		{nil, "", "mesos.", ""},
		{[]string{".:53"}, "cluster.local", "cluster.local.", ""},
		{[]string{"tls://.:853"}, "mesos", "mesos.", ""},
		{[]string{"example.org:53"}, "mesos.example.org", "mesos.example.org.", ""},
		{[]string{"marathon.mesos:53"}, "mesos", "mesos.", ""},
		{[]string{"mesos:53", "10.0.0.0/8"}, "mesos 10.in-addr.arpa", "mesos.,10.in-addr.arpa.", ""},
		{[]string{"mesos:53", "10.1.0.0/16"}, "mesos 10.in-addr.arpa", "mesos.,10.in-addr.arpa.", ""},
		{[]string{"mesos.example.org:53"}, "mesos", "mesos.", "zone mesos. is outside the server block's zones [mesos.example.org.]"},
		{[]string{"dns://example.org:1053"}, "mesos", "mesos.", "zone mesos. is outside the server block's zones [example.org.]"},
		{[]string{"mesos:53"}, "mesos 10.in-addr.arpa", "mesos.,10.in-addr.arpa.", "zone 10.in-addr.arpa. is outside the server block's zones [mesos.]"},
	}
	for _, tc := range cases {
		c := caddy.NewTestController("dns", "mesos "+tc.args+" {\n masters 10.0.0.1\n}")
		c.ServerBlockKeys = tc.keys
		m, err := parse(c)
		if err != nil {
			t.Errorf("%v %q: %v", tc.keys, tc.args, err)
			continue
		}
		if got := strings.Join(m.Zones, ","); got != tc.want {
			t.Errorf("%v %q: zones %s, want %s", tc.keys, tc.args, got, tc.want)
		}
		if got := m.cfg.unreached; tc.warning == "" && got != "" || !strings.HasPrefix(got, tc.warning) {
			t.Errorf("%v %q: warning %q, want %q", tc.keys, tc.args, got, tc.warning)
		}
	}
}

// TestMasterURLPorts: a master without a port is on Mesos's, 5050; a URL with a path,
// a proxy's prefix, on its scheme's.
func TestMasterURLPorts(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":                        "//10.0.0.1:5050",
		"master.example.org.":             "//master.example.org.:5050",
		"10.0.0.1:5050/":                  "//10.0.0.1:5050",
		"http://m1":                       "http://m1:5050",
		"https://m1/":                     "https://m1:5050",
		"https://proxy.example.org/mesos": "https://proxy.example.org:443/mesos",
		"http://proxy/mesos/":             "http://proxy:80/mesos",
		"https://proxy:8443/mesos":        "https://proxy:8443/mesos",
		"proxy/mesos":                     "//proxy:5050/mesos",
		"[::1]":                           "//[::1]:5050",
		"http://[fe80::1%25eth0]:5051":    "http://[fe80::1%25eth0]:5051",
	} {
		u, err := masterURL(in)
		if err != nil || u.String() != want {
			t.Errorf("%s: %v %v, want %s", in, u, err, want)
		}
	}
}

func TestParseBareSeconds(t *testing.T) {
	m, err := parseBlock(t, "mesos {\n masters 10.0.0.1\n refresh 45\n timeout 3\n}")
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.refresh != 45*time.Second || m.cfg.timeout != 3*time.Second {
		t.Errorf("refresh %v timeout %v", m.cfg.refresh, m.cfg.timeout)
	}
}

func TestParseRefusesEndpointURLs(t *testing.T) {
	for in, base := range map[string]string{
		"http://10.0.0.1:5050/master/state":         "http://10.0.0.1:5050",
		"https://m.example.org/mesos/master/state":  "https://m.example.org:443/mesos",
		"10.0.0.1:5050/state.json":                  "10.0.0.1:5050",
		"http://10.0.0.1:5050/master/redirect":      "http://10.0.0.1:5050",
		"http://10.0.0.1:5050/api/v1":               "http://10.0.0.1:5050",
		"https://m.example.org:443/x/master/api/v1": "https://m.example.org:443/x",
	} {
		_, err := parseBlock(t, "mesos {\n masters "+in+"\n}")
		if err == nil || !strings.Contains(err.Error(), "endpoint") || !strings.Contains(err.Error(), "write "+base) {
			t.Errorf("%s: %v, want it refused with the base URL %s", in, err, base)
		}
	}
}

func TestParseRelativePathsUseRoot(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, dir)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("hunter2\n"), 0o600)
	c := caddy.NewTestController("dns", "mesos {\n masters https://10.0.0.1:5050\n tls ca.pem\n basic_auth dns file secret\n}")
	dnsserver.GetConfig(c).Root = dir
	m, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.secret != "hunter2" || m.cfg.tls == nil || m.cfg.tls.RootCAs == nil {
		t.Errorf("secret %q, tls %v", m.cfg.secret, m.cfg.tls)
	}
}

func TestParseMissingFileNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ opt, file string }{
		{"tls " + filepath.Join(dir, "nope.pem"), "nope.pem"},
		{"basic_auth p file " + filepath.Join(dir, "nosecret"), "nosecret"},
	} {
		_, err := parseBlock(t, "mesos {\n masters https://10.0.0.1\n "+tc.opt+"\n refresh 30s\n}")
		if err == nil || !strings.Contains(err.Error(), "Testfile:3") || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("%s: error %v, want line 3 and the file", tc.opt, err)
		}
	}
}

func TestParseWarnings(t *testing.T) {
	var buf bytes.Buffer
	golog.SetOutput(&buf)
	t.Cleanup(func() { golog.SetOutput(os.Stderr) })
	if _, err := parseBlock(t, "mesos {\n masters 10.0.0.1\n refresh 5s\n timeout 20s\n fallthrough example.org mesos\n}"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "timeout 20s is longer than refresh 5s") || !strings.Contains(out, "fallthrough zone example.org. is outside") {
		t.Errorf("warnings: %q", out)
	}
	if strings.Contains(out, "fallthrough zone mesos.") {
		t.Errorf("warned about a fallthrough zone inside the zones: %q", out)
	}
	buf.Reset()
	if _, err := parseBlock(t, "mesos {\n masters 10.0.0.1\n fallthrough\n}"); err != nil || buf.Len() != 0 {
		t.Errorf("plain block warned: %v %q", err, buf.String())
	}
}

func TestParseZooKeeper(t *testing.T) {
	t.Setenv("ZK_SECRET", "zs3cret")
	m, err := parseBlock(t, "mesos {\n masters zk://10.0.0.1:2181,10.0.0.2,[fd00::3]:2182/mesos/prod/\n zk_auth dns env ZK_SECRET\n tls\n mode stream\n resync 2m\n agent_reregister_timeout 15m\n}")
	if err != nil {
		t.Fatal(err)
	}
	z := m.cfg.zk
	if z == nil || strings.Join(z.servers, ",") != "10.0.0.1:2181,10.0.0.2:2181,[fd00::3]:2182" || z.path != "/mesos/prod" || string(z.auth) != "dns:zs3cret" || !z.https {
		t.Fatalf("zk %+v", z)
	}
	if m.cfg.mode != modeStream || m.cfg.resync != 2*time.Minute || m.cfg.reregister != 15*time.Minute || len(m.cfg.opts.Masters) != 0 {
		t.Errorf("cfg %+v", m.cfg)
	}
	m, err = parseBlock(t, "mesos {\n masters zk://zk1\n}")
	if err != nil || m.cfg.zk.path != "/mesos" || m.cfg.zk.servers[0] != "zk1:2181" || m.cfg.mode != modeAuto || m.cfg.resync != defaultResync || m.cfg.reregister != defaultReregister {
		t.Errorf("defaults: %v %+v", err, m.cfg)
	}
}

func TestParseReverseZones(t *testing.T) {
	m, err := parseBlock(t, "mesos example.org 10.in-addr.arpa ip6.arpa {\nmasters 10.0.0.1\n}")
	if err != nil {
		t.Fatal(err)
	}
	o := m.cfg.opts
	if strings.Join(m.Zones, " ") != "example.org. 10.in-addr.arpa. ip6.arpa." || strings.Join(o.Zones, " ") != "example.org." ||
		strings.Join(o.ReverseZones, " ") != "10.in-addr.arpa. ip6.arpa." {
		t.Errorf("zones %v, forward %v, reverse %v", m.Zones, o.Zones, o.ReverseZones)
	}
}

func TestParseHTTP(t *testing.T) {
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nhttp [::1]:8123\nhttp_enumerate\nmax_watches 50\n}")
	if err != nil {
		t.Fatal(err)
	}
	if c := m.cfg; c.http != "[::1]:8123" || !c.enumerate || c.maxWatches != 50 {
		t.Errorf("http %q enumerate %v max_watches %d", c.http, c.enumerate, c.maxWatches)
	}
	m, err = parseBlock(t, "mesos {\nmasters 10.0.0.1\n}")
	if err != nil || m.cfg.http != "" || m.cfg.enumerate || m.cfg.maxWatches != api.DefaultMaxWatches {
		t.Errorf("defaults: %v %+v", err, m.cfg)
	}
}

// No error shows a password given in a masters URL, whatever the password holds: a
// '/' once made the ZooKeeper URL's credentials look like its path, and the error
// printed them.
func TestParseErrorsRedactPasswords(t *testing.T) {
	for _, masters := range []string{
		"zk://dns:s3cr/et@10.0.0.1:2181/mesos",
		"zk://dns:s3cret@10.0.0.1:2181/mesos",
		"zk://dns:s3cr/et@10.0.0.1:2181/mesos 10.0.0.2",
		"http://dns:s3cr/et@10.0.0.1:5050",
		"dns:s3cr/et@10.0.0.1:5050",
		"https://dns:s3cr%zz@10.0.0.1:5050",
		"http://dns:s3cret@10.0.0.1:5050/master/state",
		"ftp://dns:s3cret@10.0.0.1",
	} {
		_, err := parseBlock(t, "mesos {\nmasters "+masters+"\n}")
		if err == nil || strings.Contains(err.Error(), "s3cr") || !strings.Contains(err.Error(), "@10.0.0.1") {
			t.Errorf("masters %s: %v, want an error that names the host and not the password", masters, err)
		}
	}
}

// An HTTP API on an address other hosts reach is warned about at load, as
// -from-config warns: it serves what a zone transfer would.
func TestParseHTTPWarnsBeyondLoopback(t *testing.T) {
	var buf bytes.Buffer
	golog.SetOutput(&buf)
	t.Cleanup(func() { golog.SetOutput(os.Stderr) })
	for addr, warn := range map[string]bool{
		"0.0.0.0:8123": true, ":8123": true, "[::]:8123": true, "10.0.0.5:8123": true,
		"127.0.0.1:8123": false, "127.0.0.2:8123": false, "[::1]:8123": false,
	} {
		buf.Reset()
		if _, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nhttp "+addr+"\n}"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "http "+addr+" is not a loopback address"); got != warn {
			t.Errorf("http %s: warned %v, want %v: %q", addr, got, warn, buf.String())
		}
	}
}

// max_srv_per_task below 4 would leave out every port's SRV records (each port makes up
// to four, and the bound is shared by whole ports): refused at load, with the line and
// why.
func TestParseMaxSRVPerTaskBelowFour(t *testing.T) {
	for _, n := range []string{"1", "3"} {
		_, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nmax_srv_per_task "+n+"\n}")
		if err == nil || !strings.Contains(err.Error(), "Testfile:3") || !strings.Contains(err.Error(), "at least 4") {
			t.Errorf("max_srv_per_task %s: %v, want an error at line 3 saying at least 4", n, err)
		}
	}
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nmax_srv_per_task 4\n}")
	if err != nil || m.cfg.opts.MaxTaskSRV != 4 {
		t.Errorf("max_srv_per_task 4: %v", err)
	}
}

// ip_sources takes auto, in any place of the list.
func TestParseIPSourcesAuto(t *testing.T) {
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nip_sources AUTO host\n}")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.cfg.opts.IPSources, []records.IPSource{records.SourceAuto, records.SourceHost}) {
		t.Errorf("ip sources %v", m.cfg.opts.IPSources)
	}
}

// ixfr_journal: unset, the journal holds as many changes as the zone has records; 0
// keeps none, and every IXFR gets the whole zone.
func TestParseIXFRJournal(t *testing.T) {
	for in, want := range map[string]int{"": -1, "ixfr_journal 0": 0, "ixfr_journal 100000": 100000} {
		m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\n"+in+"\n}")
		if err != nil || m.cfg.ixfrJournal != want {
			t.Errorf("%q: %d, %v", in, m.cfg.ixfrJournal, err)
		}
	}
}

// TestParseDefaultMnameWrittenOut: soa_mname naming the default, ns1 of the block's one
// forward zone (as -from-config writes Mesos-DNS's ns1.mesos), keeps ns1's records and
// takes ns_addr; with two forward zones it names one primary for both, as any other.
func TestParseDefaultMnameWrittenOut(t *testing.T) {
	m, err := parseBlock(t, "mesos {\nmasters 10.0.0.1\nsoa_mname NS1.mesos\nns_addr 127.0.0.9\n}")
	if err != nil || m.cfg.opts.SOA.Mname != "" || len(m.cfg.opts.NSAddrs) != 1 {
		t.Fatalf("soa_mname ns1.mesos in zone mesos: %v, mname %q, ns_addr %v", err, m.cfg.opts.SOA.Mname, m.cfg.opts.NSAddrs)
	}
	set := records.Build(context.Background(), &state.State{}, m.cfg.opts, nil)
	if a, _, ok := set.Lookup("ns1.mesos.", "mesos.", dns.TypeA); !ok || len(a) != 1 || a[0].(*dns.A).A.String() != "127.0.0.9" {
		t.Errorf("ns1.mesos.: %v %v", a, ok)
	}
	m, err = parseBlock(t, "mesos mesos example.org {\nmasters 10.0.0.1\nsoa_mname ns1.mesos\n}")
	if err != nil || m.cfg.opts.SOA.Mname != "ns1.mesos." {
		t.Errorf("soa_mname ns1.mesos in zones mesos and example.org: %v, mname %q", err, m.cfg.opts.SOA.Mname)
	}
}
