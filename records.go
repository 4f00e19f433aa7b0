package mesos

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// The follower's publication: what a good refresh (a poll, a stream's snapshot or its
// events) or a failed one does to the records served, the metrics and the log.

// loaded builds and swaps in the records of a good state (a fetched one, or the
// cluster the stream keeps); whole says it is a whole new state (a poll's, a stream's
// snapshot), which the refresh metrics count. It returns how soon to look again when
// the state may not be published yet (a large drop waiting for a second look), or
// when held tasks reach their bound; else 0.
func (m *Mesos) loaded(ctx context.Context, r *master.Result, took time.Duration, whole bool) time.Duration {
	return m.guarded(ctx, r, nil, took, whole)
}

// loadedAll is loaded for the whole cluster as the stream keeps it, given as changes
// (every agent, framework and task) so that it is not copied into a State; st names
// the leader. No agent may be recovering.
func (m *Mesos) loadedAll(ctx context.Context, all *state.Changes, r *master.Result, took time.Duration, whole bool) time.Duration {
	return m.guarded(ctx, r, all, took, whole)
}

// guarded is loaded and loadedAll: the state goes through the failover guard, then to
// the updater, and what it built is served.
func (m *Mesos) guarded(ctx context.Context, r *master.Result, all *state.Changes, took time.Duration, whole bool) time.Duration {
	start := time.Now()
	f := &m.follower
	var (
		st           *state.State
		held         int
		wait, expiry time.Duration
		n            int
	)
	if all == nil {
		n = r.State.Running()
		st, held, wait, expiry = f.guard.Check(r.State, start, f.updater)
	} else {
		n = all.Running()
		st, wait = r.State, f.guard.Drop(n, 0, start, f.updater)
	}
	f.metrics.heldTasks.Set(float64(held))
	if wait > 0 {
		if !f.held.drop {
			f.held.drop = true
			f.metrics.dropsHeld.Inc()
			log.Warningf("the state from %s would drop most records (%d running tasks, %d before) and no agent is recovering: looking again in %v before serving it",
				r.Leader.Host, n, f.updater.Running(), wait.Round(time.Millisecond))
		}
		return wait
	}
	if f.held.drop {
		f.held.drop = false
		log.Warningf("the drop is confirmed by a second look: serving the state from %s (%d running tasks)", r.Leader.Host, n)
	}
	// The tasks kept are logged when their number changes, not with every state.
	if held > 0 && held != f.held.tasks {
		log.Infof("keeping %d tasks of agents that have not re-registered with %s yet", held, r.Leader.Host)
	}
	f.held.tasks = held
	if list := m.zk.masters.Load(); list != nil {
		// masterN.D in election order.
		st.Masters = *list
	}
	if all == nil {
		f.updater.Update(ctx, st)
	} else {
		f.updater.UpdateAll(ctx, *all, st)
	}
	m.served(r, took+time.Since(start), whole)
	if whole && n >= bigState {
		// Decoding a large state (a poll, a stream's snapshot) is the largest
		// allocation there is, about as much as the records and the cluster together:
		// its pages go back to the system now, not as the scavenger gets to them,
		// which under a steady load is never. One collection per state, at most a
		// few percent of what the state cost to decode.
		debug.FreeOSMemory()
	}
	// Held tasks go when their agent's bound passes, not at the next change.
	return expiry
}

// bigState is the running tasks from which a state's memory is given back at once.
const bigState = 20000

// loadedChanges publishes what the event stream changed, from st's leader and masters.
func (m *Mesos) loadedChanges(ctx context.Context, ch state.Changes, st *state.State, leader *url.URL) {
	start := time.Now()
	if list := m.zk.masters.Load(); list != nil {
		st.Masters = *list
	}
	m.follower.updater.Apply(ctx, ch, st)
	m.served(&master.Result{State: st, Leader: leader}, time.Since(start), false)
}

