package mesos

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/plugin/api"
	"github.com/coredns/caddy"

	"github.com/prometheus/client_golang/prometheus"
)

// The HTTP API (plugin/api): Mesos-DNS's read-only endpoints, with Consul-style
// blocking queries on the name endpoints. It serves what AXFR would: bind it to
// loopback or a trusted network. This file starts and stops it for the block.

// startAPI listens on the block's http address; the refresh goroutine hands each new
// set to the API. Its error names the Corefile's line, the option and the address,
// as the API's others do. Called with m.life.mu held.
func (m *Mesos) startAPI() error {
	if m.cfg.http == "" || m.httpAPI.Load() != nil {
		return nil
	}
	ln, err := net.Listen("tcp", m.cfg.http)
	if err != nil {
		return fmt.Errorf("%s: http %s: %w", m.cfg.httpAt, m.cfg.http, err)
	}
	m.serveAPI(ln, api.ZoneStall)
	return nil
}

// serveAPI serves the API on ln, which it closes when the API stops; stall bounds each
// write of a whole-zone answer. Called with m.life.mu held.
func (m *Mesos) serveAPI(ln net.Listener, stall time.Duration) {
	block := prometheus.Labels{"server": m.key.server, "zone": m.Zones[0]}
	refused := httpRefused.MustCurryWith(block)
	a := api.Serve(ln, api.Config{
		Zones: m.cfg.opts.Zones, Enumerate: m.cfg.enumerate, MaxWatches: m.cfg.maxWatches,
		Refresh: m.cfg.refresh, Stall: stall, Version: caddy.AppVersion, Config: m.cfg.apiJSON(),
		Records: &m.set, Updater: m.life.updater,
		Refused: func(reason string) { refused.WithLabelValues(reason).Inc() },
		Watches: httpWatches.With(block),
		Errorf:  log.Errorf,
	})
	m.httpAPI.Store(a)
	// The refresh goroutine may have published since Serve read the records (a failed
	// reload restarts the API while it runs).
	a.Sync()
}

// stopAPI answers the open watches, closes the listener and waits for the requests
// under way. Called with m.life.mu held.
func (m *Mesos) stopAPI() {
	if a := m.httpAPI.Swap(nil); a != nil {
		a.Close()
	}
}

// apiJSON is /v1/config: the block's effective options, named as Mesos-DNS names its
// own where it has them. Secrets never appear.
func (c *config) apiJSON() api.ConfigJSON {
	o := &c.opts
	out := api.ConfigJSON{
		Zones: o.Zones, Domain: strings.TrimSuffix(o.Zones[0], "."),
		RefreshSeconds: c.refresh.Seconds(), TimeoutSeconds: c.timeout.Seconds(), Mode: c.mode,
		ResyncSeconds: c.resync.Seconds(), AgentReregisterSeconds: c.reregister.Seconds(), MaxStateSize: c.maxBytes,
		TTL: o.TTL, SOAMname: o.SOA.Mname, SOARname: o.SOA.Mbox, SOARefresh: o.SOA.Refresh, SOARetry: o.SOA.Retry,
		SOAExpire: o.SOA.Expire, SOAMinttl: o.SOA.Minimum, IPSources: o.IPSources, EnforceRFC952: o.RFC952,
		CompatNames: o.CompatNames, HealthyOnly: o.HealthyOnly, SRVRecordDefaultWeight: o.SRVWeight,
		MaxSRVPerTask: o.MaxTaskSRV, InsecureSkipVerify: c.insecure, HTTPListener: c.http,
		EnumerationOn: c.enumerate, MaxWatches: c.maxWatches,
	}
	if out.SOAMname == "" {
		out.SOAMname = "ns1." + o.Zones[0]
	}
	if out.SOARname == "" {
		out.SOARname = "root.ns1." + o.Zones[0]
	}
	for _, u := range c.masters {
		// A URL's user info is a credential: never shown.
		out.Masters = append(out.Masters, u.Scheme+"://"+u.Host+u.Path)
		out.MesosHTTPSOn = out.MesosHTTPSOn || u.Scheme == "https"
	}
	if c.zk != nil {
		out.Zk = "zk://" + strings.Join(c.zk.servers, ",") + c.zk.path
		out.ZkAuthentication = c.zk.auth != nil
	}
	if c.principal != "" {
		out.MesosAuthentication = "basic"
		out.MesosCredentials = &struct{ Principal string }{c.principal}
	}
	return out
}
