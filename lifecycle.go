package mesos

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
	"github.com/coredns-mesos/mesos/plugin/zk"
	"github.com/coredns/coredns/plugin"
)

// handoff carries record sets across a reload: caddy starts the new instance before
// it shuts the old one down, so the new one can serve the old records at once instead
// of answering SERVFAIL until its first fetch, also when the reload changed the masters
// or the options. Each instance publishes its own entry and removes it on stop only if
// no newer instance has replaced it, so a block that is removed from the Corefile does
// not keep its records alive.
var handoff sync.Map // handoffKey → *handed

// handoffKey names a block across reloads: its zones on its server, so that two server
// blocks serving the same zones never share an entry.
type handoffKey struct{ zones, server string }

// handed is an instance's entry in handoff: the records it serves, and their age.
type handed struct {
	set atomic.Pointer[records.Set]
	// journal is the instance's IXFR journal, which the new instance goes on with
	// when it keeps as many records: a reload costs the secondaries no whole zone.
	journal *records.Journal
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

// start is the block's OnStartup: it starts the background work (the follower of the
// masters, the ZooKeeper detector, the NOTIFY sender) and the HTTP API, serving the
// records a previous instance handed on meanwhile.
func (m *Mesos) start() error {
	m.life.mu.Lock()
	defer m.life.mu.Unlock()
	if m.life.cancel != nil {
		return nil
	}
	if m.cfg.insecure {
		log.Warningf("TLS certificates of the masters are NOT verified (insecure_skip_verify) for %v", m.Zones)
	}
	client, detector, err := m.newClient()
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	m.life.client = client
	m.follower.metrics = initMetrics(m.key.server, m.Zones[0])
	initZKMetrics(m.key.server, m.Zones[0], m.cfg.zk != nil)
	if len(m.cfg.opts.NSAddrs) == 0 {
		m.cfg.opts.NSAddrs = bindAddrs(m.bind)
	}
	if m.cfg.opts.Hosts == nil {
		m.cfg.opts.Hosts = records.NewHostCache(nil)
	}
	m.handOver()
	running.Lock()
	running.seq++
	if running.list == nil {
		running.list = make(map[*Mesos]uint64)
	}
	running.list[m] = running.seq
	running.Unlock()
	m.follower.guard = records.NewFailover(m.cfg.reregister, confirmDelay)
	u := records.NewUpdater(&m.cfg.opts)
	if m.cfg.http != "" {
		u.KeepChanged()
	}
	m.life.updater, m.follower.updater = u, u
	if err := m.startAPI(); err != nil {
		m.stopStarted()
		return plugin.Error(pluginName, err)
	}
	m.launch(client, detector)
	return nil
}

// newClient makes the masters' client and, on a block that finds the masters in
// ZooKeeper, the detector that tells the client where they are.
func (m *Mesos) newClient() (*master.Client, *zk.Detector, error) {
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
	return client, detector, err
}

// handOver serves the records a previous instance of the block handed on, if any, and
// publishes this instance's entry in handoff in its place.
func (m *Mesos) handOver() {
	handOn := &handed{lastOK: &m.lastOK, journal: m.journal}
	if v, ok := handoff.Load(m.key); ok {
		prev := v.(*handed)
		if set := prev.set.Load(); set != nil {
			m.lastOK.Store(prev.lastOK.Load())
			m.set.Store(set)
			handOn.set.Store(set)
			if m.journal != nil && prev.journal != nil && prev.journal.Limit() == m.journal.Limit() {
				m.journal = prev.journal
				handOn.journal = prev.journal
			}
		}
	}
	m.life.handOn, m.follower.handOn = handOn, handOn
	handoff.Store(m.key, handOn)
}

// launch starts the background work: the follower (run), and the ZooKeeper detector
// and the NOTIFY sender when there are any, in one goroutine that waits for the others
// and closes life.done when all have ended. life.cancel ends them.
func (m *Mesos) launch(client *master.Client, detector *zk.Detector) {
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
	if m.xfer != nil {
		for _, z := range m.Zones {
			for _, k := range transferKinds {
				transfers.WithLabelValues(m.key.server, z, k)
			}
		}
	}
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
}

// confirmDelay is how long a state that drops most records must stay so before it is
// published.
var confirmDelay = 3 * time.Second

// stop is the block's OnShutdown, and stops an instance a failed reload orphaned: the
// HTTP API, then the background work, which it waits for (life.done).
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
