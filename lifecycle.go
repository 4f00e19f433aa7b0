package mesos

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-mesos/mesos/internal/master"
	"github.com/coredns-mesos/mesos/internal/state"
	"github.com/coredns-mesos/mesos/internal/zk"
	"github.com/coredns/coredns/plugin"
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

type handed struct {
	set atomic.Pointer[Set]
	// lastOK is the lastOK of the instance that published set: the new instance
	// reports the age of the records it serves, not "no records yet".
	lastOK *atomic.Int64
}

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
	m.life.restartSeq = running.seq
	running.Unlock()
	// The new instance listens where this one did: the open watches are answered
	// and the address let go.
	m.life.mu.Lock()
	m.stopAPI()
	m.life.mu.Unlock()
	return nil
}

// restartFailed is the old instance's OnRestartFailed: caddy keeps the old instance, so
// every instance started since the restart began is stopped and the old one publishes
// its records again.
func (m *Mesos) restartFailed() error {
	running.Lock()
	var orphans []*Mesos
	for o, seq := range running.list {
		if seq > m.life.restartSeq {
			orphans = append(orphans, o)
		}
	}
	running.Unlock()
	for _, o := range orphans {
		o.stop()
	}
	m.life.mu.Lock()
	defer m.life.mu.Unlock()
	if m.life.handOn != nil {
		handoff.Store(m.key, m.life.handOn)
	}
	if m.life.cancel != nil {
		if err := m.startAPI(); err != nil {
			log.Error(err)
		}
	}
	return nil
}

func (m *Mesos) start() error {
	m.life.mu.Lock()
	defer m.life.mu.Unlock()
	if m.life.cancel != nil {
		return nil
	}
	if m.cfg.insecure {
		log.Warningf("TLS certificates of the masters are NOT verified (insecure_skip_verify) for %v", m.Zones)
	}
	var detector *zk.Detector
	var discover func() []*url.URL
	if z := m.cfg.zk; z != nil {
		m.zk.changed = make(chan struct{}, 1)
		discover = m.zkURLs
		detector = &zk.Detector{Servers: z.servers, Path: z.path, Auth: z.auth, OnChange: m.zkChange, Logf: log.Warningf}
	}
	client, err := master.New(master.Config{
		Discover:  discover,
		Masters:   m.cfg.masters,
		TLS:       m.cfg.tls,
		Principal: m.cfg.principal,
		Secret:    m.cfg.secret,
		Timeout:   m.cfg.timeout,
		MaxBytes:  m.cfg.maxBytes,
	})
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	m.life.client = client
	initMetrics(m.key.server, m.Zones[0])
	initZKMetrics(m.key.server, m.Zones[0], m.cfg.zk != nil)
	if len(m.cfg.opts.NSAddrs) == 0 {
		m.cfg.opts.NSAddrs = bindAddrs(m.bind)
	}
	if m.cfg.opts.Hosts == nil {
		m.cfg.opts.Hosts = NewHostCache(nil)
	}
	handOn := &handed{lastOK: &m.lastOK}
	if prev, ok := handoff.Load(m.key); ok {
		if set := prev.(*handed).set.Load(); set != nil {
			m.lastOK.Store(prev.(*handed).lastOK.Load())
			m.set.Store(set)
			handOn.set.Store(set)
		}
	}
	m.life.handOn, m.follower.handOn = handOn, handOn
	handoff.Store(m.key, handOn)
	running.Lock()
	running.seq++
	if running.list == nil {
		running.list = make(map[*Mesos]uint64)
	}
	running.list[m] = running.seq
	running.Unlock()
	m.follower.guard = &failover{timeout: m.cfg.reregister, confirm: confirmDelay}
	u := newUpdater(&m.cfg.opts)
	u.t.keepChanged = m.cfg.http != ""
	m.life.updater, m.follower.updater = u, u
	if err := m.startAPI(); err != nil {
		m.stopStarted()
		return plugin.Error(pluginName, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.life.cancel, m.life.done = cancel, done
	if detector != nil {
		// The session a stop or a reload ends is no loss to report, and no series to
		// bring back.
		detector.OnSession = func(up bool) {
			if ctx.Err() == nil {
				m.zkSession(up)
			}
		}
	}
	notify := m.notifier(m.xfer)
	m.follower.notify = notify
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		if detector != nil {
			wg.Go(func() { detector.Run(ctx) })
		}
		if notify != nil {
			wg.Go(func() { notify.run(ctx) })
		}
		m.run(ctx, client)
		wg.Wait()
	}()
	return nil
}

// zkChange takes ZooKeeper's word on the masters, in election order.
func (m *Mesos) zkChange(list []state.PID) {
	server, zone := m.key.server, m.Zones[0]
	old := m.zk.masters.Swap(&list)
	var was, now state.PID
	if old != nil && len(*old) > 0 {
		was = (*old)[0]
	}
	if len(list) > 0 {
		now = list[0]
	}
	if was != now {
		if old != nil {
			zkLeaderChanges.WithLabelValues(server, zone).Inc()
		}
		if now.IsZero() {
			log.Warningf("ZooKeeper %s: no master leads: keeping the records", m.cfg.zk.path)
		} else {
			log.Infof("ZooKeeper %s: %s leads (%d masters)", m.cfg.zk.path, net.JoinHostPort(now.Host, strconv.Itoa(int(now.Port))), len(list))
		}
	}
	select {
	case m.zk.changed <- struct{}{}:
	default:
	}
}

func (m *Mesos) zkSession(connected bool) {
	v := 0.0
	if connected {
		v = 1
		log.Infof("ZooKeeper session established (%s)", strings.Join(m.cfg.zk.servers, ","))
	} else {
		log.Warningf("ZooKeeper session lost: keeping the last leader and records, retrying")
	}
	zkConnected.WithLabelValues(m.key.server, m.Zones[0]).Set(v)
}

// zkURLs are the masters ZooKeeper names, leader first, as base URLs.
func (m *Mesos) zkURLs() []*url.URL {
	list := m.zk.masters.Load()
	if list == nil {
		return nil
	}
	scheme := "http"
	if m.cfg.zk.https {
		scheme = "https"
	}
	out := make([]*url.URL, 0, len(*list))
	for _, p := range *list {
		out = append(out, &url.URL{Scheme: scheme, Host: net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))})
	}
	return out
}

