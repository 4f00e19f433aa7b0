package mesos

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

const nextRcode = dns.RcodeRefused // what the next plugin answers in these tests

func handler(t *testing.T, zones []string) *Mesos {
	t.Helper()
	js := stateWith(`{"id": "web.1", "name": "web", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[8080-8080]"},
		"statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.9.0.1"}, {"ip_address": "fd00::1"}]}]}}]}`)
	s := build(t, js, func(o *Options) {
		o.Zones = zones
		o.TTL = 60
		o.SOA.Minimum = 10
	})
	m := &Mesos{Zones: zones, Next: test.NextHandler(nextRcode, nil)}
	m.set.Store(s)
	return m
}

func serve(t *testing.T, m *Mesos, name string, qtype uint16) (*dns.Msg, int) {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	w := dnstest.NewRecorder(&test.ResponseWriter{})
	rc, err := m.ServeDNS(context.Background(), w, r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w.Msg, rc
}

func TestServeDNS(t *testing.T) {
	m := handler(t, []string{"mesos."})
	c := "web-" + taskHash("web.1") + "-s0"
	cases := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers []string // rdata of the answer section
		extra   int
		soa     bool // SOA in authority
	}{
		{"web.marathon.mesos.", dns.TypeA, dns.RcodeSuccess, []string{"10.9.0.1"}, 0, false},
		{"web.marathon.mesos.", dns.TypeAAAA, dns.RcodeSuccess, []string{"fd00::1"}, 0, false},
		{"WEB.Marathon.MESOS.", dns.TypeA, dns.RcodeSuccess, []string{"10.9.0.1"}, 0, false},
		{"_web._tcp.marathon.mesos.", dns.TypeSRV, dns.RcodeSuccess, []string{"0 1 8080 " + c + ".marathon.slave.mesos."}, 1, false},
		{"leader.mesos.", dns.TypeA, dns.RcodeSuccess, []string{"10.0.0.2"}, 0, false},
		{"mesos.", dns.TypeSOA, dns.RcodeSuccess, []string{"ns1.mesos. root.ns1.mesos. 1700000000 60 600 86400 10"}, 0, false},
		{"mesos.", dns.TypeNS, dns.RcodeSuccess, []string{"ns1.mesos."}, 0, false},
		// NODATA: the name exists, the type does not.
		{"leader.mesos.", dns.TypeAAAA, dns.RcodeSuccess, nil, 0, true},
		{"web.marathon.mesos.", dns.TypeTXT, dns.RcodeSuccess, nil, 0, true},
		{"web.marathon.mesos.", dns.TypeSRV, dns.RcodeSuccess, nil, 0, true},
		{"marathon.mesos.", dns.TypeSRV, dns.RcodeSuccess, nil, 0, true},
		{"_tcp.marathon.mesos.", dns.TypeA, dns.RcodeSuccess, nil, 0, true},
		{"mesos.", dns.TypeA, dns.RcodeSuccess, nil, 0, true},
		{"mesos.", dns.TypeMX, dns.RcodeSuccess, nil, 0, true},
		// NXDOMAIN, SRV included.
		{"nope.mesos.", dns.TypeA, dns.RcodeNameError, nil, 0, true},
		{"_nope._tcp.marathon.mesos.", dns.TypeSRV, dns.RcodeNameError, nil, 0, true},
		{"x.web.marathon.mesos.", dns.TypeAAAA, dns.RcodeNameError, nil, 0, true},
		// ANY gets one small HINFO (RFC 8482), not everything.
		{"web.marathon.mesos.", dns.TypeANY, dns.RcodeSuccess, []string{`"RFC8482" ""`}, 0, false},
		{"nope.mesos.", dns.TypeANY, dns.RcodeNameError, nil, 0, true},
	}
	for _, tc := range cases {
		msg, rc := serve(t, m, tc.name, tc.qtype)
		label := tc.name + " " + dns.TypeToString[tc.qtype]
		if rc != dns.RcodeSuccess || msg == nil {
			t.Errorf("%s: plugin returned %d, msg %v", label, rc, msg)
			continue
		}
		if msg.Rcode != tc.rcode || !msg.Authoritative {
			t.Errorf("%s: rcode %s aa %v", label, dns.RcodeToString[msg.Rcode], msg.Authoritative)
		}
		// The question keeps the client's case (DNS 0x20); owners are the lowercase name.
		if msg.Question[0].Name != tc.name {
			t.Errorf("%s: question became %s", label, msg.Question[0].Name)
		}
		var got []string
		for _, rr := range msg.Answer {
			if rr.Header().Name != strings.ToLower(tc.name) {
				t.Errorf("%s: answer owner %s", label, rr.Header().Name)
			}
			got = append(got, strings.SplitN(rr.String(), "\t", 5)[4])
		}
		if strings.Join(got, "|") != strings.Join(tc.answers, "|") {
			t.Errorf("%s: answers %q, want %q", label, got, tc.answers)
		}
		if len(msg.Extra) != tc.extra {
			t.Errorf("%s: %d extra", label, len(msg.Extra))
		}
		if tc.soa {
			if len(msg.Ns) != 1 || msg.Ns[0].Header().Rrtype != dns.TypeSOA || msg.Ns[0].Header().Name != "mesos." || msg.Ns[0].Header().Ttl != 10 {
				t.Errorf("%s: authority %v, want the SOA with TTL min(ttl, minttl)", label, msg.Ns)
			}
		} else if len(msg.Ns) != 0 {
			t.Errorf("%s: authority %v", label, msg.Ns)
		}
	}
}

