package main

import (
	"reflect"
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max time.Duration
		ok       bool
	}{
		{"100ms:1s", 100 * time.Millisecond, time.Second, true},
		{"2s", 2 * time.Second, 2 * time.Second, true},
		{"0s:0s", 0, 0, true},
		{"1s:100ms", 0, 0, false},
		{"soon", 0, 0, false},
		{"-1s:1s", 0, 0, false},
		{"1s:", 0, 0, false},
	} {
		lo, hi, err := parseWait(tc.in)
		if (err == nil) != tc.ok || tc.ok && (lo != tc.min || hi != tc.max) {
			t.Errorf("parseWait(%q) = %v, %v, %v", tc.in, lo, hi, err)
		}
	}
}

// The lists a template sees are sorted and free of repeats, whatever order the API
// gives, so that the same answer always renders the same text.
func TestAnswersSorted(t *testing.T) {
	ts, err := services([]byte(`[{"service":"_w._tcp.m.mesos","host":"b.m.slave.mesos.","ip":"10.0.0.2","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"fd00::1","port":"9","port_number":9},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"a.m.slave.mesos.","ip":"10.0.0.1","port":"31000","port_number":31000},
		{"service":"_w._tcp.m.mesos","host":"c.m.slave.mesos.","ip":"","port":"1","port_number":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{"a.m.slave.mesos.", "fd00::1", 9}, {"a.m.slave.mesos.", "10.0.0.1", 31000}, {"b.m.slave.mesos.", "10.0.0.2", 31000}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("services: %v", ts)
	}
	if ts[0].Addr() != "[fd00::1]:9" || ts[1].Addr() != "10.0.0.1:31000" {
		t.Errorf("Addr: %s %s", ts[0].Addr(), ts[1].Addr())
	}
	hs, err := hosts([]byte(`[{"host":"w.m.mesos.","ip":"10.0.0.2"},{"host":"w.m.mesos.","ip":"10.0.0.1"},{"host":"w.m.mesos.","ip":"10.0.0.2"}]`))
	if err != nil || !reflect.DeepEqual(hs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("hosts: %v %v", hs, err)
	}
	if _, err := hosts([]byte(`{"error":"x"}`)); err == nil {
		t.Error("hosts took an error body")
	}
}
