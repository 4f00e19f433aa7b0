// Package synth writes synthetic /master/state documents shaped like a real cluster,
// for benchmarks and load tests: agents holding about 30 tasks each, about 20
// frameworks, apps of 1 to 50 instances with port ranges, DiscoveryInfo on half of
// them, network_infos with IPv4 and some IPv6, a few tasks not running, and the
// fields a real master sends that DNS does not need (about 1 KB of JSON a task).
// Apps are on a container network, a Docker bridge with port mappings or the host's
// network, their DiscoveryInfo ports labelled by network scope or not (see Network);
// agents are in two regions of three zones, a tenth of them in no fault domain.
package synth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

// Config sizes a synthetic cluster.
type Config struct {
	// Tasks is the number of running tasks; about 2% more are added in other states.
	Tasks int
	// Agents defaults to Tasks/30+1; Frameworks to 20.
	Agents     int
	Frameworks int
	// Seed makes the document reproducible.
	Seed uint64
	// Leader is the leading master's pid host:port; 10.0.0.2:5050 by default.
	Leader string
	// Duplicates gives about 1% of the running tasks a second running entry with the
	// same task id and another name, as some masters list (naming.md serves both).
	Duplicates bool
}

// App is one synthetic application: Instances running tasks named Name in Framework.
type App struct {
	Framework string
	Name      string
	Instances int
	Discovery bool
	Ports     int
	// Network is how the app's tasks reach the network (see the Net constants).
	Network Net
}

// Net is an app's networking, as Marathon sets it up.
type Net uint8

// The networks of the synthetic apps, by app number modulo 10: 0-5 a container
// network with ports labelled network-scope container, 6 a Docker bridge with ports
// labelled host, 7 the same without labels (Marathon before them, where the port
// mappings tell), 8 the host's network labelled host, 9 a container network unlabelled.
const (
	NetContainer Net = iota
	NetBridge
	NetBridgeUnlabelled
	NetHost
	NetContainerUnlabelled
)

func netOf(app int) Net {
	switch app % 10 {
	case 6:
		return NetBridge
	case 7:
		return NetBridgeUnlabelled
	case 8:
		return NetHost
	case 9:
		return NetContainerUnlabelled
	}
	return NetContainer
}

// Domain returns agent a's fault domain, region and zone as a 1.5+ master writes
// them; empty for the agents in none.
func Domain(a int) (region, zone string) {
	if a%10 == 9 {
		return "", ""
	}
	region = []string{"aws/us-west-2", "aws/eu-central-1"}[a/3%2]
	return region, region + string(rune('a'+a%3))
}

