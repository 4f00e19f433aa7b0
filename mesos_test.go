package mesos

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

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
	s := build(t, js, func(o *records.Options) {
		o.Zones, o.ReverseZones = splitZones(zones)
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
	c := "web-" + records.TaskHash("web.1") + "-s0"
	soa := test.SOA("mesos. 10 IN SOA ns1.mesos. root.ns1.mesos. 1700000000 60 600 86400 10")
	cases := []test.Case{
		{Qname: "web.marathon.mesos.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.marathon.mesos. 60 IN A 10.9.0.1")}},
		{Qname: "web.marathon.mesos.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.marathon.mesos. 60 IN AAAA fd00::1")}},
		{Qname: c + ".marathon.mesos.", Qtype: dns.TypeA, Answer: []dns.RR{test.A(c + ".marathon.mesos. 60 IN A 10.9.0.1")}},
		{Qname: "web.marathon.slave.mesos.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.marathon.slave.mesos. 60 IN A 10.0.1.1")}},
		{
			Qname: "_web._tcp.marathon.mesos.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_web._tcp.marathon.mesos. 60 IN SRV 0 1 8080 " + c + ".marathon.slave.mesos.")},
			Extra:  []dns.RR{test.A(c + ".marathon.slave.mesos. 60 IN A 10.0.1.1")},
		},
		{Qname: "leader.mesos.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("leader.mesos. 60 IN A 10.0.0.2")}},
		{Qname: "marathon.mesos.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("marathon.mesos. 60 IN A 10.0.0.9")}},
		{Qname: "mesos.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA("mesos. 60 IN SOA ns1.mesos. root.ns1.mesos. 1700000000 60 600 86400 10")}},
		{Qname: "mesos.", Qtype: dns.TypeNS, Answer: []dns.RR{test.NS("mesos. 60 IN NS ns1.mesos.")}},
		// NODATA: the name exists, the type does not.
		{Qname: "leader.mesos.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soa}},
		{Qname: "web.marathon.mesos.", Qtype: dns.TypeTXT, Ns: []dns.RR{soa}},
		{Qname: "web.marathon.mesos.", Qtype: dns.TypeSRV, Ns: []dns.RR{soa}},
		{Qname: "marathon.mesos.", Qtype: dns.TypeSRV, Ns: []dns.RR{soa}},
		{Qname: "marathon.slave.mesos.", Qtype: dns.TypeA, Ns: []dns.RR{soa}}, // empty non-terminal
		{Qname: "_tcp.marathon.mesos.", Qtype: dns.TypeA, Ns: []dns.RR{soa}},
		{Qname: "mesos.", Qtype: dns.TypeA, Ns: []dns.RR{soa}},
		{Qname: "mesos.", Qtype: dns.TypeMX, Ns: []dns.RR{soa}},
		// NXDOMAIN, SRV included.
		{Qname: "nope.mesos.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Qname: "_nope._tcp.marathon.mesos.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Qname: "x.web.marathon.mesos.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Qname: "ns1.mesos.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}}, // no address known
		// ANY gets one small HINFO (RFC 8482), not everything.
		{Qname: "web.marathon.mesos.", Qtype: dns.TypeANY, Answer: []dns.RR{test.HINFO(`web.marathon.mesos. 60 IN HINFO "RFC8482" ""`)}},
		{Qname: "nope.mesos.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
	}
	for _, tc := range cases {
		for _, qname := range []string{tc.Qname, mixCase(tc.Qname)} {
			msg, rc := serve(t, m, qname, tc.Qtype)
			label := qname + " " + dns.TypeToString[tc.Qtype]
			if rc != dns.RcodeSuccess || msg == nil {
				t.Errorf("%s: plugin returned %d, msg %v", label, rc, msg)
				continue
			}
			if !msg.Authoritative {
				t.Errorf("%s: not authoritative", label)
			}
			// The question keeps the client's case (DNS 0x20); owners are the lowercase name.
			if msg.Question[0].Name != qname {
				t.Errorf("%s: question became %s", label, msg.Question[0].Name)
			}
			if err := test.SortAndCheck(msg, tc); err != nil {
				t.Errorf("%s: %v", label, err)
			}
		}
	}
}

// mixCase spells name the way a DNS 0x20 resolver might.
func mixCase(name string) string {
	b := []byte(name)
	for i := 0; i < len(b); i += 2 {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// TestServeDNSRefusesWhatIsNotAQuery: transfers that reach the plugin (no transfer
// plugin, or one that refused the client) are REFUSED as file and kubernetes do, and
// NOTIFY or UPDATE are not implemented, instead of being answered like a query.
func TestServeDNSRefusesWhatIsNotAQuery(t *testing.T) {
	m := handler(t, []string{"mesos."})
	for _, qt := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
		if msg, rc := serve(t, m, "mesos.", qt); rc != dns.RcodeRefused || msg != nil {
			t.Errorf("%s: rcode %d msg %v, want REFUSED from the server", dns.TypeToString[qt], rc, msg)
		}
	}
	for _, op := range []int{dns.OpcodeNotify, dns.OpcodeUpdate, dns.OpcodeStatus} {
		r := new(dns.Msg)
		r.SetQuestion("web.marathon.mesos.", dns.TypeSOA)
		r.Opcode = op
		w := dnstest.NewRecorder(&test.ResponseWriter{})
		if rc, _ := m.ServeDNS(context.Background(), w, r); rc != dns.RcodeNotImplemented || w.Msg != nil {
			t.Errorf("opcode %s: rcode %d msg %v, want NOTIMP", dns.OpcodeToString[op], rc, w.Msg)
		}
	}
}

// TestServeDNSHugeEDNS0OverUDP: a client offering 65535 octets over UDP gets a reply
// that fits one datagram, with TC set, not a reply the kernel cannot send.
func TestServeDNSHugeEDNS0OverUDP(t *testing.T) {
	tasks := make([]string, 0, 5000)
	for i := range 5000 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "big.%d", "name": "big", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING",
			"statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.%d.%d.%d"}]}]}}]}`, i, 10+i>>16, i>>8&255, i&255))
	}
	s := build(t, stateWith(strings.Join(tasks, ",")), nil)
	m := &Mesos{Zones: []string{"mesos."}, Next: test.NextHandler(nextRcode, nil)}
	m.set.Store(s)
	for _, proto := range []string{"udp", "tcp"} {
		r := new(dns.Msg)
		r.SetQuestion("big.marathon.mesos.", dns.TypeA)
		r.SetEdns0(65535, false)
		tw := &test.ResponseWriter{}
		if proto == "tcp" {
			tw.TCP = true
		}
		w := dnstest.NewRecorder(request.NewScrubWriter(r, tw))
		if _, err := m.ServeDNS(context.Background(), w, r); err != nil {
			t.Fatal(err)
		}
		size := w.Msg.Len()
		if proto == "udp" && (size > maxUDP || !w.Msg.Truncated || len(w.Msg.Answer) < 3000) {
			t.Errorf("udp: %d octets, %d answers, TC %v: want at most %d octets, as many answers as fit, TC", size, len(w.Msg.Answer), w.Msg.Truncated, maxUDP)
		}
		if proto == "tcp" && (size > dns.MaxMsgSize || len(w.Msg.Answer) <= 4000) {
			t.Errorf("tcp: %d octets, %d answers", size, len(w.Msg.Answer))
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

// TestMetricsLint: every series of a block exists at zero from the start, so that
// alerts see it before the first event, and promlint finds nothing.
func TestMetricsLint(t *testing.T) {
	initMetrics("dns://:53", "lint.mesos.")
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "coredns_mesos_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["zone"] == "lint.mesos." && labels["server"] == "dns://:53" {
				seen[mf.GetName()] = true
			}
		}
		problems, err := promlint.NewWithMetricFamilies([]*dto.MetricFamily{mf}).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	for _, name := range []string{"refresh_duration_seconds", "refreshes_total", "last_success_timestamp_seconds", "records", "tasks", "agents", "frameworks", "skipped_entities", "leader_changes_total", "state_size_bytes", "zone_serial"} {
		if !seen["coredns_mesos_"+name] {
			t.Errorf("coredns_mesos_%s has no series before the first refresh", name)
		}
	}
	if seen["coredns_mesos_requests_total"] || seen["coredns_mesos_responses_total"] {
		t.Error("per-query counters that duplicate CoreDNS's own are back")
	}
	var tlsErrors dto.Metric
	if err := refreshCount.WithLabelValues("dns://:53", "lint.mesos.", "error", "tls").Write(&tlsErrors); err != nil || tlsErrors.GetCounter().GetValue() != 0 {
		t.Errorf("tls errors start at %v (%v)", tlsErrors.GetCounter().GetValue(), err)
	}
}

// TestServeDNSSignedWholeRRsets: behind a signer (the dnssec plugin), a query with the
// DO bit gets every record of the RRset in one order, so that its signature is one the
// signer caches, however max_answers cuts the others; TC when it does not fit. Without
// a signer, or without DO, answers are cut as before.
func TestServeDNSSignedWholeRRsets(t *testing.T) {
	tasks := make([]string, 0, 40)
	for i := range 40 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "big.%d", "name": "big", "slave_id": "20160107-001256-134875658-5050-27524-S0", "state": "TASK_RUNNING", "resources": {"ports": "[%d-%d]"},
			"statuses": [{"state": "TASK_RUNNING", "timestamp": 1, "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.9.0.%d"}]}]}}]}`, i, 31000+i, 31000+i, i+1))
	}
	s := build(t, stateWith(strings.Join(tasks, ",")), func(o *records.Options) { o.MaxAnswers = 4 })
	ask := func(m *Mesos, qtype uint16, do bool, bufsize uint16) *dns.Msg {
		r := new(dns.Msg)
		r.SetQuestion("big.marathon.mesos.", qtype)
		if qtype == dns.TypeSRV {
			r.SetQuestion("_big._tcp.marathon.mesos.", qtype)
		}
		r.SetEdns0(bufsize, do)
		w := dnstest.NewRecorder(request.NewScrubWriter(r, &test.ResponseWriter{}))
		if _, err := m.ServeDNS(context.Background(), w, r); err != nil {
			t.Fatal(err)
		}
		return w.Msg
	}
	signed := &Mesos{Zones: []string{"mesos."}, signed: true}
	signed.set.Store(s)
	plain := &Mesos{Zones: []string{"mesos."}}
	plain.set.Store(s)
	first := ask(signed, dns.TypeA, true, 4096)
	if len(first.Answer) != 40 || first.Truncated {
		t.Fatalf("signed, DO: %d A records (TC %v), want all 40", len(first.Answer), first.Truncated)
	}
	for range 5 {
		again := ask(signed, dns.TypeA, true, 4096)
		if fmt.Sprint(again.Answer) != fmt.Sprint(first.Answer) {
			t.Fatal("signed, DO: the RRset came in another order")
		}
	}
	if n := len(ask(signed, dns.TypeSRV, true, 4096).Answer); n != 40 {
		t.Errorf("signed, DO: %d SRV records, want 40", n)
	}
	if m := ask(signed, dns.TypeA, true, 512); !m.Truncated {
		t.Errorf("signed, DO, 512 octets: TC not set, %d records", len(m.Answer))
	}
	if n := len(ask(signed, dns.TypeA, false, 4096).Answer); n != 4 {
		t.Errorf("signed, no DO: %d A records, want max_answers' 4", n)
	}
	if n := len(ask(plain, dns.TypeA, true, 4096).Answer); n != 4 {
		t.Errorf("no signer, DO: %d A records, want max_answers' 4", n)
	}
}
