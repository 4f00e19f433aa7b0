package mesos

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const subsystem = "mesos"

var (
	requestCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "requests_total",
		Help: "Queries answered by the mesos plugin, by server, zone and query type.",
	}, []string{"server", "zone", "type"})
	responseCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "responses_total",
		Help: "Responses written by the mesos plugin, by server, zone and rcode.",
	}, []string{"server", "zone", "rcode"})
	refreshDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "refresh_duration_seconds",
		Help:    "Time to fetch, decode and build the records from the leading master, by outcome.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"zone", "outcome"})
	refreshCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "refreshes_total",
		Help: "State refreshes by outcome (success, error) and reason.",
	}, []string{"zone", "outcome", "reason"})
	lastSuccess = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "last_success_timestamp_seconds",
		Help: "When the records were last refreshed from a good state, in seconds since the epoch.",
	}, []string{"zone"})
	recordCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "records",
		Help: "Address and SRV records served, per zone.",
	}, []string{"zone"})
	taskCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "tasks",
		Help: "Running tasks that have records.",
	}, []string{"zone"})
	agentCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "agents",
		Help: "Agents in the last good state.",
	}, []string{"zone"})
	frameworkCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "frameworks",
		Help: "Frameworks in the last good state.",
	}, []string{"zone"})
	skippedCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "skipped_entities",
		Help: "Agents, frameworks, tasks and names left out of the last good state, by reason.",
	}, []string{"zone", "reason"})
	leaderChanges = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "leader_changes_total",
		Help: "Times the leading master the state comes from changed.",
	}, []string{"zone"})
	stateSize = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "state_size_bytes",
		Help: "Size of the last state document fetched from the leader.",
	}, []string{"zone"})
	serialGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "zone_serial",
		Help: "SOA serial of the records served.",
	}, []string{"zone"})
)
