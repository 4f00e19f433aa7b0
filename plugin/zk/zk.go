// Package zk finds the Mesos masters in ZooKeeper: each master holds an ephemeral
// sequential znode under the cluster's path (json.info_0000000017, its MasterInfo as
// JSON), and the lowest sequence number leads. It knows nothing of DNS or CoreDNS.
//
// It is a part of the mesos CoreDNS plugin (github.com/coredns-mesos/mesos) and
// registers nothing with CoreDNS.
package zk

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"

	"github.com/go-json-experiment/json"
	"github.com/go-zookeeper/zk"
)

// Detector watches a Mesos cluster's path in ZooKeeper. It never gives up: while
// ZooKeeper is unreachable it retries with backoff and the last list stands.
type Detector struct {
	// Servers are the ensemble's host:port; any one member will do.
	Servers []string
	// Path is the cluster's znode, such as /mesos.
	Path string
	// Auth, when set, is "user:password" for digest authentication.
	Auth []byte
	// SessionTimeout is ZooKeeper's session timeout (10 s when zero).
	SessionTimeout time.Duration
	// OnChange is called with the masters in election order, the leader first, each
	// time that list changes.
	OnChange func([]state.PID)
	// OnSession is called when the session is gained (true) or lost (false).
	OnSession func(bool)
	// Logf logs what an operator should know.
	Logf func(format string, args ...any)
}

const prefix = "json.info_"

// Run watches until ctx ends.
func (d *Detector) Run(ctx context.Context) {
	timeout := d.SessionTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	backoff := 500 * time.Millisecond
	var last []state.PID
	for ctx.Err() == nil {
		conn, events, err := zk.Connect(d.Servers, timeout, zk.WithLogger(quiet{}))
		if err == nil {
			if d.Auth != nil {
				err = conn.AddAuth("digest", d.Auth)
			}
			if err == nil {
				var ok bool
				if last, ok = d.session(ctx, conn, events, last); ok {
					backoff = 500 * time.Millisecond
				}
			}
			conn.Close()
		}
		if err != nil {
			d.logf("ZooKeeper %s: %v", strings.Join(d.Servers, ","), err)
		}
		if !sleep(ctx, backoff+time.Duration(rand.Int64N(int64(backoff)/2+1))) { // #nosec G404 -- jitter
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// session follows one ZooKeeper session until it expires; ok reports that it had one.
func (d *Detector) session(ctx context.Context, conn *zk.Conn, events <-chan zk.Event, last []state.PID) (_ []state.PID, ok bool) {
	connected := false
	setConnected := func(c bool) {
		if c != connected && d.OnSession != nil {
			d.OnSession(c)
		}
		connected = c
	}
	defer setConnected(false)
	var watch <-chan zk.Event
	for {
		if connected && watch == nil {
			list, w, err := d.read(conn)
			switch {
			case err != nil:
				d.logf("ZooKeeper %s: %v", d.Path, err)
			case !slices.Equal(list, last):
				last = list
				if d.OnChange != nil {
					d.OnChange(slices.Clone(list))
				}
			}
			watch = w
		}
		retry := time.After(time.Second)
		if watch != nil || !connected {
			retry = nil
		}
		select {
		case <-ctx.Done():
			return last, ok
		case ev, open := <-events:
			if !open {
				return last, ok
			}
			switch ev.State {
			case zk.StateHasSession:
				ok = true
				setConnected(true)
				watch = nil // read again: changes may have happened meanwhile
			case zk.StateExpired:
				d.logf("ZooKeeper session expired: reconnecting")
				return last, ok
			case zk.StateDisconnected, zk.StateConnecting:
				setConnected(false)
			}
		case <-watch:
			watch = nil
		case <-retry:
		}
	}
}

// read lists the masters in election order and sets a watch on the path's children
// (or on the path itself while it does not exist).
func (d *Detector) read(conn *zk.Conn) ([]state.PID, <-chan zk.Event, error) {
	children, _, watch, err := conn.ChildrenW(d.Path)
	if errors.Is(err, zk.ErrNoNode) {
		// No master has registered yet: watch for the path to appear, unless it did
		// just now.
		var exists bool
		var ew <-chan zk.Event
		if exists, _, ew, err = conn.ExistsW(d.Path); err != nil || !exists {
			return nil, ew, err
		}
		children, _, watch, err = conn.ChildrenW(d.Path)
	}
	if err != nil {
		return nil, nil, err
	}
	type member struct {
		seq uint64
		pid state.PID
	}
	var members []member
	for _, c := range children {
		// Other children (log_replicas, older masters' protobuf info_) are no masters.
		seq, err := strconv.ParseUint(strings.TrimPrefix(c, prefix), 10, 64)
		if !strings.HasPrefix(c, prefix) || err != nil {
			continue
		}
		data, _, err := conn.Get(d.Path + "/" + c)
		if errors.Is(err, zk.ErrNoNode) {
			continue // gone since the listing: the watch will tell
		}
		if err != nil {
			return nil, nil, err
		}
		var info state.MasterInfo
		if err := json.Unmarshal(data, &info); err != nil {
			d.logf("ZooKeeper %s/%s: not a MasterInfo: %v", d.Path, c, err)
			continue
		}
		pid, ok := info.PID()
		if !ok {
			d.logf("ZooKeeper %s/%s: MasterInfo without a usable address", d.Path, c)
			continue
		}
		members = append(members, member{seq, pid})
	}
	slices.SortFunc(members, func(a, b member) int { return cmp.Compare(a.seq, b.seq) })
	list := make([]state.PID, 0, len(members))
	for _, m := range members {
		list = append(list, m.pid)
	}
	return list, watch, nil
}

func (d *Detector) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
