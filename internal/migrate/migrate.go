// Package migrate turns a Mesos-DNS config.json into the equivalent Corefile, so that
// moving a cluster's DNS to CoreDNS is one command.
package migrate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coredns-mesos/mesos/plugin/master"
)

// SecretFile is where the Corefile reads the basic-auth secret from: a config's
// secret is never copied into a Corefile.
const SecretFile = "/etc/coredns/mesos-secret" // #nosec G101 -- a path, not a credential

// ZKSecretFile is where the Corefile reads the ZooKeeper password from.
const ZKSecretFile = "/etc/coredns/zk-secret" // #nosec G101 -- a path, not a credential

// Convert returns the Corefile for a Mesos-DNS config.json, and a warning for each key
// that has no equivalent or needs the operator's hand.
//
// Every value it copies is one Corefile token, every number is in the range the
// plugin takes, and no secret is copied: the Corefile reads those from files. A value
// that breaks one of these rules is an error that names its key; no error shows a
// password.
func Convert(configJSON []byte) (corefile string, warnings []string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(configJSON, &raw); err != nil {
		return "", nil, fmt.Errorf("config.json: %w", err)
	}
	// Mesos-DNS decodes with encoding/json, which matches keys without regard to case.
	c := &converter{cfg: map[string]json.RawMessage{}, names: map[string]string{}, used: map[string]bool{}}
	for k, v := range raw {
		c.cfg[strings.ToLower(k)] = v
		c.names[strings.ToLower(k)] = k
	}
	out := c.convert()
	if c.err != nil {
		return "", nil, c.err
	}
	for k := range c.cfg {
		if !c.used[k] {
			c.warnf("%s: unknown key, left out", c.name(k))
		}
	}
	slices.Sort(c.warnings)
	return out, c.warnings, nil
}

type converter struct {
	cfg      map[string]json.RawMessage
	names    map[string]string // each key as config.json spells it
	used     map[string]bool
	warnings []string
	err      error
}

func (c *converter) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// name is key as config.json spells it.
func (c *converter) name(key string) string {
	if n, ok := c.names[key]; ok {
		return n
	}
	return key
}

// fail records the first error, which names the key.
func (c *converter) fail(key, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("config.json: %s: %s", c.name(key), fmt.Sprintf(format, args...))
	}
}

// get decodes key into v and reports whether it was present.
func (c *converter) get(key string, v any) bool {
	c.used[key] = true
	r, ok := c.cfg[key]
	if !ok || string(r) == "null" {
		return false
	}
	if err := json.Unmarshal(r, v); err != nil {
		// encoding/json's messages name types, never the value.
		c.fail(key, "%v", err)
	}
	return c.err == nil
}

func (c *converter) str(key string) string {
	var s string
	c.get(key, &s)
	return s
}

// tok is the string at key, refused unless it is one Corefile token.
func (c *converter) tok(key string) string {
	s := c.str(key)
	if s != "" {
		c.token(key, "", s)
	}
	return s
}

// token refuses s, from key (what says which part of it), unless the Corefile reads
// it back as exactly one token, unchanged.
func (c *converter) token(key, what, s string) {
	if why := notOneToken(s); why != "" {
		c.fail(key, "%s%q is not one Corefile token: %s", what, master.RedactURL(s), why)
	}
}

// notOneToken says why the Corefile would not read s as the one token s: "" when it
// would. Tokens are separated by white space; '"' starts a quoted token, '#' a
// comment, braces are blocks, and {$NAME} and {%NAME%} are replaced by the
// environment.
func notOneToken(s string) string {
	if s == "" {
		return "it is empty"
	}
	if !utf8.ValidString(s) {
		return "it is not UTF-8"
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			return fmt.Sprintf("it holds white space (%q)", r)
		case unicode.IsControl(r) || !unicode.IsPrint(r):
			return fmt.Sprintf("it holds the control character %q", r)
		case r == '"':
			return "it holds a quote"
		case r == '{' || r == '}':
			return "it holds a brace"
		case r == '#':
			return "it holds a # (the rest of the line would be a comment)"
		}
	}
	return ""
}

// num is the whole number at key, refused unless it is from lo to hi. A string is
// refused too, as Mesos-DNS refuses it.
func (c *converter) num(key string, lo, hi int64) (int64, bool) {
	c.used[key] = true
	r, ok := c.cfg[key]
	if !ok || string(r) == "null" {
		return 0, false
	}
	var n json.Number
	if r = bytes.TrimSpace(r); len(r) > 0 && r[0] == '"' {
		c.fail(key, "%s is a string: Mesos-DNS takes a number here, and so does this", r)
		return 0, false
	}
	if err := json.Unmarshal(r, &n); err != nil {
		c.fail(key, "%.40s is not a number", r)
		return 0, false
	}
	v, err := n.Int64()
	if err != nil {
		c.fail(key, "%s is not a whole number", n)
		return 0, false
	}
	if v < lo || v > hi {
		c.fail(key, "%d is out of range (%d to %d)", v, lo, hi)
		return 0, false
	}
	return v, true
}

