package mesos

import (
	"github.com/coredns/coredns/plugin"

	"github.com/coredns-mesos/mesos/internal/state"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Queries and responses are not counted here: CoreDNS's coredns_dns_requests_total and
// coredns_dns_responses_total carry the server, zone, type, rcode and answering plugin.
// Every series is labelled with the server and the block's first zone, so two blocks of
// the same zone on different servers never share one.

const subsystem = "mesos"

var (
	refreshDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "refresh_duration_seconds",
		Help:    "Time to fetch, decode and build the records from the leading master, by outcome.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"server", "zone", "outcome"})
	refreshCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "refreshes_total",
		Help: "State refreshes by outcome (success, error) and reason.",
	}, []string{"server", "zone", "outcome", "reason"})
	lastSuccess = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "last_success_timestamp_seconds",
		Help: "When the records were last refreshed from a good state, in seconds since the epoch (0: never).",
	}, []string{"server", "zone"})
	recordCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "records",
		Help: "Address and SRV records served, per zone.",
	}, []string{"server", "zone"})
	taskCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "tasks",
		Help: "Running tasks that have records.",
	}, []string{"server", "zone"})
	agentCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "agents",
		Help: "Agents in the last good state.",
	}, []string{"server", "zone"})
	frameworkCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "frameworks",
		Help: "Frameworks in the last good state.",
	}, []string{"server", "zone"})
	skippedCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "skipped_entities",
		Help: "Agents, frameworks, tasks, statuses and records left out of the last good state, by reason.",
	}, []string{"server", "zone", "reason"})
	leaderChanges = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "leader_changes_total",
		Help: "Times the leading master the state comes from changed.",
	}, []string{"server", "zone"})
	stateSize = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "state_size_bytes",
		Help: "Size of the last state document fetched from the leader.",
	}, []string{"server", "zone"})
	serialGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "zone_serial",
		Help: "SOA serial of the records served.",
	}, []string{"server", "zone"})
)

// refreshReasons are the reason label values of a failed refresh.
var refreshReasons = []string{"connection", "timeout", "tls", "http_status", "no_leader", "decode", "too_large", "other"}

// skipReasons are every reason an entity or record can be left out for.
var skipReasons = []string{
	state.SkipAgentMalformed, state.SkipAgentMissingID, state.SkipAgentBadPID,
	state.SkipFrameworkMalformed, state.SkipFrameworkMissingID, state.SkipFrameworkBadPID,
	state.SkipTaskMalformed, state.SkipTaskMissingID, state.SkipTaskBadPorts,
	state.SkipTaskUnknownState, state.SkipTaskBadDiscovery, state.SkipStatusMalformed,
	state.SkipLeaderBadPID, state.SkipBadAddress,
	skipTaskUnknownAgent, skipTaskEmptyName, skipFrameworkEmptyName, skipNameTooLong,
	skipReservedName, skipSRVOverLimit,
}

// initMetrics creates every series of a block at zero, so that dashboards and alerts
// see them before the first refresh or failure.
func initMetrics(server, zone string) {
	refreshDuration.WithLabelValues(server, zone, "success")
	refreshDuration.WithLabelValues(server, zone, "error")
	refreshCount.WithLabelValues(server, zone, "success", "ok")
	for _, r := range refreshReasons {
		refreshCount.WithLabelValues(server, zone, "error", r)
	}
	for _, g := range []*prometheus.GaugeVec{lastSuccess, recordCount, taskCount, agentCount, frameworkCount, stateSize, serialGauge} {
		g.WithLabelValues(server, zone)
	}
	for _, r := range skipReasons {
		skippedCount.WithLabelValues(server, zone, r)
	}
	leaderChanges.WithLabelValues(server, zone)
}
