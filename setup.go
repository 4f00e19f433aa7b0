package mesos

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/internal/master"
	"github.com/coredns-mesos/mesos/internal/state"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	ctls "github.com/coredns/coredns/plugin/pkg/tls"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// pluginName is the plugin's name: its Corefile directive, its logs' and errors' prefix.
const pluginName = "mesos"

func init() { plugin.Register(pluginName, setup) }

// config is one parsed mesos block.
type config struct {
	opts      Options
	masters   []*url.URL
	refresh   time.Duration
	timeout   time.Duration
	maxBytes  int64
	tls       *tls.Config
	insecure  bool
	principal string
	secret    string
	// zk, when set, finds the masters in ZooKeeper instead of masters.
	zk *zkConfig
	// mode is auto, stream or poll; resync bounds one stream; reregister bounds how
	// long the tasks of an agent that has not re-registered after a failover are kept.
	mode       string
	resync     time.Duration
	reregister time.Duration
	// http is the HTTP API's listen address, empty when it is off; enumerate turns on
	// its whole-zone endpoints; maxWatches bounds its open blocking queries.
	http       string
	enumerate  bool
	maxWatches int
	// notifyInterval spaces the NOTIFY rounds to the secondaries.
	notifyInterval time.Duration
}

const (
	defaultRefresh  = 30 * time.Second
	defaultTimeout  = 10 * time.Second
	defaultMaxBytes = 512 << 20
	defaultPort     = "5050"
	// A re-subscription every 5 minutes bounds the life of a missed event, for a tenth
	// of what polling every 30 s costs the master.
	defaultResync     = 5 * time.Minute
	defaultReregister = 10 * time.Minute
	// One NOTIFY round a second at most: each may make a secondary pull the whole zone.
	defaultNotifyInterval = time.Second
)

func setup(c *caddy.Controller) error {
	m, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	cfg := dnsserver.GetConfig(c)
	m.key = handoffKey{zones: strings.Join(m.Zones, ","), server: serverAddr(cfg)}
	m.bind = cfg.ListenHosts
	// Background work starts with the server, not here: a reload whose Corefile fails
	// later would otherwise leak it.
	c.OnStartup(func() error {
		// The transfer plugin's handle exists once the chain is built: the zone's
		// secondaries are sent NOTIFY when the serial changes.
		if h := cfg.Handler("transfer"); h != nil {
			m.xfer, _ = h.(*transfer.Transfer)
		}
		return nil
	})
	c.OnStartup(m.start)
	c.OnShutdown(m.stop)
	c.OnRestart(m.restarting)
	c.OnRestartFailed(m.restartFailed)
	cfg.AddPlugin(func(next plugin.Handler) plugin.Handler {
		m.Next = next
		return m
	})
	return nil
}

// serverAddr names a server block's first listener the way CoreDNS's own metrics
// label it ("dns://:53").
func serverAddr(cfg *dnsserver.Config) string {
	host := ""
	if len(cfg.ListenHosts) > 0 {
		host = cfg.ListenHosts[0]
	}
	transport := cfg.Transport
	if transport == "" {
		transport = "dns"
	}
	return transport + "://" + net.JoinHostPort(host, cfg.Port)
}

