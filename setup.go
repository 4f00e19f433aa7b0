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

	"github.com/coredns-mesos/mesos/plugin/api"
	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
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
	opts      records.Options
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
	// http is the HTTP API's listen address, empty when it is off, and httpAt where
	// the Corefile gives it (file:line), for an error when it cannot listen; enumerate
	// turns on its whole-zone endpoints; maxWatches bounds its open blocking queries.
	http       string
	httpAt     string
	enumerate  bool
	maxWatches int
	// notifyInterval spaces the NOTIFY rounds to the secondaries.
	notifyInterval time.Duration
	// ixfrJournal bounds the changes kept for IXFR: -1 (the default) as many as the
	// zone has records, 0 none (every transfer is the whole zone).
	ixfrJournal int
	// unreached warns of a zone that shares no name with the server block's keys
	// (unreached), "" when there is none; the start logs it unless a rewrite in the
	// block can bring the zone names.
	unreached string
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
	// Four NOTIFY rounds a second at most: a secondary pulls what changed by IXFR,
	// a few hundred octets a round, so a change need not wait a second for its round
	// (BenchmarkSecondaries, 200 task events a second: at 10k tasks, p99 167 ms for
	// BIND and 32 ms for Knot at 250ms against 1.35 s at 1s; at 100ms Knot's p99
	// grew to 1 s, a NOTIFY that finds it transferring waiting for the next).
	defaultNotifyInterval = 250 * time.Millisecond
)

