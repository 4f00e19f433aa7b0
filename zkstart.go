package mesos

import (
	"context"
	"time"
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
