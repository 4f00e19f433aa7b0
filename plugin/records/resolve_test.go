package records

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeResolver answers from a map and counts lookups; names not in it fail.
type fakeResolver struct {
	addrs map[string][]netip.Addr
	delay time.Duration
	mu    sync.Mutex
	calls int
}

func (f *fakeResolver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if a, ok := f.addrs[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestHostCacheBudget(t *testing.T) {
	r := &fakeResolver{delay: time.Hour}
	hc := NewHostCache(r)
	hc.budget = 50 * time.Millisecond
	start := time.Now()
	got := hc.Resolve(context.Background(), []string{"a.example", "b.example"})
	if len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("resolve ignored its budget")
	}
}

func TestHostCacheBound(t *testing.T) {
	r := &fakeResolver{addrs: map[string][]netip.Addr{}}
	hc := NewHostCache(r)
	hc.max = 10
	names := make([]string, 0, 50)
	for i := range 50 {
		n := fmt.Sprintf("h%d.example", i)
		r.addrs[n] = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})}
		names = append(names, n)
	}
	got := hc.Resolve(context.Background(), names)
	if len(got) != 50 {
		t.Fatalf("resolved %d of 50", len(got))
	}
	if len(hc.m) > 10 {
		t.Fatalf("cache holds %d entries, bound is 10", len(hc.m))
	}
}