func setup(c *caddy.Controller) error {
	m, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	if n := m.cfg.ixfrJournal; n != 0 {
		m.journal = records.NewJournal(max(n, 0))
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
		// A signer in front caches signatures by RRset: see Mesos.signed.
		m.signed = cfg.Handler("dnssec") != nil
		if m.cfg.unreached != "" && cfg.Handler("rewrite") == nil {
			log.Warning(m.cfg.unreached)
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

// parse reads the mesos block: its zones, each option (option), then the rules that
// need several options together (finish). A server block holds one mesos block.
func parse(c *caddy.Controller) (*Mesos, error) {
	m := &Mesos{}
	p := &blockParser{c: c, m: m, cfg: &config{
		opts:       records.DefaultOptions(),
		refresh:    defaultRefresh,
		timeout:    defaultTimeout,
		maxBytes:   defaultMaxBytes,
		mode:       modeAuto,
		resync:     defaultResync,
		reregister: defaultReregister,
		maxWatches: api.DefaultMaxWatches,

		notifyInterval: defaultNotifyInterval,
		ixfrJournal:    -1,
	}, root: dnsserver.GetConfig(c).Root, seen: map[string]bool{}}
	m.cfg = p.cfg
	blocks := 0
	for c.Next() {
		if blocks++; blocks > 1 {
			return nil, c.Err(plugin.ErrOnce.Error())
		}
		if err := p.zones(c.RemainingArgs()); err != nil {
			return nil, err
		}
		for c.NextBlock() {
			opt := c.Val()
			if p.seen[opt] {
				return nil, c.Errf("%s given twice", opt)
			}
			p.seen[opt] = true
			if err := p.option(opt, c.RemainingArgs()); err != nil {
				return nil, err
			}
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// blockParser reads one mesos block into m and its config. Beside them it keeps what
// only finish reads: the options seen and what they said that config has no place for
// until the options are taken together.
type blockParser struct {
	c    *caddy.Controller
	m    *Mesos
	cfg  *config
	root string // the root plugin's directory, for the relative paths of files
	seen map[string]bool
	// tls is the tls option's configuration, nil without it; serverName is
	// tls_servername's. finish puts them in cfg.tls when a master speaks https.
	tls        *tls.Config
	serverName string
	// zkAuth is zk_auth's USER:SECRET, for the zk:// master finish requires of it.
	zkAuth []byte
}

// zones takes the block's zones (args, or else the server block's) and tells the
// reverse ones from the forward ones.
func (p *blockParser) zones(args []string) error {
	zones, err := zonesFrom(p.c, args, p.c.ServerBlockKeys)
	if err != nil {
		return err
	}
	if z, block := unreached(zones, p.c.ServerBlockKeys); z != "" {
		p.cfg.unreached = fmt.Sprintf("zone %s is outside the server block's zones %v: CoreDNS hands this block no name in it, and no rewrite in the block renames one into it", z, block)
	}
	p.m.Zones = zones
	p.cfg.opts.Zones, p.cfg.opts.ReverseZones = splitZones(zones)
	if len(p.cfg.opts.Zones) == 0 {
		return p.c.Errf("reverse zones %v need a forward zone in the block: their PTR records name tasks there", zones)
	}
	return nil
}

// option reads one option of the block, opt with its args: one case an option, as
// forward's parseBlock.
func (p *blockParser) option(opt string, args []string) error {
	c, cfg := p.c, p.cfg
	var err error
	switch opt {
	case "masters":
		return p.masters(args)
	case "mode":
		return p.mode(args)
	case "refresh":
		cfg.refresh, err = duration(c, opt, args)
	case "timeout":
		cfg.timeout, err = duration(c, opt, args)
	case "resync":
		cfg.resync, err = duration(c, opt, args)
	case "agent_reregister_timeout":
		cfg.reregister, err = duration(c, opt, args)
	case "notify_interval":
		cfg.notifyInterval, err = duration(c, opt, args)
	case "max_state_size":
		return p.maxStateSize(args)
	case "ttl":
		cfg.opts.TTL, err = seconds(c, opt, args)
	case "soa_refresh":
		cfg.opts.SOA.Refresh, err = seconds(c, opt, args)
	case "soa_retry":
		cfg.opts.SOA.Retry, err = seconds(c, opt, args)
	case "soa_expire":
		cfg.opts.SOA.Expire, err = seconds(c, opt, args)
	case "soa_minttl":
		cfg.opts.SOA.Minimum, err = seconds(c, opt, args)
	case "soa_mname":
		cfg.opts.SOA.Mname, err = soaName(c, opt, args)
	case "soa_rname":
		cfg.opts.SOA.Mbox, err = soaName(c, opt, args)
	case "ip_sources":
		return p.ipSources(args)
	case "http":
		return p.http(args)
	case "max_watches":
		cfg.maxWatches, err = positive(c, opt, args)
	case "max_srv_per_task":
		return p.maxSRVPerTask(args)
	case "rfc952":
		cfg.opts.RFC952, err = given(c, opt, args)
	case "healthy_only":
		cfg.opts.HealthyOnly, err = given(c, opt, args)
	case "insecure_skip_verify":
		cfg.insecure, err = given(c, opt, args)
	case "http_enumerate":
		cfg.enumerate, err = given(c, opt, args)
	case "compat_names":
		return p.compatNames(args)
	case "srv_weight":
		return p.srvWeight(args)
	case "max_answers":
		return p.maxAnswers(args)
	case "ixfr_journal":
		return p.ixfrJournal(args)
	case "tls":
		return p.tlsFiles(args)
	case "tls_servername":
		if len(args) != 1 {
			return c.Errf("tls_servername needs one name")
		}
		p.serverName = args[0]
	case "basic_auth":
		cfg.principal, cfg.secret, err = p.credentials(opt, "PRINCIPAL", args)
	case "zk_auth":
		var user, secret string
		if user, secret, err = p.credentials(opt, "USER", args); err == nil {
			p.zkAuth = []byte(user + ":" + secret)
		}
	case "ns_addr":
		return p.nsAddrs(args)
	case "fallthrough":
		p.m.Fall.SetZonesFromArgs(args)
	default:
		return c.Errf("unknown property %q", opt)
	}
	return err
}

// masters takes the masters' URLs, or one zk:// URL that finds them in ZooKeeper.
func (p *blockParser) masters(args []string) error {
	if len(args) == 0 {
		return p.c.Errf("masters needs at least one URL")
	}
	for _, a := range args {
		if strings.HasPrefix(strings.ToLower(a), "zk://") {
			if len(args) > 1 {
				return p.c.Errf("masters: %s: ZooKeeper names the masters, list nothing beside it", master.RedactURL(a))
			}
			z, err := zkURL(a)
			if err != nil {
				return p.c.Errf("masters: %v", err)
			}
			p.cfg.zk = z
			continue
		}
		u, err := masterURL(a)
		if err != nil {
			return p.c.Errf("masters: %v", err)
		}
		p.cfg.masters = append(p.cfg.masters, u)
	}
	return nil
}

func (p *blockParser) mode(args []string) error {
	if len(args) != 1 || (args[0] != modeAuto && args[0] != modeStream && args[0] != modePoll) {
		return p.c.Errf("mode needs auto, stream or poll")
	}
	p.cfg.mode = args[0]
	return nil
}

func (p *blockParser) maxStateSize(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("max_state_size needs one size, such as 256MiB")
	}
	n, err := parseSize(args[0])
	if err != nil {
		return p.c.Errf("max_state_size: %v", err)
	}
	p.cfg.maxBytes = n
	return nil
}

func (p *blockParser) ipSources(args []string) error {
	if len(args) == 0 {
		return p.c.Errf("ip_sources needs at least one of auto, netinfo, mesos, docker, host")
	}
	p.cfg.opts.IPSources = nil
	for _, a := range args {
		s := records.IPSource(strings.ToLower(a))
		switch s {
		case records.SourceAuto, records.SourceNetInfo, records.SourceMesos, records.SourceDocker, records.SourceHost:
		default:
			return p.c.Errf("ip_sources: unknown source %q (auto, netinfo, mesos, docker, host)", a)
		}
		if slices.Contains(p.cfg.opts.IPSources, s) {
			return p.c.Errf("ip_sources: %s listed twice", s)
		}
		p.cfg.opts.IPSources = append(p.cfg.opts.IPSources, s)
	}
	return nil
}

// http takes the HTTP API's listen address, IP:PORT; off loopback it warns.
func (p *blockParser) http(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("http needs one address to listen on, such as 127.0.0.1:8123")
	}
	host, port, err := net.SplitHostPort(args[0])
	if err != nil {
		return p.c.Errf("http: %q is not HOST:PORT: %v", args[0], err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return p.c.Errf("http: %q is not a port from 1 to 65535", port)
	}
	ip, err := netip.ParseAddr(host)
	if host != "" && err != nil {
		return p.c.Errf("http: %q is not an IP address", host)
	}
	if !ip.IsLoopback() {
		log.Warningf("http %s is not a loopback address: the HTTP API serves what a zone transfer would to anyone who reaches it; keep it on a trusted network", args[0])
	}
	p.cfg.http = args[0]
	p.cfg.httpAt = fmt.Sprintf("%s:%d", p.c.File(), p.c.Line())
	return nil
}

func (p *blockParser) maxSRVPerTask(args []string) error {
	n, err := positive(p.c, "max_srv_per_task", args)
	if err != nil {
		return err
	}
	if n < 4 {
		// The bound takes whole ports: below one port's records, none.
		return p.c.Errf("max_srv_per_task %d: must be at least 4, the SRV records one port makes (_task._tcp and _task._udp, each under F and F.slave); fewer would leave out every port", n)
	}
	p.cfg.opts.MaxTaskSRV = n
	return nil
}

func (p *blockParser) compatNames(args []string) error {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return p.c.Errf("compat_names needs on or off")
	}
	p.cfg.opts.CompatNames = args[0] == "on"
	return nil
}

func (p *blockParser) srvWeight(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("srv_weight needs one number")
	}
	w, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		return p.c.Errf("srv_weight: %q is not a number from 0 to 65535", args[0])
	}
	p.cfg.opts.SRVWeight = uint16(w)
	return nil
}

// maxAnswers takes max_answers COUNT: at most COUNT A or AAAA records an answer.
func (p *blockParser) maxAnswers(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("max_answers needs one number")
	}
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil || n == 0 {
		return p.c.Errf("max_answers: %q is not a number from 1 to 65535", args[0])
	}
	p.cfg.opts.MaxAnswers = int(n)
	return nil
}

// ixfrJournal takes ixfr_journal RECORDS: how many changed records the journal that
// answers IXFR keeps (0: none, every transfer sends the whole zone).
func (p *blockParser) ixfrJournal(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("ixfr_journal needs one number of records")
	}
	n, err := strconv.ParseUint(args[0], 10, 31)
	if err != nil {
		return p.c.Errf("ixfr_journal: %q is not a number of records", args[0])
	}
	p.cfg.ixfrJournal = int(n)
	return nil
}

