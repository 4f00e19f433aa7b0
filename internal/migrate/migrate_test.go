package migrate

import (
	"strings"
	"testing"
)

// convert runs Convert on js and fails the test on an error.
func convert(t *testing.T, js string) (string, string) {
	t.Helper()
	corefile, warnings, err := Convert([]byte(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return corefile, strings.Join(warnings, "\n")
}

// refused checks that Convert refuses js with an error naming key, and returns it.
func refused(t *testing.T, js, key string) string {
	t.Helper()
	corefile, _, err := Convert([]byte(js))
	if err == nil {
		t.Errorf("%s: no error; the Corefile:\n%s", js, corefile)
		return ""
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("%s: the error does not name %s: %v", js, key, err)
	}
	if corefile != "" {
		t.Errorf("%s: a Corefile along with the error:\n%s", js, corefile)
	}
	return err.Error()
}

// A value is copied into the Corefile as one token, or not at all: one that the
// Corefile would read as more (or other) tokens is refused with the key it came from.
// "SOAMname": "ns1.mesos\n insecure_skip_verify" once gave a Corefile that loaded
// with TLS verification of the masters turned off.
func TestValuesAreOneToken(t *testing.T) {
	const base = `"masters": ["10.0.0.1:5050"], "mesosHTTPSOn": true, `
	for _, tc := range []struct{ js, key string }{
		{`"SOAMname": "ns1.mesos\n insecure_skip_verify"`, "SOAMname"},
		{`"SOARname": "root.ns1.mesos\ninsecure_skip_verify"`, "SOARname"},
		{`"email": "root mesos"`, "email"},
		{`"domain": "mesos {"`, "domain"},
		{`"domain": "mesos#x"`, "domain"},
		{`"listener": "10.0.0.1\tx"`, "listener"},
		{`"caCertFile": "/etc/ca\".pem"`, "caCertFile"},
		{`"certFile": "/etc/{$HOME}/c.pem", "keyFile": "/etc/k.pem"`, "certFile"},
		{`"certFile": "/etc/c.pem", "keyFile": "/etc/k.pem}"`, "keyFile"},
		{`"resolvers": ["8.8.8.8 9.9.9.9"]`, "resolvers"},
		{`"mesosCredentials": {"principal": "dns\ninsecure_skip_verify", "secret": "x"}`, "mesosCredentials"},
		{`"mesosAuthentication": "basic", "mesosCredentials": {"principal": "", "secret": "x"}`, "mesosCredentials"},
		{`"domain": "mesos\u2028x"`, "domain"},
		{`"domain": "mesos\u0000"`, "domain"},
	} {
		refused(t, `{`+base+tc.js+`}`, tc.key)
	}
	refused(t, `{"masters": ["10.0.0.1:5050\ninsecure_skip_verify"]}`, "masters")
	refused(t, `{"zk": "zk://10.0.0.1:2181/mesos\n        insecure_skip_verify"}`, "zk")
	refused(t, `{"zk": "zk://d%20ns:pw@10.0.0.1:2181/mesos"}`, "zk")
	// What is one token is copied as it is.
	corefile, _ := convert(t, `{`+base+`"SOAMname": "ns1.mesos", "caCertFile": "/etc/o'brien/ca.pem", "SOARname": "first\\.last.example.org"}`)
	for _, want := range []string{"soa_mname ns1.mesos\n", "tls /etc/o'brien/ca.pem\n", `soa_rname first\.last.example.org` + "\n"} {
		if !strings.Contains(corefile, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, corefile)
		}
	}
}

// A ZooKeeper password never reaches the Corefile, whatever it holds: the Corefile
// names the user and a file, and a warning says what to write there.
func TestZooKeeperPasswordNotCopied(t *testing.T) {
	for _, zk := range []string{
		"zk://dns:s3cr/et@10.0.0.1:2181,10.0.0.2:2181/mesos",
		"zk://dns:s3cr@et@10.0.0.1:2181,10.0.0.2:2181/mesos/",
		"zk://dns:s3cr%2Fet@10.0.0.1:2181,10.0.0.2:2181/mesos",
		"zk://dns:s3cr:et@10.0.0.1:2181,10.0.0.2:2181/mesos",
	} {
		corefile, warnings := convert(t, `{"zk": "`+zk+`", "externalon": false}`)
		if strings.Contains(corefile, "s3cr") || strings.Contains(corefile, "et@") {
			t.Errorf("%s: the password is in the Corefile:\n%s", zk, corefile)
		}
		for _, want := range []string{"masters zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n", "zk_auth dns file " + ZKSecretFile + "\n"} {
			if !strings.Contains(corefile, want) {
				t.Errorf("%s: Corefile lacks %q:\n%s", zk, want, corefile)
			}
		}
		if !strings.Contains(warnings, ZKSecretFile) || !strings.Contains(warnings, `"dns"`) || strings.Contains(warnings, "s3cr") {
			t.Errorf("%s: the warning does not say what to write where, or shows the password:\n%s", zk, warnings)
		}
		if strings.Contains(zk, "%") != strings.Contains(warnings, "decoded") {
			t.Errorf("%s: the warning should say to decode %%XX escapes when there are some:\n%s", zk, warnings)
		}
	}
}

// No error shows a password, wherever it was.
func TestErrorsRedactPasswords(t *testing.T) {
	for _, tc := range []struct{ js, key string }{
		{`{"zk": "zk://dns:s3cr/et@10.0.0.1:2181/mes os"}`, "zk"},
		{`{"zk": "zk://dns:s3cret@10.0.0.1:2181/mesos\n insecure_skip_verify"}`, "zk"},
		{`{"masters": ["dns:s3cr/et@10.0.0.1:5050"]}`, "masters"},
		{`{"masters": ["http://dns:s3cret@10.0.0.1:5050"]}`, "masters"},
		{`{"masters": ["https://dns:s3cr et@10.0.0.1:5050"]}`, "masters"},
	} {
		if msg := refused(t, tc.js, tc.key); strings.Contains(msg, "s3cr") {
			t.Errorf("%s: the error shows the password: %s", tc.js, msg)
		}
	}
}

// Numbers are numbers, in range: Mesos-DNS refuses a string where it takes a number,
// and a value the plugin would refuse, or read as another, is refused here, naming
// the key.
func TestNumbersChecked(t *testing.T) {
	for _, tc := range []struct{ js, key string }{
		{`"ttl": "60"`, "ttl"},
		{`"ttl": -5`, "ttl"},
		{`"ttl": 1.5`, "ttl"},
		{`"ttl": 4294967296`, "ttl"},
		{`"port": 99999`, "port"},
		{`"port": 0`, "port"},
		{`"port": "53"`, "port"},
		{`"httpport": 65536`, "httpport"},
		{`"httpport": -1`, "httpport"},
		{`"refreshSeconds": 0`, "refreshSeconds"},
		{`"refreshSeconds": -60`, "refreshSeconds"},
		{`"stateTimeoutSeconds": 100000`, "stateTimeoutSeconds"},
		{`"SOARefresh": -1`, "SOARefresh"},
		{`"SOARetry": "600"`, "SOARetry"},
		{`"SOAExpire": 3000000000`, "SOAExpire"},
		{`"SOAMinttl": true`, "SOAMinttl"},
		{`"SOASerial": -1`, "SOASerial"},
		{`"SRVRecordDefaultWeight": 65536`, "SRVRecordDefaultWeight"},
		{`"zkDetectionTimeout": -30`, "zkDetectionTimeout"},
		{`"timeout": -5`, "timeout"},
	} {
		refused(t, `{"masters": ["10.0.0.1:5050"], `+tc.js+`}`, tc.key)
	}
	corefile, _ := convert(t, `{"masters": ["10.0.0.1:5050"], "ttl": 0, "port": 65535, "httpport": 1, "refreshSeconds": 86400, "SRVRecordDefaultWeight": 0, "SOAExpire": 2147483647}`)
	for _, want := range []string{"ttl 0\n", "mesos:65535 {", "http 127.0.0.1:1\n", "refresh 86400s\n", "srv_weight 0\n", "soa_expire 2147483647\n"} {
		if !strings.Contains(corefile, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, corefile)
		}
	}
}

