package synth

import (
	"bytes"
	"testing"

	"github.com/coredns-mesos/mesos/plugin/state"
)

func TestWriteDecodes(t *testing.T) {
	var b bytes.Buffer
	apps, err := Write(&b, Config{Tasks: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	running, disc, v6 := 0, 0, 0
	// Tasks behind their agent, and DiscoveryInfo ports that are the agent's by
	// label or by port mapping, and the container's by label or by neither.
	viaAgent, hostLabelled, hostMapped, ctrLabelled, ctrUnlabelled := 0, 0, 0, 0, 0
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if tk.State == state.TaskRunning {
				running++
				if tk.ViaAgent() {
					viaAgent++
				}
				if tk.Discovery != nil {
					disc++
					for _, p := range tk.Discovery.Ports {
						switch {
						case p.Scope == state.ScopeHost:
							hostLabelled++
						case p.Scope == state.ScopeContainer:
							ctrLabelled++
						case tk.HostPort(&p):
							hostMapped++
						default:
							ctrUnlabelled++
						}
					}
				}
				if s, _ := tk.LatestRunning(); len(s.IPs) > 1 {
					v6++
				}
			}
		}
	}
	instances := 0
	for _, a := range apps {
		instances += a.Instances
	}
	if running != 1000 || instances != 1000 || len(st.Frameworks) != 20 || len(st.Agents) != 34 || st.Skipped.Total() != 0 {
		t.Errorf("%d running, %d instances, %d frameworks, %d agents, skipped %v", running, instances, len(st.Frameworks), len(st.Agents), st.Skipped)
	}
	if viaAgent < 100 || viaAgent > 600 || hostLabelled == 0 || hostMapped == 0 || ctrLabelled == 0 || ctrUnlabelled == 0 {
		t.Errorf("%d tasks behind their agent; ports: %d labelled host, %d mapped host, %d labelled container, %d neither",
			viaAgent, hostLabelled, hostMapped, ctrLabelled, ctrUnlabelled)
	}
	if disc < 200 || disc > 800 || v6 < 50 {
		t.Errorf("%d with discovery, %d with IPv6", disc, v6)
	}
	if per := b.Cap() / 1000; per < 700 {
		t.Logf("%d bytes a task", per)
	}
}