// confirmDelay is how long a state that drops most records must stay so before it is
// published.
var confirmDelay = 3 * time.Second

func (m *Mesos) stop() error {
	m.life.mu.Lock()
	defer m.life.mu.Unlock()
	if m.life.cancel == nil {
		return nil
	}
	m.stopAPI()
	m.life.cancel()
	<-m.life.done
	m.life.cancel = nil
	m.stopStarted()
	return nil
}

// stopStarted undoes what start did beside the background work. Called with
// m.life.mu held.
func (m *Mesos) stopStarted() {
	handoff.CompareAndDelete(m.key, m.life.handOn)
	running.Lock()
	delete(running.list, m)
	running.Unlock()
	if m.life.client != nil {
		m.life.client.CloseIdleConnections()
	}
}

// bindAddrs are the concrete addresses among the server block's listen addresses:
// where the default NS target ns1.ZONE can be reached.
func bindAddrs(hosts []string) []netip.Addr {
	var out []netip.Addr
	for _, h := range hosts {
		if a, ok := state.ParseIP(h); ok && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

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
func (m *Mesos) loadedAll(ctx context.Context, all *changes, r *master.Result, took time.Duration, whole bool) time.Duration {
	return m.guarded(ctx, r, all, took, whole)
}

// guarded is loaded and loadedAll: the state goes through the failover guard, then to
// the updater, and what it built is served.
func (m *Mesos) guarded(ctx context.Context, r *master.Result, all *changes, took time.Duration, whole bool) time.Duration {
	start := time.Now()
	server, zone := m.key.server, m.Zones[0]
	f := &m.follower
	var (
		st           *state.State
		held         int
		wait, expiry time.Duration
		n            int
	)
	if all == nil {
		n = runningTasks(r.State)
		st, held, wait, expiry = f.guard.check(r.State, start, f.updater)
	} else {
		n = all.running()
		st, wait = r.State, f.guard.drop(n, 0, start, f.updater)
	}
	heldTasks.WithLabelValues(server, zone).Set(float64(held))
	if wait > 0 {
		if !f.held.drop {
			f.held.drop = true
			dropsHeld.WithLabelValues(server, zone).Inc()
			log.Warningf("the state from %s would drop most records (%d running tasks, %d before) and no agent is recovering: looking again in %v before serving it",
				r.Leader.Host, n, f.updater.running(), wait.Round(time.Millisecond))
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
		f.updater.update(ctx, st)
	} else {
		f.updater.updateAll(ctx, all, st)
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
func (m *Mesos) loadedChanges(ctx context.Context, ch *changes, st *state.State, leader *url.URL) {
	start := time.Now()
	if list := m.zk.masters.Load(); list != nil {
		st.Masters = *list
	}
	m.follower.updater.apply(ctx, ch, st)
	m.served(&master.Result{State: st, Leader: leader}, time.Since(start), false)
}

// served publishes the updater's records, when they changed, and reports them; whole
// is loaded's.
func (m *Mesos) served(r *master.Result, took time.Duration, whole bool) {
	start := time.Now()
	server, zone := m.key.server, m.Zones[0]
	f := &m.follower
	prev := m.set.Load()
	set := prev
	if f.updater.pending || prev == nil {
		set = f.updater.publish(prev)
		m.set.Store(set)
		f.handOn.set.Store(set)
		touched := f.updater.t.takeChanged()
		if a := m.httpAPI.Load(); a != nil {
			a.hub.published(set, touched)
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
		leaderChanges.WithLabelValues(server, zone).Inc()
		log.Infof("leading master is now %s (was %s)", r.Leader.Host, old.Host)
	}
	took += now.Sub(start)
	if whole {
		refreshDuration.WithLabelValues(server, zone, "success").Observe(took.Seconds())
		refreshCount.WithLabelValues(server, zone, "success", "ok").Inc()
	}
	lastSuccess.WithLabelValues(server, zone).Set(float64(now.Unix()))
	stats := set.Stats()
	recordCount.WithLabelValues(server, zone).Set(float64(stats.Records))
	taskCount.WithLabelValues(server, zone).Set(float64(stats.Tasks))
	agentCount.WithLabelValues(server, zone).Set(float64(stats.Agents))
	frameworkCount.WithLabelValues(server, zone).Set(float64(stats.Frameworks))
	if r.Bytes > 0 {
		stateSize.WithLabelValues(server, zone).Set(float64(r.Bytes))
	}
	serialGauge.WithLabelValues(server, zone).Set(float64(set.Serial()))
	for _, reason := range skipReasons {
		skippedCount.WithLabelValues(server, zone, reason).Set(float64(stats.Skipped[reason]))
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
	server, zone := m.key.server, m.Zones[0]
	reason := refreshReason(err)
	m.follower.failures++
	refreshDuration.WithLabelValues(server, zone, "error").Observe(took.Seconds())
	refreshCount.WithLabelValues(server, zone, "error", reason).Inc()
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
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert), errors.As(err, &header):
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
