package mesos

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/internal/master"
	"github.com/coredns-mesos/mesos/internal/state"
)

// How the records follow the masters.
const (
	modeAuto   = "auto"   // the event stream where the master has one, else polling
	modeStream = "stream" // the event stream only
	modePoll   = "poll"   // polling only
)

// buildShare bounds the time spent building records under churn: one build in
// buildShare of the time at most, the rest left to the queries.
const buildShare = 4

// coalesce is the longest a change waits for the events that follow it in a burst
// before the records are published.
const coalesce = 5 * time.Millisecond

// errResync ends a stream that has run for resync: the next one starts from a fresh
// snapshot, so a missed event cannot last.
var errResync = errors.New("resync")

// errSecondLook ends a stream whose snapshot would drop most records, so that the
// next one's snapshot, asked of the master again, confirms the drop or undoes it.
var errSecondLook = errors.New("a second look at a large drop")

// errLeaderChange ends a stream from a master ZooKeeper no longer names the leader.
var errLeaderChange = errors.New("ZooKeeper names another leader")

// run keeps the records up to date until ctx ends: from the event stream, or by
// polling where the master cannot stream (or the block says so).
func (m *Mesos) run(ctx context.Context, client *master.Client) {
	server, zone := m.key.server, m.Zones[0]
	if !m.awaitZooKeeper(ctx) {
		return
	}
	if m.cfg.mode == modePoll {
		setMode(server, zone, modePoll)
		p := &master.Poller{
			Client:   client,
			Interval: m.cfg.refresh,
			Jitter:   0.1,
			OnResult: func(r *master.Result, took time.Duration) time.Duration { return m.loaded(ctx, r, took, true) },
			OnError:  m.failed,
			// nil without ZooKeeper: never yields.
			Wake: m.zk.changed,
		}
		p.Run(ctx)
		return
	}
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		subscribed, err := m.follow(ctx, client)
		streamConnected.WithLabelValues(server, zone).Set(0)
		if ctx.Err() != nil {
			return
		}
		reason := endReason(err)
		m.streamEnded(err, reason, subscribed, time.Since(started))
		reconnects.WithLabelValues(server, zone, reason).Inc()
		var delay time.Duration
		delay, backoff = retry(reason, subscribed, time.Since(started), backoff, m.cfg.refresh)
		if !subscribed && m.cfg.mode == modeAuto {
			// Stream where the master can, poll where it cannot: meanwhile the records
			// stay as fresh as polling keeps them.
			if reason == "no_stream" {
				setMode(server, zone, modePoll) // what the master can do, not an outage
			}
			if soon := m.pollOnce(ctx, client, err); soon > 0 {
				delay = min(delay, soon)
			} else if reason == "no_stream" {
				delay = m.cfg.refresh
			}
		}
		if !m.pause(ctx, jitter(delay)) {
			return
		}
	}
}

// retry returns how long to wait before the next stream, after one that ended for
// reason having lived for lived (subscribed: it got as far as its snapshot), and the
// backoff after that. A resync, a second look and a leader change go on at once; so
// does the first attempt after a stream that got its snapshot and served a while (a
// master failing over closes its streams); one that ended sooner waits the shortest
// delay, so that a master closing every stream gets a snapshot asked of it once in
// steadyStream at most. Streams that cannot open back off from a second up to refresh.
func retry(reason string, subscribed bool, lived, backoff, refresh time.Duration) (delay, next time.Duration) {
	shortest := min(time.Second, refresh)
	switch {
	case reason == "resync" || reason == "second_look" || reason == "leader_change":
		return 0, shortest
	case subscribed && lived >= steadyStream:
		return 0, shortest
	case subscribed:
		return shortest, min(2*shortest, refresh)
	}
	return backoff, min(2*backoff, refresh)
}

// steadyStream is how long a stream must have served for the next to be asked for at
// once when it ends.
const steadyStream = 10 * time.Second

// pause sleeps between streams, or polls of a master that cannot stream, and ends at
// once when ZooKeeper names another leader.
func (m *Mesos) pause(ctx context.Context, d time.Duration) bool {
	return sleepUnless(ctx, d, m.zk.changed)
}