// served publishes the updater's records, when they changed, and reports them; whole
// is loaded's.
func (m *Mesos) served(r *master.Result, took time.Duration, whole bool) {
	start := time.Now()
	f, mx := &m.follower, m.follower.metrics
	prev := m.set.Load()
	set := prev
	if f.updater.Pending() || prev == nil {
		set = f.updater.Publish(prev)
		if m.journal != nil && m.xfer != nil {
			// Before the set is served: a secondary told of its serial finds the
			// difference that leads to it.
			m.journal.Record(prev, set)
		}
		m.set.Store(set)
		f.handOn.set.Store(set)
		touched := f.updater.TakeChanged()
		if a := m.httpAPI.Load(); a != nil {
			a.Published(set, touched)
		}
		if prev == nil || prev.Serial() != set.Serial() {
			f.notify.changed()
		}
	}
	now := time.Now()
	m.lastOK.Store(now.UnixNano())
	old := f.leader
	f.leader = r.Leader
	if old != nil && old.Host != r.Leader.Host {
		mx.leaderChanges.Inc()
		log.Infof("leading master is now %s (was %s)", r.Leader.Host, old.Host)
	}
	took += now.Sub(start)
	if whole {
		mx.refreshDuration.WithLabelValues("success").Observe(took.Seconds())
		mx.refreshes.WithLabelValues("success", "ok").Inc()
	}
	mx.lastSuccess.Set(float64(now.Unix()))
	stats := set.Stats()
	mx.records.Set(float64(stats.Records))
	mx.tasks.Set(float64(stats.Tasks))
	mx.agents.Set(float64(stats.Agents))
	mx.frameworks.Set(float64(stats.Frameworks))
	if r.Bytes > 0 {
		mx.stateSize.Set(float64(r.Bytes))
	}
	mx.serial.Set(float64(set.Serial()))
	if m.journal != nil {
		n, _, _ := m.journal.Held()
		mx.journal.Set(float64(n))
	}
	for _, reason := range skipReasons {
		mx.skipped.WithLabelValues(reason).Set(float64(stats.Skipped[reason]))
	}
	if f.failures > 0 {
		log.Infof("refresh from %s works again after %d failed refreshes", r.Leader.Host, f.failures)
		f.failures = 0
	}
	// Each whole state is logged; the changes events make are not, there can be
	// hundreds a second.
	if whole && (prev == nil || prev.Serial() != set.Serial()) {
		log.Infof("%v from %s: %s", m.Zones, r.Leader.Host, set)
	}
	if n := stats.Skipped.Total(); n > 0 && (prev == nil || prev.Stats().Skipped.Total() != n) {
		log.Warningf("left out %d entities and records: %s", n, skipSummary(stats.Skipped))
	}
}

// failed records a refresh that did not produce records; the last good ones stay.
func (m *Mesos) failed(err error, took time.Duration) {
	reason := refreshReason(err)
	m.follower.failures++
	m.follower.metrics.refreshDuration.WithLabelValues("error").Observe(took.Seconds())
	m.follower.metrics.refreshes.WithLabelValues("error", reason).Inc()
	msg := oneLine(err)
	if age := m.staleness(); age >= 0 {
		log.Warningf("refresh failed (%s), serving records %v old: %s", reason, age.Round(time.Second), msg)
	} else {
		log.Errorf("refresh failed (%s), %s: %s", reason, answeringSERVFAIL, msg)
	}
}

// refreshReason classifies a failed refresh. With several masters the first cause in
// this order wins: a timeout or a certificate problem says more than the refused
// connections to the masters that were down.
func refreshReason(err error) string {
	var ne net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var header tls.RecordHeaderError
	switch {
	case errors.Is(err, master.ErrTooLarge):
		return "too_large"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert), errors.As(err, &header),
		// https to a plain http master: net/http replaces the tls.RecordHeaderError
		// with an error of its own.
		errors.Is(err, http.ErrSchemeMismatch):
		return "tls"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, master.ErrDecode):
		return "decode"
	case errors.Is(err, master.ErrNoLeader), errors.Is(err, master.ErrNoMasters):
		return "no_leader"
	case errors.Is(err, master.ErrStatus):
		return "http_status"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "connection"
	}
	return "other"
}