// tlsFiles loads tls [CERT KEY] [CA] here, so that a missing file is reported at this
// line; finish decides whether a master uses it.
func (p *blockParser) tlsFiles(args []string) error {
	if len(args) > 3 {
		return p.c.Errf("tls takes [CERT KEY] [CA]")
	}
	for i := range args {
		args[i] = inRoot(p.root, args[i])
	}
	t, err := ctls.NewTLSConfigFromArgs(args...)
	if err != nil {
		return p.c.Errf("tls: %v", err)
	}
	p.tls = t
	return nil
}

// credentials reads basic_auth's and zk_auth's NAME file PATH or NAME env VARIABLE
// (who names NAME in the error): the name, and the secret read from the file or the
// variable.
func (p *blockParser) credentials(opt, who string, args []string) (name, secret string, err error) {
	if len(args) != 3 || (args[1] != "file" && args[1] != "env") {
		return "", "", p.c.Errf("%s needs %s file PATH, or %s env VARIABLE", opt, who, who)
	}
	src := args[2]
	if args[1] == "file" {
		src = inRoot(p.root, src)
	}
	if secret, err = readSecret(args[1], src); err != nil {
		return "", "", p.c.Errf("%s: %v", opt, err)
	}
	return args[0], secret, nil
}

func (p *blockParser) nsAddrs(args []string) error {
	if len(args) == 0 {
		return p.c.Errf("ns_addr needs at least one IP address")
	}
	for _, a := range args {
		ip, ok := state.ParseIP(a)
		if !ok {
			return p.c.Errf("ns_addr: %q is not a usable IP address", a)
		}
		p.cfg.opts.NSAddrs = append(p.cfg.opts.NSAddrs, ip)
	}
	return nil
}

