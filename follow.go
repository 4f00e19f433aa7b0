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

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/state"
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
	mx := m.follower.metrics
	if !m.awaitZooKeeper(ctx) {
		return
	}
	if m.cfg.mode == modePoll {
		mx.setMode(modePoll)
		p := &master.Poller{
			Client:   client,
			Interval: m.cfg.refresh,
			Jitter:   0.1,
			OnResult: func(r *master.Result, took time.Duration) time.Duration { return m.loaded(ctx, r, took, true) },
			OnError:  m.failed,
			Decoder:  m.decoder(ctx),
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
		mx.streamConnected.Set(0)
		if ctx.Err() != nil {
			return
		}
		reason := endReason(err)
		m.streamEnded(err, reason, subscribed, time.Since(started))
		mx.reconnects.WithLabelValues(reason).Inc()
		var delay time.Duration
		delay, backoff = retry(reason, subscribed, time.Since(started), backoff, m.cfg.refresh)
		if !subscribed && m.cfg.mode == modeAuto {
			// Stream where the master can, poll where it cannot: meanwhile the records
			// stay as fresh as polling keeps them.
			if reason == "no_stream" {
				mx.setMode(modePoll) // what the master can do, not an outage
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
	r, err := client.FetchWith(ctx, m.decoder(ctx)())
	if err != nil {
		if ctx.Err() == nil {
			m.failed(err, time.Since(start))
		}
		return 0
	}
	m.polledInstead(streamErr)
	return m.loaded(ctx, r, time.Since(start), true)
}

// decoder gives the decoder of a poll's state: until the first records are loaded, one
// that builds them while it decodes (records.Updater.LoadingDecoder), on the other
// core; after, state.Decode. Called on the refresh goroutine.
func (m *Mesos) decoder(ctx context.Context) func() master.Decoder {
	return func() master.Decoder {
		if u := m.follower.updater; !u.Loaded() {
			return u.LoadingDecoder(ctx)
		}
		return state.Decode
	}
}

// follow applies one stream until it ends; subscribed reports whether it got as far as
// the SUBSCRIBED snapshot.
func (m *Mesos) follow(ctx context.Context, client *master.Client) (subscribed bool, err error) {
	start := time.Now()
	s, first, err := client.Subscribe(ctx)
	if err != nil {
		return false, err // counted and logged once by run (streamEnded, pollOnce)
	}
	sub := m.opened(ctx, client, s)
	// The stream's two helpers, the reader of its events and the fetcher of the
	// scheduler pids, are follow's own: stopHelpers ends them (the reader once the
	// stream is closed, which ends its Next), and follow waits for both to return.
	helpersCtx, stopHelpers := context.WithCancel(ctx)
	var helpers sync.WaitGroup
	helpers.Go(func() { readEvents(helpersCtx, s, sub.events) })
	helpers.Go(func() { fetchPIDs(helpersCtx, client, s.URL, sub.wantPIDs, sub.gotPIDs) })
	err = m.applyStream(ctx, sub, first, start)
	stopHelpers()
	sub.close()
	helpers.Wait()
	return true, err
}

// subscription is one event stream as follow applies it: what its parts share. Only the
// refresh goroutine touches it; the reader and the pids fetcher have their channels.
type subscription struct {
	s       *master.Stream
	leader  *url.URL       // the master the stream comes from, as the records name it
	cluster *state.Cluster // the follower's, kept from one stream to the next
	// events come from the reader; wantPIDs asks the pids fetcher for the pids again,
	// which it gives on gotPIDs.
	events   chan streamed
	wantPIDs chan struct{}
	gotPIDs  chan map[string]state.PID
	// ready is when the next build may start: a build takes at most 1/buildShare of
	// the time, so that churn on a large cluster never starves the queries.
	ready time.Time
	// pending is when the first change not yet published arrived; batch when the
	// refresh goroutine began applying it.
	pending, batch time.Time
	// throttle fires at ready, when changes wait for it; recheck when the records
	// must be looked at again though nothing changed (publishStream's wait).
	throttle, recheck *time.Timer
}

// close closes the stream and stops its timers.
func (sub *subscription) close() {
	sub.s.Close()
	sub.throttle.Stop()
	sub.recheck.Stop()
}

// streamed is one event as the reader read it, or the error that ended the stream.
type streamed struct {
	ev  *state.Event
	err error
	at  time.Time
}

// opened reports the stream s open and readies what applying it needs: the leader's
// URL, and the cluster with the scheduler pids, which the first stream waits for and
// later ones start with the last known of.
func (m *Mesos) opened(ctx context.Context, client *master.Client, s *master.Stream) *subscription {
	mx := m.follower.metrics
	mx.setMode(modeStream)
	mx.streamConnected.Set(1)
	mx.stateSize.Set(float64(s.Bytes))
	leader := &url.URL{Scheme: s.URL.Scheme, Host: s.URL.Host, Path: s.URL.Path}
	if !s.Leader.IsZero() {
		leader.Host = net.JoinHostPort(s.Leader.Host, strconv.Itoa(int(s.Leader.Port)))
	}
	f := &m.follower
	if f.cluster == nil {
		f.cluster = &state.Cluster{}
	}
	f.cluster.Leader = s.Leader
	if f.pids == nil {
		f.pids, _ = client.FrameworkPIDs(ctx, s.URL)
	}
	f.cluster.SetPIDs(f.pids)
	sub := &subscription{s: s, leader: leader, cluster: f.cluster,
		events:   make(chan streamed, 1024),
		wantPIDs: make(chan struct{}, 1),
		gotPIDs:  make(chan map[string]state.PID, 1),
		throttle: time.NewTimer(time.Hour),
		recheck:  time.NewTimer(time.Hour),
	}
	sub.throttle.Stop()
	sub.recheck.Stop()
	return sub
}

// readEvents reads s's events into events until the stream ends (the error is the last
// thing sent) or ctx does.
func readEvents(ctx context.Context, s *master.Stream, events chan<- streamed) {
	for {
		ev, err := s.Next()
		select {
		case events <- streamed{ev, err, time.Now()}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// fetchPIDs fetches the scheduler pids, which the v1 API lacks, from base's
// /master/state-summary each time want asks, at most once a second, until ctx ends.
func fetchPIDs(ctx context.Context, client *master.Client, base *url.URL, want <-chan struct{}, got chan<- map[string]state.PID) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-want:
		}
		if pids, err := client.FrameworkPIDs(ctx, base); err == nil {
			select {
			case got <- pids:
			case <-ctx.Done():
				return
			}
		}
		if !sleep(ctx, time.Second) {
			return
		}
	}
}

// applyStream applies the stream's SUBSCRIBED (first, which arrived at start), then its
// events, until it ends: it returns why.
func (m *Mesos) applyStream(ctx context.Context, sub *subscription, first *state.Event, start time.Time) error {
	m.follower.metrics.events.WithLabelValues(eventLabel(first.Type)).Inc()
	sub.cluster.Apply(first)
	m.publishStream(ctx, sub, start, true)
	sub.wantPIDs <- struct{}{}
	resync := time.NewTimer(jitter(m.cfg.resync))
	defer resync.Stop()
	for {
		select {
		case it := <-sub.events:
			if err := m.applyEvent(ctx, sub, it); err != nil {
				return err
			}
		case <-sub.throttle.C:
			m.publishPending(ctx, sub)
		case pids := <-sub.gotPIDs:
			m.follower.pids = pids
			if sub.cluster.SetPIDs(pids) {
				m.publishStream(ctx, sub, time.Now(), false)
			}
		case <-sub.recheck.C:
			if m.follower.held.drop {
				// A large drop held back: the second look asks the master again (a
				// new snapshot), not the copy that showed it.
				return errSecondLook
			}
			m.publishStream(ctx, sub, time.Time{}, false)
		case <-m.zk.changed:
			if m.zkNamesOther(sub.s.URL.Host) {
				return errLeaderChange
			}
		case <-resync.C:
			return errResync
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// applyEvent applies one event of the stream to the cluster, or returns the error that
// ends the stream. What has queued up (a burst, or what came during the last build) is
// applied whole, for at most coalesce, then published once, no sooner than ready.
func (m *Mesos) applyEvent(ctx context.Context, sub *subscription, it streamed) error {
	if it.err != nil {
		return it.err
	}
	mx := m.follower.metrics
	m.lastOK.Store(it.at.UnixNano())
	mx.lastSuccess.Set(float64(it.at.Unix()))
	mx.events.WithLabelValues(eventLabel(it.ev.Type)).Inc()
	if it.ev.Type == state.EventSubscribed {
		return errors.New("a second SUBSCRIBED")
	}
	if sub.cluster.Apply(it.ev) && sub.pending.IsZero() {
		sub.pending, sub.batch = it.at, time.Now()
	}
	if it.ev.Type == state.EventFrameworkAdded || it.ev.Type == state.EventFrameworkUpdated {
		select {
		case sub.wantPIDs <- struct{}{}:
		default:
		}
	}
	if !sub.pending.IsZero() && (len(sub.events) == 0 || time.Since(sub.batch) > coalesce) {
		if now := time.Now(); now.Before(sub.ready) {
			sub.throttle.Reset(sub.ready.Sub(now))
			return nil
		}
		m.publishPending(ctx, sub)
	}
	return nil
}

// publishPending publishes the changes that wait, if any.
func (m *Mesos) publishPending(ctx context.Context, sub *subscription) {
	if !sub.pending.IsZero() {
		m.publishStream(ctx, sub, sub.pending, false)
		sub.pending = time.Time{}
	}
}

// publishStream hands what the stream changed since the last publication (whole: a
// whole state, the SUBSCRIBED's) to the records; arrived is when the first of it
// arrived, zero for none. When the records may not be published yet, or held tasks
// reach their bound, sub.recheck is set to look again (loaded's wait).
func (m *Mesos) publishStream(ctx context.Context, sub *subscription, arrived time.Time, whole bool) {
	f, cluster := &m.follower, sub.cluster
	began := time.Now()
	ch, all := cluster.Changes()
	var wait time.Duration
	switch {
	case cluster.Recovering() || f.held.keepsTasks():
		// A failover not over yet: the whole state goes through the failover
		// guard, which puts back the tasks of agents not back yet.
		wait = m.loaded(ctx, &master.Result{State: cluster.State(), Leader: sub.leader}, time.Since(arrived), whole)
	case all || whole || f.held.drop:
		// A whole state: the guard looks at how much it drops, the updater takes
		// what differs from what it has.
		all := cluster.All()
		wait = m.loadedAll(ctx, &all, &master.Result{State: &state.State{Leader: cluster.Leader, Skipped: cluster.Skipped}, Leader: sub.leader},
			time.Since(arrived), whole)
	default:
		m.loadedChanges(ctx, ch,
			&state.State{Leader: cluster.Leader, Skipped: cluster.Skipped}, sub.leader)
	}
	if !whole {
		// A whole state's publication is a build of everything, once: the events
		// after it are not made to wait for it.
		sub.ready = time.Now().Add((buildShare - 1) * time.Since(began))
	}
	if wait > 0 {
		sub.recheck.Reset(wait)
	}
	if wait == 0 && !arrived.IsZero() {
		f.metrics.eventLatency.Observe(time.Since(arrived).Seconds())
	}
}

// zkNamesOther says ZooKeeper names a leader other than host, the master a stream
// comes from.
func (m *Mesos) zkNamesOther(host string) bool {
	list := m.zk.masters.Load()
	if list == nil || len(*list) == 0 {
		return false
	}
	p := (*list)[0]
	return !strings.EqualFold(net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))), host)
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
