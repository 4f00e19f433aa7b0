package mesos

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/coredns-mesos/mesos/internal/master"
)

// handoff carries record sets across a reload: caddy starts the new instance before
// it shuts the old one down, so the new one can serve the old records at once instead
// of answering SERVFAIL until its first fetch, also when the reload changed the masters
// or the options. Each instance publishes its own box and removes it on stop only if
// no newer instance has replaced it, so a block that is removed from the Corefile does
// not keep its records alive.
var handoff sync.Map // handoffKey → *handed

// handoffKey names a block across reloads: its zones on its server, so that two server
// blocks serving the same zones never share an entry.
type handoffKey struct{ zones, server string }

type handed struct{ set atomic.Pointer[Set] }

// running lists the instances whose background work is started, in start order. It lets
// a reload that fails after the new instances started (a port in use) stop them: caddy
// drops such an instance without calling its OnShutdown.
var running struct {
	sync.Mutex
	seq  uint64
	list map[*Mesos]uint64
}

// restarting is the old instance's OnRestart: it marks where the new instances' starts
// begin.
func (m *Mesos) restarting() error {
	running.Lock()
	defer running.Unlock()
	m.restartMark = running.seq
	return nil
}

// restartFailed is the old instance's OnRestartFailed: caddy keeps the old instance, so
// every instance started since the restart began is stopped and the old one publishes
// its records again.
func (m *Mesos) restartFailed() error {
	running.Lock()
	var orphans []*Mesos
	for o, seq := range running.list {
		if seq > m.restartMark {
			orphans = append(orphans, o)
		}
	}
	running.Unlock()
	for _, o := range orphans {
		o.stop()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.box != nil {
		handoff.Store(m.key, m.box)
	}
	return nil
}

func (m *Mesos) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return nil
	}
	if m.cfg.insecure {
		log.Warningf("TLS certificates of the masters are NOT verified (insecure_skip_verify) for %v", m.Zones)
	}
	client, err := master.New(master.Config{
		Masters:   m.cfg.masters,
		TLS:       m.cfg.tls,
		Principal: m.cfg.principal,
		Secret:    m.cfg.secret,
		Timeout:   m.cfg.timeout,
		MaxBytes:  m.cfg.maxBytes,
	})
	if err != nil {
		return plugin.Error("mesos", err)
	}
	m.client = client
	if m.cfg.opts.Hosts == nil {
		m.cfg.opts.Hosts = NewHostCache(nil)
	}
	m.box = &handed{}
	if prev, ok := handoff.Load(m.key); ok {
		if set := prev.(*handed).set.Load(); set != nil {
			m.set.Store(set)
			m.box.set.Store(set)
		}
	}
	handoff.Store(m.key, m.box)
	running.Lock()
	running.seq++
	if running.list == nil {
		running.list = make(map[*Mesos]uint64)
	}
	running.list[m] = running.seq
	running.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	p := &master.Poller{
		Client:   client,
		Interval: m.cfg.refresh,
		Jitter:   0.1,
		OnResult: func(r *master.Result, took time.Duration) { m.loaded(ctx, r, took) },
		OnError:  m.failed,
	}
	go func() {
		defer close(m.done)
		p.Run(ctx)
	}()
	return nil
}

func (m *Mesos) stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	<-m.done
	m.cancel = nil
	handoff.CompareAndDelete(m.key, m.box)
	running.Lock()
	delete(running.list, m)
	running.Unlock()
	if m.client != nil {
		m.client.CloseIdleConnections()
	}
	return nil
}

// loaded builds and swaps in the records of a good state.
func (m *Mesos) loaded(ctx context.Context, r *master.Result, took time.Duration) {
	start := time.Now()
	prev := m.set.Load()
	set := Build(ctx, r.State, m.cfg.opts, prev)
	m.set.Store(set)
	m.box.set.Store(set)
	now := time.Now()
	m.lastOK.Store(now.UnixNano())
	zone := m.Zones[0]
	if old := m.leader.Swap(r.Leader); old != nil && old.Host != r.Leader.Host {
		leaderChanges.WithLabelValues(zone).Inc()
		log.Infof("leading master is now %s (was %s)", r.Leader.Host, old.Host)
	}
	took += now.Sub(start)
	refreshDuration.WithLabelValues(zone, "success").Observe(took.Seconds())
	refreshCount.WithLabelValues(zone, "success", "ok").Inc()
	lastSuccess.WithLabelValues(zone).Set(float64(now.Unix()))
	st := set.Stats()
	recordCount.WithLabelValues(zone).Set(float64(st.Records))
	taskCount.WithLabelValues(zone).Set(float64(st.Tasks))
	agentCount.WithLabelValues(zone).Set(float64(st.Agents))
	frameworkCount.WithLabelValues(zone).Set(float64(st.Frameworks))
	stateSize.WithLabelValues(zone).Set(float64(r.Bytes))
	serialGauge.WithLabelValues(zone).Set(float64(set.Serial()))
	skippedCount.DeletePartialMatch(map[string]string{"zone": zone})
	for reason, n := range st.Skipped {
		skippedCount.WithLabelValues(zone, reason).Set(float64(n))
	}
	if prev == nil || prev.Serial() != set.Serial() {
		log.Infof("%v from %s: %s", m.Zones, r.Leader.Host, set)
	}
	if n := st.Skipped.Total(); n > 0 && (prev == nil || prev.Stats().Skipped.Total() != n) {
		log.Warningf("left out %d malformed entities: %v", n, map[string]int(st.Skipped))
	}
}

// failed records a refresh that did not produce records; the last good ones stay.
func (m *Mesos) failed(err error, took time.Duration) {
	zone := m.Zones[0]
	reason := refreshReason(err)
	refreshDuration.WithLabelValues(zone, "error").Observe(took.Seconds())
	refreshCount.WithLabelValues(zone, "error", reason).Inc()
	if age := m.staleness(); age >= 0 {
		log.Warningf("refresh failed (%s), serving records %v old: %v", reason, age.Round(time.Second), err)
	} else {
		log.Errorf("refresh failed (%s), no records yet (answering SERVFAIL): %v", reason, err)
	}
}

func refreshReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, master.ErrTooLarge):
		return "too_large"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, master.ErrDecode):
		return "decode"
	case errors.Is(err, master.ErrNoLeader):
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
