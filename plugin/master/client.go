// Package master talks to Mesos masters: it finds the leader, fetches and decodes its
// state, and polls. It knows nothing of DNS or CoreDNS.
//
// It is a part of the mesos CoreDNS plugin (github.com/coredns-mesos/mesos) and
// registers nothing with CoreDNS.
package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/plugin/state"
)

// Config configures a Client.
type Config struct {
	// Masters are base URLs such as http://10.0.0.1:5050, tried in order.
	Masters []*url.URL
	// TLS is used for https masters; nil means the system roots, verified.
	TLS *tls.Config
	// Principal and Secret, when Principal is set, authenticate with HTTP basic auth.
	Principal string
	Secret    string
	// Timeout bounds one whole fetch of a state, body included.
	Timeout time.Duration
	// MaxBytes bounds the (decompressed) state body.
	MaxBytes int64
	// Discover, when set, names the masters instead of Masters, the leader first
	// (ZooKeeper's election); they are trusted as configured ones.
	Discover func() []*url.URL
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Result is a state fetched from the leading master.
type Result struct {
	State *state.State
	// Leader is the base URL the state came from.
	Leader *url.URL
	// Bytes is the size of the decoded body.
	Bytes int64
}

// Errors a fetch can end in; they are wrapped with the master and detail.
var (
	ErrNoLeader  = errors.New("no leading master")
	ErrStatus    = errors.New("unexpected HTTP status")
	ErrTooLarge  = errors.New("state larger than the configured bound")
	ErrDecode    = errors.New("state does not decode")
	ErrRedirects = errors.New("too many redirects")
	ErrDowngrade = errors.New("redirect to plain http")
	ErrNoMasters = errors.New("no master known yet")
)

// Client fetches state from the leading master. It is not safe for concurrent use:
// one poller owns it.
type Client struct {
	cfg    Config
	http   *http.Client
	leader *url.URL
	// trusted are the hosts that may see the credentials: the configured masters,
	// and leaders that a configured master named over verified TLS.
	trusted map[string]bool
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if len(cfg.Masters) == 0 && cfg.Discover == nil {
		return nil, errors.New("no masters")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 512 << 20
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.TLS
		t.MaxIdleConnsPerHost = 2
		t.ResponseHeaderTimeout = cfg.Timeout
		rt = t
	}
	trusted := make(map[string]bool, len(cfg.Masters))
	for _, m := range cfg.Masters {
		trusted[strings.ToLower(m.Host)] = true
	}
	return &Client{
		cfg:     cfg,
		trusted: trusted,
		http: &http.Client{
			Transport: rt,
			// Redirects are followed by hand: the standard client would drop the
			// Authorization header when the leader is another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// masters are the masters to try: the configured ones, or those Discover names now.
func (c *Client) masters() []*url.URL {
	if c.cfg.Discover == nil {
		return c.cfg.Masters
	}
	ms := c.cfg.Discover()
	for _, m := range ms {
		c.trusted[strings.ToLower(m.Host)] = true
	}
	return ms
}

// Leader is the base URL of the last leader a state came from, or nil.
func (c *Client) Leader() *url.URL { return c.leader }

// candidates are the masters to try, and whether the last leader goes first. ZooKeeper's
// election names the leader (the first master Discover gives): while it names another
// than the last leader, that one is not asked first. A deposed master may go on
// answering as leader until its ZooKeeper session expires, or be a proxy's stale
// answer; the election is what the masters themselves follow.
func (c *Client) candidates() (ms []*url.URL, last *url.URL) {
	ms = c.masters()
	if c.leader != nil && c.cfg.Discover != nil && len(ms) > 0 && !strings.EqualFold(ms[0].Host, c.leader.Host) {
		c.leader = nil
	}
	return ms, c.leader
}

// Decoder decodes a /master/state document: state.Decode, or a decoder that does
// more as it reads (records.Updater.LoadingDecoder builds the records meanwhile).
type Decoder func(io.Reader) (*state.State, error)

// Fetch returns the leading master's state. It tries the last known leader first, then
// each configured master in turn: asking /master/redirect for the leader and fetching
// from there. Every failure is returned joined, so the caller can tell why.
func (c *Client) Fetch(ctx context.Context) (*Result, error) { return c.FetchWith(ctx, state.Decode) }

// FetchWith is Fetch decoding each state it reads with decode. A state read from a
// master that turns out not to lead is set aside: only the Result's is the leader's.
func (c *Client) FetchWith(ctx context.Context, decode Decoder) (*Result, error) {
	var errs []error
	ms, last := c.candidates()
	if last != nil {
		r, err := c.fetchFrom(ctx, last, decode)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
		c.leader = nil
	}
	for _, m := range ms {
		if ctx.Err() != nil {
			break
		}
		// A master behind a path prefix is a proxy that routes to the leader itself
		// (as DC/OS's /mesos does): its /master/redirect would name an address that
		// has no such prefix, and that may not even be reachable.
		leader, err := m, error(nil)
		if m.Path == "" {
			leader, err = c.redirect(ctx, m)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := c.fetchFrom(ctx, leader, decode)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return r, nil
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, ErrNoMasters
	}
	return nil, errors.Join(errs...)
}

// redirect asks m for the leader. A master too old to have /master/redirect is
// asked for its state directly, which names the leader.
func (c *Client) redirect(ctx context.Context, m *url.URL) (*url.URL, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.get(ctx, m.JoinPath("master", "redirect"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Host, err)
	}
	drain(resp)
	switch {
	case isRedirect(resp.StatusCode):
		return c.redirected(resp, m)
	case resp.StatusCode == http.StatusNotFound:
		return m, nil
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%s: %w (503)", m.Host, ErrNoLeader)
	default:
		return nil, fmt.Errorf("%s: /master/redirect: %w %d", m.Host, ErrStatus, resp.StatusCode)
	}
}

// fetchFrom gets and decodes the state from base, following a leader change by 307 or,
// on masters before 1.0, by the state naming another leader.
func (c *Client) fetchFrom(ctx context.Context, base *url.URL, decode Decoder) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	seen := []string{base.Host}
	for range 4 {
		r, next, err := c.fetchOnce(ctx, base, decode)
		if err != nil {
			return nil, err
		}
		if next == nil {
			c.leader = base
			return r, nil
		}
		if slices.Contains(seen, next.Host) {
			return nil, fmt.Errorf("%s: %w: a redirect loop (%s → %s)", base.Host, ErrRedirects, strings.Join(seen, " → "), next.Host)
		}
		seen = append(seen, next.Host)
		base = next
	}
	return nil, fmt.Errorf("%s: %w (%s)", base.Host, ErrRedirects, strings.Join(seen, " → "))
}

// fetchOnce returns either a result, or the base URL to try next.
func (c *Client) fetchOnce(ctx context.Context, base *url.URL, decode Decoder) (*Result, *url.URL, error) {
	resp, err := c.get(ctx, base.JoinPath("master", "state"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", base.Host, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		// Masters before 0.25 only know state.json.
		drain(resp)
		if resp, err = c.get(ctx, base.JoinPath("master", "state.json")); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", base.Host, err)
		}
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusOK:
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
			return nil, nil, fmt.Errorf("%s: %w: the answer is %s, not a JSON state (a proxy's page?)", base.Host, ErrDecode, ct)
		}
	case isRedirect(resp.StatusCode):
		// A master that stopped leading points at the new leader.
		next, err := c.redirected(resp, base)
		return nil, next, err
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, nil, fmt.Errorf("%s: %w (503)", base.Host, ErrNoLeader)
	default:
		return nil, nil, fmt.Errorf("%s: %s: %w %d", base.Host, resp.Request.URL.Path, ErrStatus, resp.StatusCode)
	}
	ahead := newReadAhead(resp.Body)
	body := &limitReader{r: ahead, left: c.cfg.MaxBytes}
	st, err := decode(body)
	// A read ahead of a decoder that stopped early may wait on the master: closing
	// the body ends it.
	resp.Body.Close()
	ahead.stop()
	if body.over {
		return nil, nil, fmt.Errorf("%s: %w (%d bytes)", base.Host, ErrTooLarge, c.cfg.MaxBytes)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, state.ErrBlank) && !errors.Is(err, state.ErrNumber) {
			// The body stopped coming: a timeout, not a document that does not decode.
			return nil, nil, fmt.Errorf("%s: reading the state: %w", base.Host, ctx.Err())
		}
		return nil, nil, fmt.Errorf("%s: %w: %w", base.Host, ErrDecode, err)
	}
	if st.Leader.IsZero() && !st.SelfLeads {
		// A master that names itself leader by an address no record may carry
		// (master@0.0.0.0:5050) leads all the same: its state is served without
		// leader.D. One that names no leader, or another at such an address, is not
		// one to follow.
		return nil, nil, fmt.Errorf("%s: %w: the state names none", base.Host, ErrNoLeader)
	}
	if !st.Self.IsZero() && !samePID(st.Self, st.Leader) {
		// A pre-1.0 non-leader answers with its own state: go to the leader it names,
		// unless that is where this came from (a leader that spells itself once by
		// address and once by name).
		host := net.JoinHostPort(st.Leader.Host, strconv.Itoa(int(st.Leader.Port)))
		if !strings.EqualFold(host, base.Host) {
			next := &url.URL{Scheme: base.Scheme, Host: host, Path: base.Path}
			c.trust(base, next)
			return nil, next, nil
		}
	}
	return &Result{State: st, Leader: base, Bytes: c.cfg.MaxBytes - body.left}, nil, nil
}

func samePID(a, b state.PID) bool {
	return strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

func (c *Client) get(ctx context.Context, u *url.URL) (*http.Response, error) {
	return c.do(ctx, http.MethodGet, u, "")
}

// do sends one request: JSON wanted, credentials only to a trusted host, and an error
// that names no URL.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "coredns-mesos")
	if c.cfg.Principal != "" && c.trusted[strings.ToLower(u.Host)] {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry credentials: keep only the cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return nil, ue.Err
		}
		return nil, err
	}
	return resp, nil
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusSeeOther:
		return true
	}
	return false
}

