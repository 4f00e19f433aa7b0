// Command coredns is CoreDNS v1.15.0 with the mesos plugin and a lean set of the
// standard plugins compiled in.
package main

import (
	"slices"

	_ "github.com/coredns-mesos/mesos"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/any"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/dnssec"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/root"
	_ "github.com/coredns/coredns/plugin/secondary"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/transfer"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// directives is CoreDNS's own order, cut to the plugins linked above, with mesos where
// plugin.cfg would put it: after etcd, before forward.
var directives = func() []string {
	linked := []string{"root", "metadata", "reload", "bind", "debug", "ready", "health", "pprof", "prometheus",
		"errors", "log", "dnstap", "any", "loadbalance", "rewrite", "cache", "dnssec", "template", "transfer", "hosts",
		"file", "secondary", "mesos", "loop", "forward", "whoami"}
	var out []string
	for _, d := range dnsserver.Directives {
		if slices.Contains(linked, d) {
			out = append(out, d)
		}
		if d == "etcd" {
			out = append(out, "mesos")
		}
	}
	return out
}()

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
