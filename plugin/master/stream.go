package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/go-json-experiment/json"
)

// ErrNoStream is a master without the v1 event stream, or one without heartbeats
// (before 1.5): it is polled instead.
var ErrNoStream = errors.New("no event stream")

// Heartbeat intervals a master's announcement is held to. Mesos sends one every 15 s,
// and three intervals of silence end a stream: a master that announced a billion
// seconds and fell silent would never be noticed, one that announced a millisecond
// would be cut at every pause.
const (
	minHeartbeat = time.Second
	maxHeartbeat = time.Minute
)

// heartbeat is the interval a master announced, held to the range above.
func heartbeat(seconds float64) time.Duration {
	if seconds >= maxHeartbeat.Seconds() {
		return maxHeartbeat
	}
	return max(time.Duration(seconds*float64(time.Second)), minHeartbeat)
}

// snapshotTimeouts bounds the SUBSCRIBED snapshot, in timeouts: the state it holds,
// plus the stream's set-up.
const snapshotTimeouts = 2

// ErrStalled ends a stream on which nothing, heartbeats included, came for three
// heartbeat intervals.
var ErrStalled = errors.New("the event stream stalled")

// Stream is a subscription to the leading master's event stream.
type Stream struct {
	// Leader is the master the stream comes from, as its API names it.
	Leader state.PID
	// URL is the base URL subscribed to.
	URL *url.URL
	// Heartbeat is the interval the master promised heartbeats at, held to 1 s-60 s.
	Heartbeat time.Duration
	// Bytes is the size of the SUBSCRIBED record, the snapshot (decompressed).
	Bytes int64

	rr     *RecordReader
	dec    state.EventDecoder
	body   io.ReadCloser
	cancel context.CancelFunc
	dog    *watchdog
}

// Subscribe opens the leading master's event stream and reads its first event, the
// SUBSCRIBED snapshot, which it returns. It asks the last known leader first (unless
// ZooKeeper names another), then each master, following redirects to the leader as
// Fetch does.
func (c *Client) Subscribe(ctx context.Context) (*Stream, *state.Event, error) {
	var errs []error
	ms, last := c.candidates()
	try := slices.Clone(ms)
	if last != nil {
		try = append([]*url.URL{last}, try...)
	}
	noStream := 0
	for _, base := range try {
		if ctx.Err() != nil {
			break
		}
		s, ev, err := c.subscribe(ctx, base)
		if err == nil {
			return s, ev, nil
		}
		if errors.Is(err, ErrNoStream) {
			noStream++
		}
		errs = append(errs, err)
	}
	if noStream > 0 && noStream == len(errs) {
		// Every master said so: poll them.
		return nil, nil, errors.Join(errs...)
	}
	// Some master could stream once it leads again: not ErrNoStream.
	errs = slices.DeleteFunc(errs, func(e error) bool { return errors.Is(e, ErrNoStream) })
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, nil, ErrNoMasters
	}
	return nil, nil, errors.Join(errs...)
}

