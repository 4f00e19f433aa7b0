package mesos

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/fixture"
	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// The handler's tests build their record sets as the record engine's tests do
// (plugin/records): a two-agent cluster with the tasks a test gives, or a synthetic one.

// stateWith is fixture.StateWith: two agents and a framework marathon holding tasks.
func stateWith(tasks string) string { return fixture.StateWith(tasks) }

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