// redirected is the master a redirect points to. Mesos sends the Location
// protocol-relative ("//10.0.0.2:5050/master/state"): it is resolved against the
// request URL, so the scheme stays. The path prefix stays when the redirect stays on
// the same host (a proxy); another host is a master's own address, without one. A
// redirect from https to http is refused: it would send the state, and the
// credentials, in the clear.
func (c *Client) redirected(resp *http.Response, from *url.URL) (*url.URL, error) {
	loc, err := resp.Location()
	if err != nil || loc.Host == "" {
		return nil, fmt.Errorf("%s: redirect without a usable Location", from.Host)
	}
	if from.Scheme == "https" && loc.Scheme != "https" {
		return nil, fmt.Errorf("%s: %w: refusing a redirect from https to %s://%s", from.Host, ErrDowngrade, loc.Scheme, loc.Host)
	}
	next := &url.URL{Scheme: loc.Scheme, Host: loc.Host}
	if strings.EqualFold(loc.Host, from.Host) {
		next.Path = from.Path
	}
	c.trust(from, next)
	return next, nil
}

// trust lets next see the credentials when a trusted master named it over verified
// TLS: the operator trusts that master to name the leader. Over plain http anyone on
// the path could have named it.
func (c *Client) trust(from, next *url.URL) {
	host := strings.ToLower(from.Host)
	verified := c.cfg.TLS == nil || !c.cfg.TLS.InsecureSkipVerify
	if from.Scheme == "https" && next.Scheme == "https" && verified && c.trusted[host] {
		c.trusted[strings.ToLower(next.Host)] = true
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// limitReader fails a body that goes past the bound instead of silently cutting it,
// so an oversized state is an error of its own and not a truncated document. What a
// body may hold within the bound (blanks, long strings) the state decoder bounds.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		n, _ := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// CloseIdleConnections releases the client's idle connections (on shutdown).
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