func (c *Client) subscribe(ctx context.Context, base *url.URL) (*Stream, *state.Event, error) {
	seen := []string{base.Host}
	for range 4 {
		sctx, cancel := context.WithCancel(ctx)
		dog := newWatchdog(c.cfg.Timeout, cancel)
		resp, err := c.post(sctx, base.JoinPath("api", "v1"), `{"type":"SUBSCRIBE"}`)
		if err != nil {
			dog.stop()
			cancel()
			return nil, nil, fmt.Errorf("%s: %w", base.Host, err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
		case isRedirect(resp.StatusCode):
			drain(resp)
			dog.stop()
			cancel()
			next, err := c.redirected(resp, base)
			if err != nil {
				return nil, nil, err
			}
			if slices.Contains(seen, next.Host) {
				return nil, nil, fmt.Errorf("%s: %w: a redirect loop (%s → %s)", base.Host, ErrRedirects, strings.Join(seen, " → "), next.Host)
			}
			seen = append(seen, next.Host)
			base = next
			continue
		default:
			drain(resp)
			dog.stop()
			cancel()
			switch resp.StatusCode {
			case http.StatusNotFound, http.StatusUnsupportedMediaType, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotImplemented:
				return nil, nil, fmt.Errorf("%s: %w (%d)", base.Host, ErrNoStream, resp.StatusCode)
			case http.StatusServiceUnavailable:
				return nil, nil, fmt.Errorf("%s: %w (503)", base.Host, ErrNoLeader)
			}
			return nil, nil, fmt.Errorf("%s: SUBSCRIBE: %w %d", base.Host, ErrStatus, resp.StatusCode)
		}
		s := &Stream{URL: base, body: resp.Body, cancel: cancel, dog: dog}
		s.rr = NewRecordReader(&watched{r: resp.Body, dog: dog}, c.cfg.MaxBytes)
		// The watchdog sees a snapshot that trickles in as alive: the snapshot as a
		// whole is bounded too, as a state fetch is, so that the records never wait on
		// it for longer (the caller then polls).
		late := time.AfterFunc(snapshotTimeouts*c.cfg.Timeout, cancel)
		ev, err := s.Next()
		if !late.Stop() {
			s.Close()
			return nil, nil, fmt.Errorf("%s: %w: the SUBSCRIBED snapshot took longer than %v", base.Host, ErrStalled, snapshotTimeouts*c.cfg.Timeout)
		}
		if err != nil {
			s.Close()
			return nil, nil, fmt.Errorf("%s: %w", base.Host, err)
		}
		s.Bytes = s.rr.last
		if ev.Type != state.EventSubscribed {
			s.Close()
			return nil, nil, fmt.Errorf("%s: %w: the stream began with %s", base.Host, state.ErrEvent, ev.Type)
		}
		if hb := ev.Heartbeat; hb > 0 {
			s.Heartbeat = heartbeat(hb)
		} else {
			// Without heartbeats a dead stream cannot be told from a quiet one.
			s.Close()
			return nil, nil, fmt.Errorf("%s: %w: the master sends no heartbeats", base.Host, ErrNoStream)
		}
		dog.reset(3 * s.Heartbeat)
		s.Leader = c.masterPID(ctx, base)
		c.leader = base
		return s, ev, nil
	}
	return nil, nil, fmt.Errorf("%s: %w (%s)", base.Host, ErrRedirects, strings.Join(seen, " → "))
}

// Next returns the next event, decoded as its record arrives: no record is held whole,
// whatever length it announces. A record that does not decode ends the stream.
func (s *Stream) Next() (*state.Event, error) {
	rec, err := s.rr.NextReader()
	if err == nil {
		var ev *state.Event
		if ev, err = s.dec.Decode(rec); err == nil {
			return ev, nil
		}
	}
	if s.dog.fired() {
		return nil, ErrStalled
	}
	return nil, err
}

// Buffered reports whether more of the stream is already read: events of one burst are
// applied together before the records are published.
func (s *Stream) Buffered() bool { return s.rr.Buffered() }

// Close ends the stream.
func (s *Stream) Close() {
	s.dog.stop()
	s.cancel()
	s.body.Close()
}

// masterPID asks base who it is (GET_MASTER), for leader.D; when it cannot tell, the
// address subscribed to stands for it.
func (c *Client) masterPID(ctx context.Context, base *url.URL) state.PID {
	host, port, _ := net.SplitHostPort(base.Host)
	p, _ := strconv.ParseUint(port, 10, 16)
	fallback := state.PID{ID: "master", Host: host, Port: uint16(p)}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.post(ctx, base.JoinPath("api", "v1"), `{"type":"GET_MASTER"}`)
	if err != nil {
		return fallback
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fallback
	}
	var m struct {
		GetMaster struct {
			MasterInfo state.MasterInfo `json:"master_info"`
		} `json:"get_master"`
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return fallback
	}
	// The API's word wins: behind a proxy the address subscribed to is the proxy's.
	if pid, ok := m.GetMaster.MasterInfo.PID(); ok {
		return pid
	}
	return fallback
}

func (c *Client) post(ctx context.Context, u *url.URL, body string) (*http.Response, error) {
	return c.do(ctx, http.MethodPost, u, body)
}

// watchdog cancels a stream on which nothing arrives for its interval.
type watchdog struct {
	mu   sync.Mutex
	t    *time.Timer
	d    time.Duration
	fire bool
}

func newWatchdog(d time.Duration, cancel func()) *watchdog {
	w := &watchdog{d: d}
	w.t = time.AfterFunc(d, func() {
		w.mu.Lock()
		w.fire = true
		w.mu.Unlock()
		cancel()
	})
	return w
}

func (w *watchdog) reset(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d > 0 {
		w.d = d
	}
	if !w.fire {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) stop() { w.t.Stop() }

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fire
}

// watched resets the watchdog on every byte that arrives: a large snapshot that is
// still coming is not a stalled stream.
type watched struct {
	r   io.Reader
	dog *watchdog
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.dog.reset(0)
	}
	return n, err
}

// FrameworkPIDs returns the scheduler pid of each framework from base's
// /master/state-summary (no tasks, so it is small; decoded as it arrives all the
// same): the v1 API has no scheduler pids, which _framework._tcp.F.D needs.
func (c *Client) FrameworkPIDs(ctx context.Context, base *url.URL) (map[string]state.PID, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.get(ctx, base.JoinPath("master", "state-summary"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base.Host, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: state-summary: %w %d", base.Host, ErrStatus, resp.StatusCode)
	}
	// Read as the state is: it has the same shape, and the same bounds hold.
	body := &limitReader{r: resp.Body, left: c.cfg.MaxBytes}
	st, err := state.Decode(body)
	if body.over {
		return nil, fmt.Errorf("%s: state-summary: %w (%d bytes)", base.Host, ErrTooLarge, c.cfg.MaxBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: state-summary: %w: %w", base.Host, ErrDecode, err)
	}
	pids := make(map[string]state.PID, len(st.Frameworks))
	for _, f := range st.Frameworks {
		if !f.PID.IsZero() {
			pids[f.ID] = f.PID
		}
	}
	return pids, nil
}
