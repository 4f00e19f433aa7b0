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