// Write emits the document and returns the apps it holds, so that callers can build
// query lists of names that exist.
func Write(w io.Writer, c Config) ([]App, error) {
	if c.Agents == 0 {
		c.Agents = c.Tasks/30 + 1
	}
	if c.Frameworks == 0 {
		c.Frameworks = 20
	}
	if c.Leader == "" {
		c.Leader = "10.0.0.2:5050"
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed)) // #nosec G404 -- a reproducible synthetic cluster
	bw := bufio.NewWriterSize(w, 1<<16)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p(`{"version":"1.9.0","git_sha":"5e79a584e6ec3e9e2f96e8bf418411df9dafac2e","build_date":"2019-09-01 00:00:00","start_time":1574000000.1,"elected_time":1574000001.2,`)
	p(`"id":"5b6a0e1c-2a91-4b0b-9a4e-1d9a3f0c7e11","pid":"master@%s","hostname":"master-1","activated_slaves":%d,"deactivated_slaves":0,`, c.Leader, c.Agents)
	p(`"leader":"master@%s","leader_info":{"id":"5b6a0e1c","pid":"master@%s","port":5050,"hostname":"master-1"},`, c.Leader, c.Leader)
	p(`"flags":{"allocation_interval":"1secs","authenticate_agents":"false","quorum":"2","work_dir":"/var/lib/mesos","zk":"zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos"},`)
	p(`"slaves":[`)
	for a := range c.Agents {
		if a > 0 {
			p(",")
		}
		p(`{"id":"5b6a0e1c-2a91-4b0b-9a4e-1d9a3f0c7e11-S%d","hostname":"agent-%d.cluster.internal","port":5051,`, a, a)
		p(`"attributes":{"rack":"r%d","zone":"z%d"},"pid":"slave(1)@%s:5051","registered_time":1574000100.5,`, a%40, a%3, agentIP(a))
		if region, zone := Domain(a); region != "" {
			p(`"domain":{"fault_domain":{"region":{"name":"%s"},"zone":{"name":"%s"}}},`, region, zone)
		}
		p(`"resources":{"disk":500000.0,"mem":63000.0,"gpus":0.0,"cpus":32.0,"ports":"[1025-2180, 2182-3887, 3889-5049, 5052-8079, 8082-8180, 8182-32000]"},`)
		p(`"used_resources":{"disk":0.0,"mem":8192.0,"gpus":0.0,"cpus":4.0},"offered_resources":{"disk":0.0,"mem":0.0,"gpus":0.0,"cpus":0.0},`)
		p(`"active":true,"version":"1.9.0","capabilities":["MULTI_ROLE","HIERARCHICAL_ROLE","RESERVATION_REFINEMENT"]}`)
	}
	p(`],"frameworks":[`)

	var apps []App
	perFw := (c.Tasks + c.Frameworks - 1) / c.Frameworks
	taskN := 0
	for f := range c.Frameworks {
		if f > 0 {
			p(",")
		}
		fname := frameworkName(f)
		fid := fmt.Sprintf("5b6a0e1c-2a91-4b0b-9a4e-1d9a3f0c7e11-%04d", f)
		p(`{"id":"%s","name":"%s","pid":"scheduler-%d@10.0.0.%d:%d","used_resources":{"cpus":1.0},`, fid, fname, f, 10+f%3, 15000+f)
		p(`"offered_resources":{},"capabilities":["PARTITION_AWARE"],"hostname":"master-%d","webui_url":"http://master-%d:8080","active":true,"connected":true,"recovered":false,"user":"root","failover_timeout":604800.0,"checkpoint":true,"role":"slave_public","registered_time":1574000010.1,"unregistered_time":0,`, f%3, f%3)
		p(`"tasks":[`)
		first := true
		for n := 0; n < perFw && taskN < c.Tasks; {
			app := App{
				Framework: fname,
				Name:      fmt.Sprintf("app-%d-%d", f, len(apps)),
				Instances: min(1+rng.IntN(50), perFw-n, c.Tasks-taskN),
				Discovery: rng.IntN(2) == 0,
				Ports:     rng.IntN(4),
				Network:   netOf(len(apps)),
			}
			apps = append(apps, app)
			for i := range app.Instances {
				if !first {
					p(",")
				}
				first = false
				id := writeTask(p, rng, fid, app, "", taskN, i, c.Agents, "TASK_RUNNING")
				if c.Duplicates && taskN%97 == 0 {
					p(",")
					twin := app
					twin.Name += "-twin"
					writeTask(p, rng, fid, twin, id, taskN, i, c.Agents, "TASK_RUNNING")
				}
				taskN++
				n++
				// About 2% of tasks are staging or finished and must not get records.
				if rng.IntN(50) == 0 {
					p(",")
					writeTask(p, rng, fid, app, "", taskN, i, c.Agents, []string{"TASK_STAGING", "TASK_FINISHED", "TASK_KILLED"}[rng.IntN(3)])
				}
			}
		}
		p(`],"unreachable_tasks":[],"completed_tasks":[],"offers":[],"executors":[]}`)
	}
	p(`],"completed_frameworks":[],"orphan_tasks":[],"unregistered_frameworks":[]}`)
	return apps, bw.Flush()
}

func frameworkName(f int) string {
	switch f {
	case 0:
		return "marathon"
	case 1:
		return "metronome"
	case 2:
		return "marathon-user"
	}
	return fmt.Sprintf("framework-%d", f)
}

func agentIP(a int) string {
	return fmt.Sprintf("10.%d.%d.%d", 1+a/65536, a/256%256, a%256)
}

