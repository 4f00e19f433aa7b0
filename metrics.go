package mesos

import (
	"slices"

	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Queries and responses are not counted here: CoreDNS's coredns_dns_requests_total and
// coredns_dns_responses_total carry the server, zone, type, rcode and answering plugin.
// Every series is labelled with the server and the block's first zone, so two blocks of
// the same zone on different servers never share one; notifies_total is labelled with
// the zone notified instead.

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

var (
	streamConnected = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "stream_connected",
		Help: "1 while the leading master's event stream is open.",
	}, []string{"server", "zone"})
	modeGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "mode",
		Help: "1 for the way the records follow the masters now: stream or poll.",
	}, []string{"server", "zone", "mode"})
	eventsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "events_total",
		Help: "Events received on the event stream, by type.",
	}, []string{"server", "zone", "type"})
	eventLatency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "event_publish_duration_seconds",
		Help:    "Time from an event's arrival to the records it changed being served.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"server", "zone"})
	reconnects = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "stream_reconnects_total",
		Help: "Event streams that ended, by reason (resync is the periodic fresh snapshot).",
	}, []string{"server", "zone", "reason"})
	heldTasks = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "held_tasks",
		Help: "Tasks kept for agents that have not re-registered with a new leader yet.",
	}, []string{"server", "zone"})
	zkConnected = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "zookeeper_connected",
		Help: "1 while the ZooKeeper session that names the masters is established.",
	}, []string{"server", "zone"})
	zkLeaderChanges = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "zookeeper_leader_changes_total",
		Help: "Times ZooKeeper's election named another leading master.",
	}, []string{"server", "zone"})
	dropsHeld = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "drops_held_total",
		Help: "States that would have dropped most records at once, held back for a second look.",
	}, []string{"server", "zone"})
	notifies = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "notifies_total",
		Help: "NOTIFY messages sent, one to each secondary the transfer plugin names for a zone each round, by the zone notified and result (ok, error); a zone without secondaries counts none.",
	}, []string{"server", "zone", "result"})
	transfers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "transfers_total",
		Help: "Zone transfers answered, by the zone transferred and kind: axfr, ixfr (the difference from the journal), ixfr_full (the whole zone: the journal does not reach the client's serial), ixfr_current (the SOA alone: the client is up to date).",
	}, []string{"server", "zone", "kind"})
	journalRecords = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "ixfr_journal_records",
		Help: "Changed records the IXFR journal holds.",
	}, []string{"server", "zone"})
	httpWatches = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "http_watches",
		Help: "Blocking queries the HTTP API holds open.",
	}, []string{"server", "zone"})
	httpRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: subsystem, Name: "http_refused_total",
		Help: "HTTP API requests refused or cut off, by reason (max_watches, busy, stalled).",
	}, []string{"server", "zone", "reason"})
)

// transferKinds are the kind label values of transfers_total.
var transferKinds = []string{"axfr", "ixfr", "ixfr_full", "ixfr_current"}

// eventTypes are the event type label values; anything else is "unknown".
var eventTypes = []string{state.EventSubscribed, state.EventHeartbeat, state.EventTaskAdded, state.EventTaskUpdated,
	state.EventAgentAdded, state.EventAgentRemoved, state.EventFrameworkAdded, state.EventFrameworkUpdated, state.EventFrameworkRemoved}

func eventLabel(t string) string {
	if slices.Contains(eventTypes, t) {
		return t
	}
	return "unknown"
}

// streamEnds are the reason label values of stream_reconnects_total.
var streamEnds = append([]string{"resync", "no_stream", "stalled", "closed", "leader_change"}, refreshReasons...)

// setMode says how the records follow the masters now: 1 for mode, 0 for the other.
func (bm *blockMetrics) setMode(mode string) {
	for _, m := range []string{modeStream, modePoll} {
		v := 0.0
		if m == mode {
			v = 1
		}
		bm.mode.WithLabelValues(m).Set(v)
	}
}

// refreshReasons are the reason label values of a failed refresh.
var refreshReasons = []string{"connection", "timeout", "tls", "http_status", "no_leader", "decode", "too_large", "other"}