func parse(c *caddy.Controller) (*Mesos, error) {
	m := &Mesos{}
	cfg := &config{
		opts:       DefaultOptions(),
		refresh:    defaultRefresh,
		timeout:    defaultTimeout,
		maxBytes:   defaultMaxBytes,
		mode:       modeAuto,
		resync:     defaultResync,
		reregister: defaultReregister,
		maxWatches: defaultMaxWatches,

		notifyInterval: defaultNotifyInterval,
	}
	m.cfg = cfg
	var tlsCfg *tls.Config
	tlsSet, timeoutSet, watchesSet, serverName := false, false, false, ""
	root := dnsserver.GetConfig(c).Root
	var zkAuth []byte
	blocks := 0
	for c.Next() {
		if blocks++; blocks > 1 {
			return nil, plugin.ErrOnce
		}
		zones, err := zonesFrom(c, c.RemainingArgs(), c.ServerBlockKeys)
		if err != nil {
			return nil, err
		}
		m.Zones = zones
		cfg.opts.Zones, cfg.opts.ReverseZones = splitZones(zones)
		if len(cfg.opts.Zones) == 0 {
			return nil, c.Errf("reverse zones %v need a forward zone in the block: their PTR records name tasks there", zones)
		}
		seen := map[string]bool{}
		for c.NextBlock() {
			opt := c.Val()
			if seen[opt] && opt != "fallthrough" {
				return nil, c.Errf("%s given twice", opt)
			}
			seen[opt] = true
			args := c.RemainingArgs()
			switch opt {
			case "masters":
				if len(args) == 0 {
					return nil, c.Errf("masters needs at least one URL")
				}
				for _, a := range args {
					if strings.HasPrefix(strings.ToLower(a), "zk://") {
						if len(args) > 1 {
							return nil, c.Errf("masters: %s: ZooKeeper names the masters, list nothing beside it", master.RedactURL(a))
						}
						z, err := zkURL(a)
						if err != nil {
							return nil, c.Errf("masters: %v", err)
						}
						cfg.zk = z
						continue
					}
					u, err := masterURL(a)
					if err != nil {
						return nil, c.Errf("masters: %v", err)
					}
					cfg.masters = append(cfg.masters, u)
				}
			case "refresh", "timeout", "resync", "agent_reregister_timeout", "notify_interval":
				d, err := duration(c, opt, args)
				if err != nil {
					return nil, err
				}
				switch opt {
				case "refresh":
					cfg.refresh = d
				case "timeout":
					cfg.timeout, timeoutSet = d, true
				case "resync":
					cfg.resync = d
				case "agent_reregister_timeout":
					cfg.reregister = d
				case "notify_interval":
					cfg.notifyInterval = d
				}
			case "mode":
				if len(args) != 1 || (args[0] != modeAuto && args[0] != modeStream && args[0] != modePoll) {
					return nil, c.Errf("mode needs auto, stream or poll")
				}
				cfg.mode = args[0]
			case "max_state_size":
				if len(args) != 1 {
					return nil, c.Errf("max_state_size needs one size, such as 256MiB")
				}
				n, err := parseSize(args[0])
				if err != nil {
					return nil, c.Errf("max_state_size: %v", err)
				}
				cfg.maxBytes = n
			case "ttl", "soa_refresh", "soa_retry", "soa_expire", "soa_minttl":
				v, err := seconds(c, opt, args)
				if err != nil {
					return nil, err
				}
				switch opt {
				case "ttl":
					cfg.opts.TTL = v
				case "soa_refresh":
					cfg.opts.SOA.Refresh = v
				case "soa_retry":
					cfg.opts.SOA.Retry = v
				case "soa_expire":
					cfg.opts.SOA.Expire = v
				case "soa_minttl":
					cfg.opts.SOA.Minimum = v
				}
			case "soa_mname", "soa_rname":
				if len(args) != 1 {
					return nil, c.Errf("%s needs one domain name", opt)
				}
				name := args[0]
				if opt == "soa_rname" {
					// Accept the mail form too: hostmaster@example.org.
					if local, domain, ok := strings.Cut(name, "@"); ok {
						name = strings.ReplaceAll(local, ".", "\\.") + "." + domain
					}
				}
				name = dns.Fqdn(strings.ToLower(name))
				if _, ok := dns.IsDomainName(name); !ok {
					return nil, c.Errf("%s: %q is not a domain name", opt, args[0])
				}
				if opt == "soa_mname" {
					cfg.opts.SOA.Mname = name
				} else {
					cfg.opts.SOA.Mbox = name
				}
			case "ip_sources":
				if len(args) == 0 {
					return nil, c.Errf("ip_sources needs at least one of netinfo, mesos, docker, host")
				}
				cfg.opts.IPSources = nil
				for _, a := range args {
					s := IPSource(strings.ToLower(a))
					switch s {
					case SourceNetInfo, SourceMesos, SourceDocker, SourceHost:
					default:
						return nil, c.Errf("ip_sources: unknown source %q (netinfo, mesos, docker, host)", a)
					}
					if slices.Contains(cfg.opts.IPSources, s) {
						return nil, c.Errf("ip_sources: %s listed twice", s)
					}
					cfg.opts.IPSources = append(cfg.opts.IPSources, s)
				}
			case "http":
				if len(args) != 1 {
					return nil, c.Errf("http needs one address to listen on, such as 127.0.0.1:8123")
				}
				host, port, err := net.SplitHostPort(args[0])
				if err != nil {
					return nil, c.Errf("http: %q is not HOST:PORT: %v", args[0], err)
				}
				if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
					return nil, c.Errf("http: %q is not a port from 1 to 65535", port)
				}
				ip, err := netip.ParseAddr(host)
				if host != "" && err != nil {
					return nil, c.Errf("http: %q is not an IP address", host)
				}
				if !ip.IsLoopback() {
					log.Warningf("http %s is not a loopback address: the HTTP API serves what a zone transfer would to anyone who reaches it; keep it on a trusted network", args[0])
				}
				cfg.http = args[0]
			case "max_watches":
				if len(args) != 1 {
					return nil, c.Errf("max_watches needs one number")
				}
				n, err := strconv.ParseUint(args[0], 10, 31)
				if err != nil || n == 0 {
					return nil, c.Errf("max_watches: %q is not a positive number", args[0])
				}
				cfg.maxWatches, watchesSet = int(n), true
			case "rfc952", "healthy_only", "insecure_skip_verify", "http_enumerate":
				if len(args) != 0 {
					return nil, c.Errf("%s takes no arguments", opt)
				}
				switch opt {
				case "rfc952":
					cfg.opts.RFC952 = true
				case "healthy_only":
					cfg.opts.HealthyOnly = true
				case "insecure_skip_verify":
					cfg.insecure = true
				case "http_enumerate":
					cfg.enumerate = true
				}
			case "compat_names":
				if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
					return nil, c.Errf("compat_names needs on or off")
				}
				cfg.opts.CompatNames = args[0] == "on"
			case "srv_weight":
				if len(args) != 1 {
					return nil, c.Errf("srv_weight needs one number")
				}
				w, err := strconv.ParseUint(args[0], 10, 16)
				if err != nil {
					return nil, c.Errf("srv_weight: %q is not a number from 0 to 65535", args[0])
				}
				cfg.opts.SRVWeight = uint16(w)
			case "tls":
				if len(args) > 3 {
					return nil, c.Errf("tls takes [CERT KEY] [CA]")
				}
				for i := range args {
					args[i] = inRoot(root, args[i])
				}
				// Loaded here, so that a missing file is reported at this line.
				t, err := ctls.NewTLSConfigFromArgs(args...)
				if err != nil {
					return nil, c.Errf("tls: %v", err)
				}
				tlsCfg, tlsSet = t, true
			case "tls_servername":
				if len(args) != 1 {
					return nil, c.Errf("tls_servername needs one name")
				}
				serverName = args[0]
			case "basic_auth":
				if len(args) != 3 || (args[1] != "file" && args[1] != "env") {
					return nil, c.Errf("basic_auth needs PRINCIPAL file PATH, or PRINCIPAL env VARIABLE")
				}
				src := args[2]
				if args[1] == "file" {
					src = inRoot(root, src)
				}
				secret, err := readSecret(args[1], src)
				if err != nil {
					return nil, c.Errf("basic_auth: %v", err)
				}
				cfg.principal, cfg.secret = args[0], secret
			case "ns_addr":
				if len(args) == 0 {
					return nil, c.Errf("ns_addr needs at least one IP address")
				}
				for _, a := range args {
					ip, ok := state.ParseIP(a)
					if !ok {
						return nil, c.Errf("ns_addr: %q is not a usable IP address", a)
					}
					cfg.opts.NSAddrs = append(cfg.opts.NSAddrs, ip)
				}
			case "max_srv_per_task":
				if len(args) != 1 {
					return nil, c.Errf("max_srv_per_task needs one number")
				}
				n, err := strconv.ParseUint(args[0], 10, 31)
				if err != nil || n == 0 {
					return nil, c.Errf("max_srv_per_task: %q is not a positive number", args[0])
				}
				if n < 4 {
					// The bound takes whole ports: below one port's records, none.
					return nil, c.Errf("max_srv_per_task %d: must be at least 4, the SRV records one port makes (_task._tcp and _task._udp, each under F and F.slave); fewer would leave out every port", n)
				}
				cfg.opts.MaxTaskSRV = int(n)
			case "zk_auth":
				if len(args) != 3 || (args[1] != "file" && args[1] != "env") {
					return nil, c.Errf("zk_auth needs USER file PATH, or USER env VARIABLE")
				}
				src := args[2]
				if args[1] == "file" {
					src = inRoot(root, src)
				}
				secret, err := readSecret(args[1], src)
				if err != nil {
					return nil, c.Errf("zk_auth: %v", err)
				}
				zkAuth = []byte(args[0] + ":" + secret)
			case "fallthrough":
				m.Fall.SetZonesFromArgs(args)
			default:
				return nil, c.Errf("unknown property %q", opt)
			}
		}
	}
	if len(cfg.masters) == 0 && cfg.zk == nil {
		return nil, c.Err("masters is required")
	}
	if cfg.http == "" && (cfg.enumerate || watchesSet) {
		return nil, c.Err("http_enumerate and max_watches need http")
	}
	if zkAuth != nil {
		if cfg.zk == nil {
			return nil, c.Err("zk_auth needs a zk:// master")
		}
		cfg.zk.auth = zkAuth
	}
	if cfg.zk != nil {
		cfg.zk.https = tlsSet
	}
	anyHTTPS := cfg.zk != nil && tlsSet
	for _, u := range cfg.masters {
		if u.Scheme == "" {
			// A bare host:port speaks TLS when TLS is configured, as Mesos-DNS's MesosHTTPSOn.
			u.Scheme = "http"
			if tlsSet {
				u.Scheme = "https"
			}
		}
		if u.Scheme == "https" {
			anyHTTPS = true
		} else if tlsSet {
			return nil, c.Errf("tls is configured but master %s is plain http", u.Host)
		}
		cfg.opts.Masters = append(cfg.opts.Masters, u.Host)
	}
	if (cfg.insecure || serverName != "") && !anyHTTPS {
		return nil, c.Err("insecure_skip_verify and tls_servername need an https master")
	}
	if anyHTTPS {
		t := tlsCfg
		if t == nil {
			var err error
			if t, err = ctls.NewTLSConfigFromArgs(); err != nil {
				return nil, c.Errf("tls: %v", err)
			}
		}
		t.ServerName = serverName
		t.InsecureSkipVerify = cfg.insecure
		cfg.tls = t
	}
	if cfg.principal != "" && !anyHTTPS {
		log.Warning("basic_auth over plain http sends the secret in the clear")
	}
	if !timeoutSet {
		// Polls never overlap, so a long timeout only delays the next one; unset, it
		// stays within the interval.
		cfg.timeout = min(defaultTimeout, cfg.refresh)
	} else if cfg.timeout > cfg.refresh {
		log.Warningf("timeout %v is longer than refresh %v: a hanging master delays the next refresh by up to the timeout", cfg.timeout, cfg.refresh)
	}
	for _, z := range m.Fall.Zones {
		if plugin.Zones(m.Zones).Matches(z) == "" && plugin.Zones([]string{z}).Matches(m.Zones[0]) == "" {
			log.Warningf("fallthrough zone %s is outside the zones %v: it never applies", z, m.Zones)
		}
	}
	return m, nil
}