// pollOnce fetches the state once, as the poller does, in place of the stream that
// could not open (streamErr): the attempt is counted and logged once, here.
func (m *Mesos) pollOnce(ctx context.Context, client *master.Client, streamErr error) time.Duration {
	start := time.Now()
	r, err := client.Fetch(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.failed(err, time.Since(start))
		}
		return 0
	}
	m.polledInstead(streamErr)
	return m.loaded(ctx, r, time.Since(start), true)
}

type streamed struct {
	ev  *state.Event
	err error
	at  time.Time
}

// follow applies one stream until it ends; subscribed reports whether it got as far as
// the SUBSCRIBED snapshot.
func (m *Mesos) follow(ctx context.Context, client *master.Client) (subscribed bool, err error) {
	server, zone := m.key.server, m.Zones[0]
	start := time.Now()
	s, first, err := client.Subscribe(ctx)
	if err != nil {
		return false, err // counted and logged once by run (streamEnded, pollOnce)
	}
	defer s.Close()
	setMode(server, zone, modeStream)
	streamConnected.WithLabelValues(server, zone).Set(1)
	stateSize.WithLabelValues(server, zone).Set(float64(s.Bytes))
	leader := &url.URL{Scheme: s.URL.Scheme, Host: s.URL.Host, Path: s.URL.Path}
	if !s.Leader.IsZero() {
		leader.Host = net.JoinHostPort(s.Leader.Host, strconv.Itoa(int(s.Leader.Port)))
	}
	f := &m.follower
	if f.cluster == nil {
		f.cluster = &state.Cluster{}
	}
	cluster := f.cluster
	cluster.Leader = s.Leader
	if f.pids == nil {
		// The first stream waits for the scheduler pids; later ones start with the
		// last known and refresh them.
		f.pids, _ = client.FrameworkPIDs(ctx, s.URL)
	}
	cluster.SetPIDs(f.pids)
	events := make(chan streamed, 1024)
	pidsCh := make(chan map[string]state.PID, 1)
	wantPIDs := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	done := make(chan struct{})
	defer close(done)
	// The v1 API has no scheduler pids: /master/state-summary has them, fetched again
	// when frameworks change, at most once a second.
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-wantPIDs:
			}
			if pids, err := client.FrameworkPIDs(pctx, s.URL); err == nil {
				select {
				case pidsCh <- pids:
				case <-done:
					return
				}
			}
			if !sleep(pctx, time.Second) {
				return
			}
		}
	})
	go func() {
		for {
			ev, err := s.Next()
			select {
			case events <- streamed{ev, err, time.Now()}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// ready is when the next build may start: a build takes at most 1/buildShare of
	// the time, so that churn on a large cluster never starves the queries.
	var ready time.Time
	throttle := time.NewTimer(time.Hour)
	throttle.Stop()
	defer throttle.Stop()
	publish := func(arrived time.Time, whole bool) time.Duration {
		began := time.Now()
		ch, all := cluster.Changes()
		var wait time.Duration
		switch {
		case cluster.Recovering() || f.held.keepsTasks():
			// A failover not over yet: the whole state goes through the failover
			// guard, which puts back the tasks of agents not back yet.
			wait = m.loaded(ctx, &master.Result{State: cluster.State(), Leader: leader}, time.Since(arrived), whole)
		case all || whole || f.held.drop:
			// A whole state: the guard looks at how much it drops, the updater takes
			// what differs from what it has.
			wait = m.loadedAll(ctx, fromCluster(cluster.All()), &master.Result{State: &state.State{Leader: cluster.Leader, Skipped: cluster.Skipped}, Leader: leader},
				time.Since(arrived), whole)
		default:
			m.loadedChanges(ctx, fromCluster(ch),
				&state.State{Leader: cluster.Leader, Skipped: cluster.Skipped}, leader)
		}
		if !whole {
			// A whole state's publication is a build of everything, once: the events
			// after it are not made to wait for it.
			ready = time.Now().Add((buildShare - 1) * time.Since(began))
		}
		if wait == 0 && !arrived.IsZero() {
			eventLatency.WithLabelValues(server, zone).Observe(time.Since(arrived).Seconds())
		}
		return wait
	}
	recheck := time.NewTimer(time.Hour)
	recheck.Stop()
	defer recheck.Stop()
	eventsTotal.WithLabelValues(server, zone, eventLabel(first.Type)).Inc()
	cluster.Apply(first)
	if wait := publish(start, true); wait > 0 {
		recheck.Reset(wait)
	}
	wantPIDs <- struct{}{}
	resync := time.NewTimer(jitter(m.cfg.resync))
	defer resync.Stop()
	// pending is when the first change not yet published arrived; batch when this
	// goroutine began applying it.
	var pending, batch time.Time
	for {
		select {
		case it := <-events:
			if it.err != nil {
				return true, it.err
			}
			m.lastOK.Store(it.at.UnixNano())
			lastSuccess.WithLabelValues(server, zone).Set(float64(it.at.Unix()))
			eventsTotal.WithLabelValues(server, zone, eventLabel(it.ev.Type)).Inc()
			if it.ev.Type == state.EventSubscribed {
				return true, errors.New("a second SUBSCRIBED")
			}
			if cluster.Apply(it.ev) && pending.IsZero() {
				pending, batch = it.at, time.Now()
			}
			if it.ev.Type == state.EventFrameworkAdded || it.ev.Type == state.EventFrameworkUpdated {
				select {
				case wantPIDs <- struct{}{}:
				default:
				}
			}
			// What has queued up (a burst, or what came during the last build) is
			// applied whole, for at most coalesce, then published once.
			if !pending.IsZero() && (len(events) == 0 || time.Since(batch) > coalesce) {
				if now := time.Now(); now.Before(ready) {
					throttle.Reset(ready.Sub(now))
					continue
				}
				if wait := publish(pending, false); wait > 0 {
					recheck.Reset(wait)
				}
				pending = time.Time{}
			}
		case <-throttle.C:
			if !pending.IsZero() {
				if wait := publish(pending, false); wait > 0 {
					recheck.Reset(wait)
				}
				pending = time.Time{}
			}
		case pids := <-pidsCh:
			f.pids = pids
			if cluster.SetPIDs(pids) {
				if wait := publish(time.Now(), false); wait > 0 {
					recheck.Reset(wait)
				}
			}
		case <-recheck.C:
			if f.held.drop {
				// A large drop held back: the second look asks the master again (a
				// new snapshot), not the copy that showed it.
				return true, errSecondLook
			}
			if wait := publish(time.Time{}, false); wait > 0 {
				recheck.Reset(wait)
			}
		case <-m.zk.changed:
			if list := m.zk.masters.Load(); list != nil && len(*list) > 0 {
				if p := (*list)[0]; !strings.EqualFold(net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))), s.URL.Host) {
					return true, errLeaderChange
				}
			}
		case <-resync.C:
			return true, errResync
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// endReason names why a stream ended, for the reconnect metric.
func endReason(err error) string {
	switch {
	case errors.Is(err, errResync):
		return "resync"
	case errors.Is(err, errLeaderChange):
		return "leader_change"
	case errors.Is(err, errSecondLook):
		return "second_look"
	case errors.Is(err, master.ErrNoStream):
		return "no_stream"
	case errors.Is(err, master.ErrStalled):
		return "stalled"
	case errors.Is(err, state.ErrEvent), errors.Is(err, master.ErrRecordIO):
		return "decode"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed"
	case err == nil:
		return "closed"
	}
	return refreshReason(err)
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64())) // #nosec G404 -- spreading replicas, not a secret
}

func sleep(ctx context.Context, d time.Duration) bool { return sleepUnless(ctx, d, nil) }

// sleepUnless sleeps for d, or until wake yields (a nil wake never does); it reports
// false when ctx ended first.
func sleepUnless(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// oneLine keeps an error (one line a master, from errors.Join) on one log line.
func oneLine(err error) string {
	if err == nil {
		return "the master closed it"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
