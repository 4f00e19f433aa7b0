package api

import (
	"bytes"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
)

// hub keeps, for each name the HTTP API was asked about, its answer and the serial at
// which that answer last changed (its index), and wakes the requests that wait on
// it. A publication looks only at the names the batch touched: a change to one name
// costs the watchers of other names nothing, not even a wake-up. It computes again
// only the answers someone waits on, to wake them; the others it marks stale, for the
// next request to compute, so that the refresh goroutine's cost follows what changed
// and what is watched, not every name ever asked for.
type hub struct {
	mu      sync.Mutex
	cur     *records.Set
	entries map[watchKey]*watched
	// deps lists, by relative name, the entries whose answer reads that name: its
	// own, and an SRV answer's targets.
	deps map[string]map[*watched]struct{}
	open int // requests waiting now
	max  int // bound on open
	// keep bounds the entries: past it, those nobody waits on are dropped, at least
	// keep-max of them at a time.
	keep   int
	closed chan struct{}
	done   bool
	// gauge follows open, when set.
	gauge interface{ Set(float64) }
}

// watchKey is a name as the records index it, lower-cased and relative to its zone:
// every spelling of a name shares one entry.
type watchKey struct {
	kind byte // 'h' hosts, 's' services
	zone string
	rel  string
}

// watched is one name's answer as the hub last computed it. A services answer leaves
// each entry's service empty: it is the name as each client spelled it, filled in as
// the answer is written (writeAnswer).
type watched struct {
	key   watchKey
	index uint32
	found bool
	body  []byte
	reads []string
	// stale says a publication may have changed the answer: it is computed again
	// before it is next given. Only an entry nobody waits on is left stale.
	stale    bool
	changed  chan struct{} // closed when the answer changes, then made anew
	watchers int
}

func newHub(maxWatches int) *hub {
	return &hub{
		entries: make(map[watchKey]*watched),
		deps:    make(map[string]map[*watched]struct{}),
		max:     maxWatches,
		// Room for 4096 entries beyond the watched ones: an eviction, which reads
		// every entry, is paid for by at least 4096 new names.
		keep:   maxWatches + 4096,
		closed: make(chan struct{}),
	}
}

// errTooMany is returned by wait when the bound on open watches is reached.
type errTooMany struct{}

func (errTooMany) Error() string { return "too many open watches" }

// get returns the entry for k, computing it from the current set if it is new or
// stale. Called with h.mu held.
func (h *hub) get(k watchKey) *watched {
	if e := h.entries[k]; e != nil {
		if e.stale {
			h.refresh(e, h.cur)
		}
		return e
	}
	if len(h.entries) >= h.keep {
		h.evict()
	}
	found, body, reads := answer(h.cur, k)
	e := &watched{key: k, index: h.cur.Serial(), found: found, body: body, reads: reads, changed: make(chan struct{})}
	h.entries[k] = e
	h.link(e)
	return e
}

func (h *hub) link(e *watched) {
	for _, n := range e.reads {
		d := h.deps[n]
		if d == nil {
			d = make(map[*watched]struct{}, 1)
			h.deps[n] = d
		}
		d[e] = struct{}{}
	}
}

func (h *hub) unlink(e *watched) {
	for _, n := range e.reads {
		if d := h.deps[n]; d != nil {
			delete(d, e)
			if len(d) == 0 {
				delete(h.deps, n)
			}
		}
	}
}

// evict drops the entries nobody waits on: the next request for one computes it
// anew, with the current serial as its index, so a client holding an older index is
// answered at once (a return that does not promise a change, as Consul's).
func (h *hub) evict() {
	for k, e := range h.entries {
		if e.watchers == 0 {
			h.unlink(e)
			delete(h.entries, k)
		}
	}
}

// reply is what a name request is answered: whether the name exists, the body, and
// its index.
type reply struct {
	found bool
	body  []byte
	index uint32
}

// lookup answers k at once, or records.ErrNoRecords while there is no set.
func (h *hub) lookup(k watchKey) (reply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return reply{}, records.ErrNoRecords
	}
	e := h.get(k)
	return reply{e.found, e.body, e.index}, nil
}

// wait answers k once its index differs from index, or when expired or stop is
// closed (a client gone, the wait over), or the hub is closed. An index other than
// the entry's (older, from the future, from before a restart) is answered at once.
func (h *hub) wait(k watchKey, index uint32, expired <-chan time.Time, stop <-chan struct{}) (reply, error) {
	h.mu.Lock()
	if h.cur == nil {
		h.mu.Unlock()
		return reply{}, records.ErrNoRecords
	}
	e := h.get(k)
	if e.index != index || h.done {
		s := reply{e.found, e.body, e.index}
		h.mu.Unlock()
		return s, nil
	}
	if h.open >= h.max {
		h.mu.Unlock()
		return reply{}, errTooMany{}
	}
	h.open++
	h.report()
	e.watchers++
	ch := e.changed
	h.mu.Unlock()
	select {
	case <-ch:
	case <-expired:
	case <-stop:
	case <-h.closed:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open--
	h.report()
	e.watchers--
	return reply{e.found, e.body, e.index}, nil
}

// published takes the set just published. touched are the relative names the batches
// since the last set changed (a whole build touches every name): only the entries
// that read one of them may have changed. Those with watchers are computed again, and
// only those whose answer differs wake; the others are marked stale.
func (h *hub) published(s *records.Set, touched []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return
	}
	h.cur = s
	if len(h.entries) == 0 {
		return
	}
	var recompute map[*watched]struct{}
	for _, n := range touched {
		for e := range h.deps[n] {
			if e.watchers == 0 {
				e.stale = true
				continue
			}
			if recompute == nil {
				recompute = make(map[*watched]struct{})
			}
			recompute[e] = struct{}{}
		}
	}
	for e := range recompute {
		h.refresh(e, s)
	}
}

// refresh computes e again from s and, when its answer changed, gives it s's serial
// and wakes its watchers. An answer computed late (stale until asked for) takes the
// serial of the set it was computed from: later than the change, which is allowed,
// as the index only has to differ when the answer does.
func (h *hub) refresh(e *watched, s *records.Set) {
	e.stale = false
	found, body, reads := answer(s, e.key)
	if found == e.found && bytes.Equal(body, e.body) {
		// The same answer reads the same names: an SRV answer names its targets.
		return
	}
	h.unlink(e)
	e.found, e.body, e.reads = found, body, reads
	h.link(e)
	e.index = s.Serial()
	close(e.changed)
	e.changed = make(chan struct{})
}

func (h *hub) report() {
	if h.gauge != nil {
		h.gauge.Set(float64(h.open))
	}
}

// close answers every open watch with what it has, and makes later ones answer at
// once: the listener is going (shutdown, reload).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done {
		h.done = true
		close(h.closed)
	}
}

// watching is the number of requests waiting now.
func (h *hub) watching() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open
}