// zonesFrom takes the block's zones, or else the server block's, as every CoreDNS
// plugin does. A root server block (".:53") serves mesos., Mesos-DNS's default, since
// the plugin cannot answer for every name.
func zonesFrom(c *caddy.Controller, args, serverBlock []string) ([]string, error) {
	explicit := len(args) > 0
	var zones []string
	for _, z := range plugin.OriginsFromArgsOrServerBlock(args, serverBlock) {
		z = strings.ToLower(z)
		if z == "." {
			if explicit {
				return nil, c.Errf("zone %q would answer for every name", z)
			}
			z = "mesos."
		}
		if _, ok := dns.IsDomainName(z); !ok {
			return nil, c.Errf("%q is not a zone", z)
		}
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	if explicit && len(zones) < len(args) {
		return nil, c.Errf("%q: not a zone", strings.Join(args, " "))
	}
	if len(zones) == 0 {
		zones = []string{"mesos."}
	}
	return zones, nil
}

// splitZones tells the reverse zones (in-addr.arpa., ip6.arpa. and below) from the
// forward ones.
func splitZones(zones []string) (forward, reverse []string) {
	for _, z := range zones {
		if dns.IsSubDomain("in-addr.arpa.", z) || dns.IsSubDomain("ip6.arpa.", z) {
			reverse = append(reverse, z)
		} else {
			forward = append(forward, z)
		}
	}
	return forward, reverse
}

// inRoot joins a relative path with the root plugin's directory, as forward and etcd do.
func inRoot(root, path string) string {
	if root == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(root, path)
}

// masterURL accepts http(s)://host[:port][/path] and host[:port]; the port defaults to 5050.
func masterURL(s string) (*url.URL, error) {
	raw, shown := s, master.RedactURL(s)
	if strings.Contains(s, "@") {
		// Before parsing: a password that holds a '/' does not parse.
		return nil, fmt.Errorf("%q: credentials do not belong in the URL, use basic_auth", shown)
	}
	if !strings.Contains(s, "://") {
		raw = "//" + s
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not a master URL (http(s)://host:port or host:port)", shown)
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https (or zk://)", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: no query or fragment allowed", shown)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), defaultPort)
	} else if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("%q: bad port", shown)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	for _, ep := range endpoints {
		if u.Path == ep || strings.HasSuffix(u.Path, ep) {
			base := *u
			base.Path = strings.TrimSuffix(u.Path, ep)
			return nil, fmt.Errorf("%q names an endpoint, not a master: write %s", shown, strings.TrimPrefix(base.String(), "//"))
		}
	}
	return u, nil
}

// zkConfig is a zk:// masters URL: the ensemble and the cluster's path.
type zkConfig struct {
	servers []string
	path    string
	auth    []byte
	https   bool
}

// zkURL accepts zk://host1:2181,host2:2181/mesos; the port defaults to 2181 and the
// path to /mesos.
func zkURL(s string) (*zkConfig, error) {
	rest := s[len("zk://"):]
	// Neither hosts nor the path hold an '@': all before the last one is credentials,
	// whatever the password holds ('/' included).
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return nil, fmt.Errorf("%q: credentials do not belong in the URL, use zk_auth", "zk://…@"+rest[at+1:])
	}
	hosts, path, _ := strings.Cut(rest, "/")
	z := &zkConfig{path: "/" + strings.TrimRight(path, "/")}
	if z.path == "/" {
		z.path = "/mesos"
	}
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("%q: an empty ZooKeeper host", s)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "2181")
		}
		host, port, err := net.SplitHostPort(h)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q: %q is not host:port", s, h)
		}
		z.servers = append(z.servers, h)
	}
	return z, nil
}

