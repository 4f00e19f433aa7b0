package records

import (
	"net/netip"
	"time"
)

// defaultMaxTaskSRV allows 1024 ports a task on the four SRV names of a task without
// DiscoveryInfo: far more than any real task holds, far less than [1-65535] would make.
const defaultMaxTaskSRV = 4096

// IPSource names one place a task's addresses may come from.
type IPSource string

// The IP sources of naming.md, "Task addresses".
const (
	SourceNetInfo IPSource = "netinfo"
	SourceMesos   IPSource = "mesos"
	SourceDocker  IPSource = "docker"
	SourceHost    IPSource = "host"
	// SourceAuto is the agent's addresses for a task that reaches the network through
	// its agent (Docker bridge, port mappings), else the netinfo addresses.
	SourceAuto IPSource = "auto"
)

// SOAOptions are the zone's SOA fields. Empty names mean ns1.ZONE and root.ns1.ZONE.
type SOAOptions struct {
	Mname   string
	Mbox    string
	Refresh uint32
	Retry   uint32
	Expire  uint32
	Minimum uint32
}

// Options configure the record set of one plugin block.
type Options struct {
	// Zones are the fully qualified, lowercase origins served; each gets the same names.
	Zones []string
	// ReverseZones are in-addr.arpa. and ip6.arpa. zones: a task address in one that a
	// single running task holds gets a PTR to the task's canonical name in Zones[0].
	ReverseZones []string
	TTL          uint32
	SOA          SOAOptions
	IPSources    []IPSource
	RFC952       bool
	SRVWeight    uint16
	// CompatNames also publishes dotted DiscoveryInfo names as Mesos-DNS did.
	CompatNames bool
	// HealthyOnly leaves out tasks whose latest status reports a failed health check.
	HealthyOnly bool
	// MaxTaskSRV bounds the SRV records one task's resource ports make (0: no bound).
	MaxTaskSRV int
	// MaxAnswers bounds the A and AAAA records of a DNS answer (0: no bound); each
	// answer carries another window of them (LookupLimit).
	MaxAnswers int
	// NSAddrs are the addresses of the default SOA primary ns1.ZONE: the server's own.
	NSAddrs []netip.Addr
	// Masters are the configured masters, "host:port", in the order that numbers masterN.
	Masters []string
	// Hosts resolves host names found where addresses are expected; nil leaves them out.
	Hosts *HostCache
	// Now is the SOA serial's clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits for that clock to move on, when a change would otherwise get a
	// serial ahead of it: time.Sleep when Now is nil; with Now set, nil does not wait.
	Sleep func(time.Duration)
}

// DefaultOptions are Mesos-DNS's defaults for the zone mesos.
func DefaultOptions() Options {
	return Options{
		Zones:       []string{"mesos."},
		TTL:         60,
		SOA:         SOAOptions{Refresh: 60, Retry: 600, Expire: 86400, Minimum: 60},
		IPSources:   []IPSource{SourceNetInfo, SourceMesos, SourceHost},
		SRVWeight:   1,
		CompatNames: true,
		MaxTaskSRV:  defaultMaxTaskSRV,
	}
}