// finish applies the rules that need several options together, in this order: what
// is required, the masters' schemes and TLS, then the warnings of what works but
// likely not as meant.
func (p *blockParser) finish() error {
	c, cfg := p.c, p.cfg
	if len(cfg.masters) == 0 && cfg.zk == nil {
		return c.Err("masters is required")
	}
	if cfg.http == "" && (cfg.enumerate || p.seen["max_watches"]) {
		return c.Err("http_enumerate and max_watches need http")
	}
	if fwd := cfg.opts.Zones; len(fwd) == 1 && cfg.opts.SOA.Mname == "ns1."+fwd[0] {
		// The default written out (as -from-config writes Mesos-DNS's ns1.mesos):
		// ns1.ZONE keeps its records.
		cfg.opts.SOA.Mname = ""
	}
	if cfg.opts.SOA.Mname != "" && p.seen["ns_addr"] {
		return c.Errf("ns_addr gives ns1's addresses, but soa_mname %s names another primary, which gets no records: drop one of them", cfg.opts.SOA.Mname)
	}
	if p.zkAuth != nil {
		if cfg.zk == nil {
			return c.Err("zk_auth needs a zk:// master")
		}
		cfg.zk.auth = p.zkAuth
	}
	if err := p.mastersTLS(); err != nil {
		return err
	}
	if cfg.principal != "" && cfg.tls == nil {
		log.Warning("basic_auth over plain http sends the secret in the clear")
	}
	if !p.seen["timeout"] {
		// Polls never overlap, so a long timeout only delays the next one; unset, it
		// stays within the interval.
		cfg.timeout = min(defaultTimeout, cfg.refresh)
	} else if cfg.timeout > cfg.refresh {
		log.Warningf("timeout %v is longer than refresh %v: a hanging master delays the next refresh by up to the timeout", cfg.timeout, cfg.refresh)
	}
	for _, z := range p.m.Fall.Zones {
		if plugin.Zones(p.m.Zones).Matches(z) == "" && plugin.Zones([]string{z}).Matches(p.m.Zones[0]) == "" {
			log.Warningf("fallthrough zone %s is outside the zones %v: it never applies", z, p.m.Zones)
		}
	}
	return nil
}