// writeTask writes one task entry and returns its id: id, or a new one when empty.
func writeTask(p func(string, ...any), rng *rand.Rand, fid string, app App, id string, n, inst, agents int, state string) string {
	agent := rng.IntN(agents)
	if id != "" {
		return writeTaskAs(p, rng, fid, app, id, agent, n, inst, state)
	}
	id = fmt.Sprintf("%s.%08x-%04x-11e9-%04x-%012x", app.Name, rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	return writeTaskAs(p, rng, fid, app, id, agent, n, inst, state)
}

func writeTaskAs(p func(string, ...any), rng *rand.Rand, fid string, app App, id string, agent, n, inst int, state string) string {
	p(`{"id":"%s","name":"%s","framework_id":"%s","executor_id":"","slave_id":"5b6a0e1c-2a91-4b0b-9a4e-1d9a3f0c7e11-S%d","state":"%s",`, id, app.Name, fid, agent, state)
	p(`"resources":{"disk":0.0,"mem":256.0,"gpus":0.0,"cpus":0.5`)
	base := 31000 + rng.IntN(1000)
	switch app.Ports {
	case 1:
		p(`,"ports":"[%d-%d]"`, base, base)
	case 2:
		p(`,"ports":"[%d-%d]"`, base, base+1)
	case 3:
		p(`,"ports":"[%d-%d, %d-%d]"`, base, base+1, base+5, base+5)
	}
	p(`},"role":"slave_public","labels":[{"key":"HAPROXY_GROUP","value":"external"},{"key":"owner","value":"team-%d"}],`, inst%7)
	if app.Discovery {
		p(`"discovery":{"visibility":"FRAMEWORK","name":"%s","ports":{"ports":[`, app.Name)
		for k := range max(app.Ports, 1) {
			if k > 0 {
				p(",")
			}
			proto := []string{"tcp", "udp", ""}[k%3]
			p(`{"number":%d,"name":"port%d","protocol":"%s"`, discoveryPort(app.Network, base, k), k, proto)
			switch app.Network {
			case NetContainer:
				p(`,"labels":{"labels":[{"key":"network-scope","value":"container"}]}`)
			case NetBridge, NetHost:
				p(`,"labels":{"labels":[{"key":"network-scope","value":"host"}]}`)
			}
			p(`}`)
		}
		p(`]}},`)
	}
	ip := fmt.Sprintf("172.%d.%d.%d", 16+n/65536%16, n/256%256, n%256)
	netinfo := fmt.Sprintf(`{"ip_address":"%s"}`, ip)
	if n%10 == 0 {
		netinfo += fmt.Sprintf(`,{"ip_address":"fd00::%x:%x"}`, n>>16, n&0xffff)
	}
	p(`"statuses":[{"state":"TASK_STARTING","timestamp":%d.1,"container_status":{"container_id":{"value":"%08x-aaaa-bbbb-cccc-%012x"}}},`, 1574000200+n, rng.Uint32(), rng.Uint64()&0xffffffffffff)
	p(`{"state":"%s","timestamp":%d.5,"healthy":true,"container_status":{"container_id":{"value":"%08x-aaaa-bbbb-cccc-%012x"},"network_infos":[{"ip_addresses":[%s],"name":"dcos","labels":{}}]}}],`, state, 1574000200+n, rng.Uint32(), rng.Uint64()&0xffffffffffff, netinfo)
	switch app.Network {
	case NetBridge, NetBridgeUnlabelled:
		p(`"container":{"type":"DOCKER","docker":{"image":"registry.internal/%s:1.%d","network":"BRIDGE","port_mappings":[`, app.Name, inst%9)
		for k := range max(app.Ports, 1) {
			if k > 0 {
				p(",")
			}
			p(`{"host_port":%d,"container_port":%d,"protocol":"tcp"}`, base+k, 8080+k)
		}
		p(`],"privileged":false,"force_pull_image":false,"parameters":[{"key":"log-driver","value":"json-file"}]}},`)
	case NetHost:
		p(`"container":{"type":"DOCKER","docker":{"image":"registry.internal/%s:1.%d","network":"HOST","privileged":false,"force_pull_image":false,"parameters":[{"key":"log-driver","value":"json-file"}]}},`, app.Name, inst%9)
	default:
		p(`"container":{"type":"DOCKER","docker":{"image":"registry.internal/%s:1.%d","network":"USER","privileged":false,"force_pull_image":false,"parameters":[{"key":"log-driver","value":"json-file"}]},"network_infos":[{"name":"dcos"}]},`, app.Name, inst%9)
	}
	p(`"health_checks":[{"type":"HTTP","http":{"port":%d,"path":"/health"},"interval_seconds":10.0,"timeout_seconds":5.0,"consecutive_failures":3}]}`, base)
	return id
}

// discoveryPort numbers an app's DiscoveryInfo port k: the agent's port where the app
// is reached through it, else a port inside the container.
func discoveryPort(n Net, base, k int) int {
	switch n {
	case NetBridge, NetBridgeUnlabelled, NetHost:
		return base + k
	}
	return 8080 + k
}
