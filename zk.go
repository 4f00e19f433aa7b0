package mesos

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// zkGrace is how long a start waits for ZooKeeper to name the masters before it says
// that it has not: ZooKeeper's own session timeout.
const zkGrace = 10 * time.Second

// awaitZooKeeper waits, on a block that finds its masters in ZooKeeper, until ZooKeeper
// has named them once: until then there is no master to ask, and a refresh could only
// fail, which a healthy start is not. It reports false when ctx ended first.
func (m *Mesos) awaitZooKeeper(ctx context.Context) bool {
	if m.cfg.zk == nil {
		return true
	}
	late := time.NewTimer(zkGrace)
	defer late.Stop()
	for m.zk.masters.Load() == nil {
		select {
		case <-ctx.Done():
			return false
		case <-m.zk.changed:
		case <-late.C:
			logf := log.Warningf
			if m.set.Load() == nil {
				logf = log.Errorf
			}
			logf("ZooKeeper %s has named no master after %v (zookeeper_connected says whether its session is up), %s until it does",
				m.cfg.zk.path, zkGrace, m.serving("the records handed over"))
		}
	}
	return true
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

// zkSession reports the detector's ZooKeeper session established or lost.
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