// mastersTLS gives each master its scheme, and cfg.tls its configuration when a master
// speaks https (ZooKeeper's, when tls is given). A bare host:port speaks TLS when tls is
// given, as Mesos-DNS's MesosHTTPSOn; every master does then.
func (p *blockParser) mastersTLS() error {
	c, cfg := p.c, p.cfg
	tlsSet := p.tls != nil
	if cfg.zk != nil {
		cfg.zk.https = tlsSet
	}
	anyHTTPS := cfg.zk != nil && tlsSet
	for _, u := range cfg.masters {
		if u.Scheme == "" {
			u.Scheme = "http"
			if tlsSet {
				u.Scheme = "https"
			}
		}
		if u.Scheme == "https" {
			anyHTTPS = true
		} else if tlsSet {
			return c.Errf("tls is configured but master %s is plain http", u.Host)
		}
		cfg.opts.Masters = append(cfg.opts.Masters, u.Host)
	}
	if (cfg.insecure || p.serverName != "") && !anyHTTPS {
		return c.Err("insecure_skip_verify and tls_servername need an https master")
	}
	if !anyHTTPS {
		return nil
	}
	t := p.tls
	if t == nil {
		var err error
		if t, err = ctls.NewTLSConfigFromArgs(); err != nil {
			return c.Errf("tls: %v", err)
		}
	}
	t.ServerName = p.serverName
	t.InsecureSkipVerify = cfg.insecure
	cfg.tls = t
	return nil
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

// unreached returns the first of zones that shares no name with the server block's
// zones (neither is equal to or below the other), with the block's zones; "" when
// every zone shares some (or the keys are unknown, as in a test's controller). CoreDNS
// hands the block only names under its keys, so the plugin gets none of such a zone,
// unless a plugin before it renames them.
func unreached(zones, keys []string) (string, []string) {
	block := make([]string, 0, len(keys))
	for _, k := range keys {
		block = append(block, plugin.Host(k).NormalizeExact()...)
	}
	if len(block) == 0 {
		return "", nil
	}
	for _, z := range zones {
		if plugin.Zones(block).Matches(z) == "" && !slices.ContainsFunc(block, func(b string) bool { return dns.IsSubDomain(z, b) }) {
			return z, block
		}
	}
	return "", nil
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
		lower := strings.ToLower(s)
		if strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:") || strings.HasPrefix(lower, "zk:") {
			// A scheme mistyped (http:/host) would parse as a host named http.
			return nil, fmt.Errorf("%q: a scheme needs ://, as in http://host:5050", shown)
		}
		raw = "//" + s
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not a master URL (http(s)://host:port or host:port)", shown)
	}
	if strings.Contains(u.Host, ",") {
		return nil, fmt.Errorf("%q: list the masters apart, separated by spaces, not commas", shown)
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("%q: %q is neither an IP address nor a host name", shown, u.Hostname())
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https (or zk://)", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: no query or fragment allowed", shown)
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("%q: bad port", shown)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Port() == "" {
		// A path is a proxy's prefix (DC/OS's /mesos), on its scheme's port; a master
		// serves at the root, on Mesos's.
		port := defaultPort
		if u.Path != "" && u.Scheme != "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	} else if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("%q: bad port", shown)
	}
	for _, ep := range endpoints {
		if u.Path == ep || strings.HasSuffix(u.Path, ep) {
			base := *u
			base.Path = strings.TrimSuffix(u.Path, ep)
			return nil, fmt.Errorf("%q names an endpoint, not a master: write %s", shown, strings.TrimPrefix(base.String(), "//"))
		}
	}
	return u, nil
}

// validHost reports whether h is an IP address or a host name: RFC 1123's labels, with
// '_' as resolvers accept it, and a last label not all digits (RFC 3696), so that an
// address mistyped (256.1.1.1, 10.1) is not taken for a name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if len(h) > 253 {
		return false
	}
	digits := false
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		digits = true
		for _, r := range label {
			switch {
			case '0' <= r && r <= '9':
			case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '-', r == '_':
				digits = false
			default:
				return false
			}
		}
	}
	return !digits
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

// The value parsers: each reads one option's arguments, and its errors name the option
// and the form it expects.

// duration reads a duration, 30s or bare seconds, from 100ms to 24h.
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

// seconds reads a number of seconds, bare or as a whole duration (1h).
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

// positive reads a number from 1 to 2^31-1.
func positive(c *caddy.Controller, opt string, args []string) (int, error) {
	if len(args) != 1 {
		return 0, c.Errf("%s needs one number", opt)
	}
	n, err := strconv.ParseUint(args[0], 10, 31)
	if err != nil || n == 0 {
		return 0, c.Errf("%s: %q is not a positive number", opt, args[0])
	}
	return int(n), nil
}

// given reads an option that takes no arguments: given, it is on.
func given(c *caddy.Controller, opt string, args []string) (bool, error) {
	if len(args) != 0 {
		return false, c.Errf("%s takes no arguments", opt)
	}
	return true, nil
}

// soaName reads soa_mname's or soa_rname's domain name, fully qualified and lower-cased;
// soa_rname takes the mail form too: hostmaster@example.org.
func soaName(c *caddy.Controller, opt string, args []string) (string, error) {
	if len(args) != 1 {
		return "", c.Errf("%s needs one domain name", opt)
	}
	name := args[0]
	if opt == "soa_rname" {
		if local, domain, ok := strings.Cut(name, "@"); ok {
			name = strings.ReplaceAll(local, ".", "\\.") + "." + domain
		}
	}
	name = dns.Fqdn(strings.ToLower(name))
	// dns.IsDomainName takes any octet; one a zone file would have to escape (a space,
	// a quote, a parenthesis) is a mistake here.
	if _, ok := dns.IsDomainName(name); !ok || strings.ContainsFunc(name, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"();@$`, r)
	}) {
		return "", c.Errf("%s: %q is not a domain name", opt, args[0])
	}
	return name, nil
}

// parseSize reads a size such as 256MiB, up to 1TiB.
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