// skipReasons are every reason an entity or record can be left out for.
var skipReasons = []string{
	state.SkipAgentMalformed, state.SkipAgentMissingID, state.SkipAgentBadPID,
	state.SkipFrameworkMalformed, state.SkipFrameworkMissingID, state.SkipFrameworkBadPID,
	state.SkipTaskMalformed, state.SkipTaskMissingID, state.SkipTaskBadPorts,
	state.SkipTaskUnknownState, state.SkipTaskBadDiscovery, state.SkipTaskBadMapping, state.SkipStatusMalformed,
	state.SkipLeaderBadPID, state.SkipBadAddress, state.SkipValueTooLong,
	records.SkipTaskUnknownAgent, records.SkipTaskEmptyName, records.SkipFrameworkEmptyName, records.SkipNameTooLong,
	records.SkipReservedName, records.SkipSRVOverLimit, state.SkipEventUnknownTask, state.SkipEventUnknownType,
}

// blockMetrics are the follower's series of a block, curried by its server and first
// zone once, at start: a use names only the labels of its own.
type blockMetrics struct {
	refreshDuration prometheus.ObserverVec // by outcome
	refreshes       *prometheus.CounterVec // by outcome and reason
	skipped         *prometheus.GaugeVec   // by reason
	mode            *prometheus.GaugeVec   // by mode
	events          *prometheus.CounterVec // by type
	reconnects      *prometheus.CounterVec // by reason

	lastSuccess, records, tasks, agents, frameworks prometheus.Gauge
	stateSize, serial, streamConnected, heldTasks   prometheus.Gauge
	journal                                         prometheus.Gauge
	leaderChanges, dropsHeld                        prometheus.Counter
	eventLatency                                    prometheus.Observer
}

// initMetrics creates every series of a block at zero, so that dashboards and alerts
// see them before the first refresh or failure, and returns the follower's, curried.
func initMetrics(server, zone string) *blockMetrics {
	block := prometheus.Labels{"server": server, "zone": zone}
	bm := &blockMetrics{
		refreshDuration: refreshDuration.MustCurryWith(block),
		refreshes:       refreshCount.MustCurryWith(block),
		skipped:         skippedCount.MustCurryWith(block),
		mode:            modeGauge.MustCurryWith(block),
		events:          eventsTotal.MustCurryWith(block),
		reconnects:      reconnects.MustCurryWith(block),
		lastSuccess:     lastSuccess.With(block),
		records:         recordCount.With(block),
		tasks:           taskCount.With(block),
		agents:          agentCount.With(block),
		frameworks:      frameworkCount.With(block),
		stateSize:       stateSize.With(block),
		serial:          serialGauge.With(block),
		streamConnected: streamConnected.With(block),
		heldTasks:       heldTasks.With(block),
		leaderChanges:   leaderChanges.With(block),
		dropsHeld:       dropsHeld.With(block),
		eventLatency:    eventLatency.With(block),
		journal:         journalRecords.With(block),
	}
	bm.refreshDuration.WithLabelValues("success")
	bm.refreshDuration.WithLabelValues("error")
	bm.refreshes.WithLabelValues("success", "ok")
	for _, r := range refreshReasons {
		bm.refreshes.WithLabelValues("error", r)
	}
	for _, r := range skipReasons {
		bm.skipped.WithLabelValues(r)
	}
	httpWatches.With(block)
	for _, r := range []string{"max_watches", "busy", "stalled"} {
		httpRefused.MustCurryWith(block).WithLabelValues(r)
	}
	bm.mode.WithLabelValues(modeStream)
	bm.mode.WithLabelValues(modePoll)
	for _, t := range append(eventTypes, "unknown") {
		bm.events.WithLabelValues(t)
	}
	for _, r := range streamEnds {
		bm.reconnects.WithLabelValues(r)
	}
	return bm
}

// initZKMetrics creates the ZooKeeper series of a block that finds its masters in
// ZooKeeper, or removes them from one that does not (a reload may have taken
// ZooKeeper out of it): a 0 there would read as a lost session. Since a reload may
// delete them, these two are not curried into blockMetrics: a handle taken at start
// would outlive its series, so each use names the server and zone (zkChange,
// zkSession).
func initZKMetrics(server, zone string, zk bool) {
	if !zk {
		zkConnected.DeleteLabelValues(server, zone)
		zkLeaderChanges.DeleteLabelValues(server, zone)
		return
	}
	zkConnected.WithLabelValues(server, zone)
	zkLeaderChanges.WithLabelValues(server, zone)
}