func TestServeDNSOutsideZoneAndFallthrough(t *testing.T) {
	m := handler(t, []string{"mesos."})
	if _, rc := serve(t, m, "example.org.", dns.TypeA); rc != nextRcode {
		t.Errorf("outside the zone: rcode %d, want the next plugin's", rc)
	}
	if _, rc := serve(t, m, "mesos.example.org.", dns.TypeA); rc != nextRcode {
		t.Errorf("outside the zone: rcode %d", rc)
	}
	m.Fall = fall.Root
	if _, rc := serve(t, m, "nope.mesos.", dns.TypeA); rc != nextRcode {
		t.Errorf("fallthrough on NXDOMAIN: rcode %d", rc)
	}
	// Fallthrough is for NXDOMAIN only: NODATA and answers stay here.
	if msg, rc := serve(t, m, "leader.mesos.", dns.TypeAAAA); rc != dns.RcodeSuccess || msg.Rcode != dns.RcodeSuccess {
		t.Errorf("NODATA fell through")
	}
	if msg, _ := serve(t, m, "leader.mesos.", dns.TypeA); msg == nil || len(msg.Answer) != 1 {
		t.Errorf("answer fell through")
	}
	var f fall.F
	f.SetZonesFromArgs([]string{"other.mesos."})
	m.Fall = f
	if msg, _ := serve(t, m, "nope.mesos.", dns.TypeA); msg == nil || msg.Rcode != dns.RcodeNameError {
		t.Errorf("fallthrough for another zone applied")
	}
	if _, rc := serve(t, m, "nope.other.mesos.", dns.TypeA); rc != nextRcode {
		t.Errorf("fallthrough zone not applied")
	}
}

func TestServeDNSSeveralZones(t *testing.T) {
	m := handler(t, []string{"mesos.", "dc1.example.org."})
	msg, _ := serve(t, m, "_web._tcp.marathon.dc1.example.org.", dns.TypeSRV)
	if len(msg.Answer) != 1 || !strings.HasSuffix(msg.Answer[0].(*dns.SRV).Target, ".marathon.slave.dc1.example.org.") || len(msg.Extra) != 1 {
		t.Errorf("answer %v extra %v", msg.Answer, msg.Extra)
	}
	msg, _ = serve(t, m, "nope.dc1.example.org.", dns.TypeA)
	if msg.Rcode != dns.RcodeNameError || msg.Ns[0].Header().Name != "dc1.example.org." {
		t.Errorf("NXDOMAIN in second zone: %v", msg)
	}
}

func TestServeDNSBeforeLoad(t *testing.T) {
	m := &Mesos{Zones: []string{"mesos."}, Next: test.NextHandler(nextRcode, nil)}
	if m.Ready() {
		t.Fatal("ready before any state")
	}
	msg, rc := serve(t, m, "web.marathon.mesos.", dns.TypeA)
	if rc != dns.RcodeServerFailure || msg != nil {
		t.Errorf("before load: rcode %d msg %v, want SERVFAIL from the server", rc, msg)
	}
	m.Fall = fall.Root
	if _, rc := serve(t, m, "web.marathon.mesos.", dns.TypeA); rc != dns.RcodeServerFailure {
		t.Errorf("before load with fallthrough: rcode %d", rc)
	}
	if !handler(t, []string{"mesos."}).Ready() {
		t.Error("not ready with a record set")
	}
	if _, err := m.Transfer("mesos.", 0); err == nil {
		t.Error("transfer before load")
	}
}

func TestMetricsLint(t *testing.T) {
	m := handler(t, []string{"mesos."})
	serve(t, m, "web.marathon.mesos.", dns.TypeA)
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "coredns_mesos_") {
			continue
		}
		seen++
		problems, err := promlint.NewWithMetricFamilies([]*dto.MetricFamily{mf}).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	if seen < 2 {
		t.Errorf("only %d coredns_mesos_ families gathered", seen)
	}
}