// endpoints are paths of the master's API that users paste by mistake; the plugin
// adds them itself.
var endpoints = []string{"/master/state.json", "/master/state", "/master/redirect", "/state.json", "/state", "/redirect", "/api/v1", "/master/api/v1"}

func duration(c *caddy.Controller, opt string, args []string) (time.Duration, error) {
	if len(args) != 1 {
		return 0, c.Errf("%s needs one duration, such as 30s", opt)
	}
	d, err := time.ParseDuration(args[0])
	if n, nerr := strconv.ParseUint(args[0], 10, 32); nerr == nil {
		// Bare seconds, as route53 and azure take them.
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil {
		return 0, c.Errf("%s: %q is not a duration, such as 30s or 30", opt, args[0])
	}
	if d < 100*time.Millisecond || d > 24*time.Hour {
		return 0, c.Errf("%s: %v is out of range (100ms to 24h)", opt, d)
	}
	return d, nil
}

func seconds(c *caddy.Controller, opt string, args []string) (uint32, error) {
	if len(args) != 1 {
		return 0, c.Errf("%s needs one number of seconds", opt)
	}
	v, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || v > 1<<31-1 {
		if d, derr := time.ParseDuration(args[0]); derr == nil && d >= 0 && d%time.Second == 0 && d <= (1<<31-1)*time.Second {
			return uint32(d / time.Second), nil
		}
		return 0, c.Errf("%s: %q is not a number of seconds", opt, args[0])
	}
	return uint32(v), nil
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if before, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = before, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 256MiB", s)
	}
	return n * mult, nil
}

// readSecret loads a secret from a file or the environment. Errors name the source,
// never the secret.
func readSecret(kind, src string) (string, error) {
	var v string
	switch kind {
	case "file":
		b, err := os.ReadFile(src)
		if err != nil {
			return "", fmt.Errorf("reading secret file %s: %w", src, errors.Unwrap(err))
		}
		v = strings.TrimRight(string(b), "\r\n")
	case "env":
		var ok bool
		if v, ok = os.LookupEnv(src); !ok {
			return "", fmt.Errorf("environment variable %s is not set", src)
		}
	}
	if v == "" {
		return "", fmt.Errorf("the secret from %s %s is empty", kind, src)
	}
	return v, nil
}
