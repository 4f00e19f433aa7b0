package mesos

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// The handler's tests build their record sets as the record engine's tests do
// (plugin/records): a two-agent cluster with the tasks a test gives, or a synthetic one.

const agentsJSON = `
	"leader": "master@10.0.0.2:5050",
	"slaves": [
		{"id": "20160107-001256-134875658-5050-27524-S0", "hostname": "a0", "pid": "slave(1)@10.0.1.1:5051"},
		{"id": "20160107-001256-134875658-5050-27524-S1", "hostname": "a1", "pid": "slave(1)@10.0.1.2:5051"}
	]`

// stateWith is a /master/state of two agents and a framework marathon holding tasks.
func stateWith(tasks string) string {
	return `{` + agentsJSON + `,
	"frameworks": [{"id": "fw-1", "name": "marathon", "pid": "scheduler-1@10.0.0.9:25501", "hostname": "m9",
		"tasks": [` + tasks + `]}]}`
}

// build is the record set of the state js, with the default options changed by mod.
func build(tb testing.TB, js string, mod func(*records.Options)) *records.Set {
	tb.Helper()
	st, err := state.Decode(strings.NewReader(js))
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	o := records.DefaultOptions()
	o.Now = func() time.Time { return time.Unix(1700000000, 0) }
	if mod != nil {
		mod(&o)
	}
	return records.Build(context.Background(), st, o, nil)
}

// synthCluster is the decoded state of a synthetic cluster.
func synthCluster(tb testing.TB, c synth.Config) *state.State {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, c); err != nil {
		tb.Fatal(err)
	}
	st, err := state.Decode(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