// Ranges of numbers: the plugin's, which hold Mesos-DNS's sensible values.
const (
	maxInt31   = 1<<31 - 1 // seconds in a TTL or an SOA field (RFC 2181)
	maxUint32  = 1<<32 - 1
	maxPort    = 65535
	maxSeconds = 24 * 60 * 60 // refresh and timeout
)

func (c *converter) boolean(key string, def bool) bool {
	b := def
	c.get(key, &b)
	return b
}

func (c *converter) convert() string {
	var opts []string
	opt := func(format string, args ...any) { opts = append(opts, fmt.Sprintf(format, args...)) }

	https := c.boolean("mesoshttpson", false)
	var masters []string
	c.get("masters", &masters)
	for _, m := range masters {
		c.token("masters", "", m)
		if strings.Contains(m, "@") {
			c.fail("masters", "%q: credentials do not belong in a master's address: give them as mesosCredentials", master.RedactURL(m))
		}
	}
	var zkAuth string
	if zk := c.str("zk"); zk != "" {
		// ZooKeeper first, as Mesos-DNS did; credentials move out of the URL.
		rest := zk
		if strings.HasPrefix(strings.ToLower(zk), "zk://") {
			rest = zk[len("zk://"):]
		}
		// Neither hosts nor the path hold an '@': all before the last is the user and
		// password, whatever the password holds ('/' and '@' included).
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			user, password, hasPassword := strings.Cut(rest[:at], ":")
			if u, err := url.PathUnescape(user); err == nil {
				user = u
			}
			c.token("zk", "the user ", user)
			zkAuth = user
			rest = rest[at+1:]
			switch {
			case !hasPassword:
				c.warnf("zk: ZooKeeper user %q has no password in config.json; zk_auth reads one from %s (mode 0600): write it there", user, ZKSecretFile)
			case strings.Contains(password, "%"):
				c.warnf("zk: the password of ZooKeeper user %q is not copied into the Corefile: write it to %s (mode 0600), alone on one line, as config.json's zk URL has it between %q and the last '@', with its %%XX escapes decoded", user, ZKSecretFile, user+":")
			default:
				c.warnf("zk: the password of ZooKeeper user %q is not copied into the Corefile: write it to %s (mode 0600), alone on one line, as config.json's zk URL has it between %q and the last '@'", user, ZKSecretFile, user+":")
			}
		}
		rest = strings.TrimRight(rest, "/")
		c.token("zk", "", rest)
		masters = []string{"zk://" + rest}
		if len(c.cfg["masters"]) > 0 {
			c.warnf("masters: ZooKeeper names the masters; the masters list is left out")
		}
	}
	if _, ok := c.num("zkdetectiontimeout", 0, maxInt31); ok {
		c.warnf("zkDetectionTimeout: no equivalent (the plugin never exits for want of a leader: it answers SERVFAIL until one is known)")
	}
	if len(masters) == 0 {
		masters = []string{"MASTER:5050"}
		c.warnf("masters: none listed: replace MASTER:5050 with your masters")
	}
	for i, m := range masters {
		if https && !strings.Contains(m, "://") && !strings.HasPrefix(m, "zk://") {
			masters[i] = "https://" + m
		}
	}
	opt("masters %s", strings.Join(masters, " "))
	if zkAuth != "" {
		opt("zk_auth %s file %s", zkAuth, ZKSecretFile)
	}
	if n, ok := c.num("refreshseconds", 1, maxSeconds); ok {
		opt("refresh %ds", n)
	}
	if n, ok := c.num("statetimeoutseconds", 1, maxSeconds); ok {
		opt("timeout %ds", n)
	}
	if n, ok := c.num("ttl", 0, maxInt31); ok {
		opt("ttl %d", n)
	}
	for _, k := range []string{"soamname", "soarname"} {
		if v := c.tok(k); v != "" {
			opt("soa_%s %s", strings.TrimPrefix(k, "soa"), v)
		}
	}
	if v := c.tok("email"); v != "" {
		if c.str("soarname") == "" {
			opt("soa_rname %s", v)
		} else {
			c.warnf("email: left out: %s names the zone's mailbox (soa_rname)", c.name("soarname"))
		}
	}
	for _, k := range []string{"soarefresh", "soaretry", "soaexpire", "soaminttl"} {
		if n, ok := c.num(k, 0, maxInt31); ok {
			opt("soa_%s %d", strings.TrimPrefix(k, "soa"), n)
		}
	}
	if _, ok := c.num("soaserial", 0, maxUint32); ok {
		c.warnf("SOASerial: no equivalent: the serial follows the records' content and only grows")
	}
	var sources []string
	if c.get("ipsources", &sources) {
		var kept []string
		for _, s := range sources {
			switch s = strings.ToLower(s); s {
			case "netinfo", "mesos", "docker", "host":
				kept = append(kept, s)
			default:
				c.warnf("IPSources: %q has no equivalent, left out", s)
			}
		}
		if len(kept) > 0 {
			opt("ip_sources %s", strings.Join(kept, " "))
		}
		if i, j := slices.Index(kept, "host"), slices.Index(kept, "netinfo"); i >= 0 && (j < 0 || i < j) || slices.Contains(kept, "docker") {
			// The workarounds for bridge-network tasks, each wrong for part of a
			// mixed cluster.
			c.warnf("IPSources: %s: consider ip_sources auto host, which gives a task behind its agent (Docker bridge, port mappings) the agent's address and every other task its own (README, \"Coming from Mesos-DNS\")", strings.Join(kept, " "))
		}
	}
	if c.boolean("enforcerfc952", false) {
		opt("rfc952")
	}
	if n, ok := c.num("srvrecorddefaultweight", 0, 65535); ok {
		opt("srv_weight %d", n)
	}
	ca, cert, key := c.tok("cacertfile"), c.tok("certfile"), c.tok("keyfile")
	switch {
	case cert != "" && key != "":
		opt("tls %s", strings.TrimSpace(cert+" "+key+" "+ca))
	case ca != "":
		opt("tls %s", ca)
	case https && strings.HasPrefix(masters[0], "zk://"):
		// The masters ZooKeeper names speak TLS only when tls is given: with the
		// system's roots, as Mesos-DNS verified them.
		opt("tls")
	}
	var creds struct{ Principal, Secret string }
	c.get("mesoscredentials", &creds)
	if auth := strings.ToLower(c.str("mesosauthentication")); auth == "basic" || creds.Principal != "" {
		// The key as Mesos-DNS spells it, when config.json has none.
		c.names["mesoscredentials"] = cmp.Or(c.names["mesoscredentials"], "mesosCredentials")
		c.token("mesoscredentials", "the principal ", creds.Principal)
		opt("basic_auth %s file %s", creds.Principal, SecretFile)
		c.warnf("mesosCredentials: write the secret to %s (mode 0600); it is not copied into the Corefile", SecretFile)
	} else if auth != "" {
		c.warnf("mesosAuthentication: %q has no equivalent", auth)
	}
	httpPort, ok := c.num("httpport", 1, maxPort)
	if !ok {
		httpPort = 8123
	}
	if c.boolean("httpon", true) {
		// Mesos-DNS listened on every address; the API serves what AXFR would.
		opt("http 127.0.0.1:%d", httpPort)
		c.warnf("httpOn: the HTTP API listens on 127.0.0.1:%d, not on every address as Mesos-DNS did; change http's address for a trusted network", httpPort)
		if c.boolean("enumerationon", true) {
			opt("http_enumerate")
		}
	} else {
		c.boolean("enumerationon", true)
	}
	if !c.boolean("dnson", true) {
		c.warnf("dnson: false in config.json: the Corefile below serves DNS all the same")
	}
	c.boolean("settruncatebit", true)

	domain := strings.TrimSuffix(c.tok("domain"), ".")
	if domain == "" {
		domain = "mesos"
	}
	port := int64(53)
	if n, ok := c.num("port", 1, maxPort); ok {
		port = n
	}
	var resolvers []string
	c.get("resolvers", &resolvers)
	for _, r := range resolvers {
		c.token("resolvers", "", r)
	}
	external := c.boolean("externalon", true)
	if !c.boolean("recurseon", true) {
		c.warnf("recurseon: no equivalent: forward always asks the resolvers for the whole answer")
	}
	if _, ok := c.num("timeout", 0, maxInt31); ok {
		c.warnf("timeout: no equivalent: forward adapts its timeouts to the resolvers")
	}

	var b bytes.Buffer
	addr := domain + ":" + strconv.FormatInt(port, 10)
	forward := external && len(resolvers) > 0
	if forward {
		// Mesos-DNS answered every name: the zone itself, the rest from the resolvers.
		addr = ".:" + strconv.FormatInt(port, 10)
	}
	fmt.Fprintf(&b, "# From a Mesos-DNS config.json by mesos-records -from-config.\n%s {\n", addr)
	if l := c.tok("listener"); l != "" && l != "0.0.0.0" && l != "::" {
		fmt.Fprintf(&b, "    bind %s\n", l)
	}
	b.WriteString("    errors\n")
	if forward {
		fmt.Fprintf(&b, "    mesos %s {\n", domain)
	} else {
		b.WriteString("    mesos {\n")
	}
	for _, o := range opts {
		fmt.Fprintf(&b, "        %s\n", o)
	}
	b.WriteString("    }\n")
	if forward {
		to := make([]string, 0, len(resolvers))
		for _, r := range resolvers {
			if _, _, err := net.SplitHostPort(r); err != nil {
				r = net.JoinHostPort(r, "53")
			}
			to = append(to, r)
		}
		fmt.Fprintf(&b, "    forward . %s\n", strings.Join(to, " "))
	}
	b.WriteString("}\n")
	return b.String()
}