// email is Mesos-DNS's other spelling of the SOA mailbox: used when SOARname is not
// given, and when it is, left out with a warning rather than silently.
func TestEmailAndSOARname(t *testing.T) {
	corefile, warnings := convert(t, `{"masters": ["10.0.0.1:5050"], "email": "hostmaster@example.org"}`)
	if !strings.Contains(corefile, "soa_rname hostmaster@example.org\n") || strings.Contains(warnings, "email") {
		t.Errorf("email alone: warnings %q, Corefile:\n%s", warnings, corefile)
	}
	corefile, warnings = convert(t, `{"masters": ["10.0.0.1:5050"], "email": "hostmaster@example.org", "SOARname": "root.ns1.mesos"}`)
	if !strings.Contains(corefile, "soa_rname root.ns1.mesos\n") || strings.Contains(corefile, "hostmaster") {
		t.Errorf("email and SOARname: Corefile:\n%s", corefile)
	}
	if !strings.Contains(warnings, "email") || !strings.Contains(warnings, "SOARname") {
		t.Errorf("email and SOARname: no warning that email is left out: %q", warnings)
	}
}

// IPSources are copied; an order that works around bridge-network tasks for the whole
// cluster gets a word about auto, the default order none.
func TestIPSourcesSuggestAuto(t *testing.T) {
	for js, suggest := range map[string]bool{
		`"IPSources": ["host", "netinfo", "mesos"]`:  true,
		`"IPSources": ["docker", "netinfo", "host"]`: true,
		`"IPSources": ["host"]`:                      true,
		`"IPSources": ["netinfo", "mesos", "host"]`:  false,
		`"IPSources": ["netinfo"]`:                   false,
	} {
		corefile, warnings := convert(t, `{"masters": ["10.0.0.1:5050"], `+js+`}`)
		if !strings.Contains(corefile, "ip_sources ") {
			t.Errorf("%s: no ip_sources in\n%s", js, corefile)
		}
		if got := strings.Contains(warnings, "ip_sources auto host"); got != suggest {
			t.Errorf("%s: auto suggested %v, want %v; warnings:\n%s", js, got, suggest, warnings)
		}
	}
}
