package records

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// Resolver looks up a host name's addresses; *net.Resolver is one, tests inject fakes.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// HostCache resolves the host names that Mesos puts where an address is expected
// (agent and framework pids, masters). Lookups run concurrently under a per-lookup
// timeout and an overall budget, so a dead resolver delays a refresh by at most the
// budget; answers, failures included, are cached so the next refresh does not wait.
type HostCache struct {
	r       Resolver
	ttl     time.Duration
	negTTL  time.Duration
	timeout time.Duration
	budget  time.Duration
	max     int
	now     func() time.Time

	mu sync.Mutex
	m  map[string]hostEntry
}

type hostEntry struct {
	addrs []netip.Addr
	exp   time.Time
}

// NewHostCache returns a cache over r (the system resolver when r is nil).
func NewHostCache(r Resolver) *HostCache {
	if r == nil {
		r = net.DefaultResolver
	}
	return &HostCache{
		r:       r,
		ttl:     5 * time.Minute,
		negTTL:  30 * time.Second,
		timeout: time.Second,
		budget:  2 * time.Second,
		max:     10000,
		now:     time.Now,
		m:       make(map[string]hostEntry),
	}
}

// Resolve returns the addresses of each name; a name that cannot be resolved in time is
// absent from the result.
func (c *HostCache) Resolve(ctx context.Context, names []string) map[string][]netip.Addr {
	out := make(map[string][]netip.Addr, len(names))
	if len(names) == 0 {
		return out
	}
	now := c.now()
	var miss []string
	seen := make(map[string]bool, len(names))
	c.mu.Lock()
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if e, ok := c.m[n]; ok && now.Before(e.exp) {
			if len(e.addrs) > 0 {
				out[n] = e.addrs
			}
			continue
		}
		miss = append(miss, n)
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out
	}

	ctx, cancel := context.WithTimeout(ctx, c.budget)
	defer cancel()
	type result struct {
		name  string
		addrs []netip.Addr
		err   error
	}
	work := make(chan string)
	results := make(chan result, len(miss))
	workers := min(8, len(miss))
	for range workers {
		go func() {
			for n := range work {
				lctx, lcancel := context.WithTimeout(ctx, c.timeout)
				addrs, err := c.r.LookupNetIP(lctx, "ip", n)
				lcancel()
				results <- result{n, usable(addrs), err}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, n := range miss {
			select {
			case work <- n:
			case <-ctx.Done():
				return
			}
		}
	}()

	got := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for got < len(miss) {
		var r result
		select {
		case r = <-results:
		case <-ctx.Done():
			// Out of budget: the names still pending are left out of this build.
			return out
		}
		got++
		e := hostEntry{addrs: r.addrs, exp: now.Add(c.ttl)}
		if r.err != nil || len(r.addrs) == 0 {
			e.exp = now.Add(c.negTTL)
			// A failing resolver should not erase a name it resolved before.
			if old, ok := c.m[r.name]; ok && len(old.addrs) > 0 {
				e.addrs = old.addrs
			} else {
				e.addrs = nil
			}
		}
		c.store(r.name, e, now)
		if len(e.addrs) > 0 {
			out[r.name] = e.addrs
		}
	}
	return out
}

func usable(in []netip.Addr) []netip.Addr {
	out := in[:0:0]
	for _, a := range in {
		if a = a.Unmap().WithZone(""); state.Usable(a) {
			out = append(out, a)
		}
	}
	return out
}

// store keeps the cache within its bound: expired entries go first, then any.
func (c *HostCache) store(name string, e hostEntry, now time.Time) {
	if _, ok := c.m[name]; !ok && len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.exp) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[name] = e
}
