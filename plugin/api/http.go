package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coredns-mesos/mesos/plugin/records"
)

const (
	defaultWait = 5 * time.Minute
	maxWait     = 10 * time.Minute
	// DefaultMaxWatches is max_watches when not given.
	DefaultMaxWatches = 10000
	// IndexHeader carries a name's index, the serial at which its answer last changed.
	IndexHeader = "X-Mesos-Index"
	// maxZoneAnswers bounds the whole-zone answers (/v1/axfr, /v1/enumerate) written at
	// once. Each is encoded zoneChunk octets at a time, and a client that does not take
	// a chunk within zoneStall is dropped.
	maxZoneAnswers = 2
	zoneChunk      = 32 << 10
	// ZoneStall is how long a write of a whole-zone answer may take by default.
	ZoneStall = 10 * time.Second
)

// Config is what the API serves and how.
type Config struct {
	// Zones are the block's zones; the first is the one /v1/axfr and /v1/enumerate
	// give, and a name endpoint answers for any.
	Zones []string
	// Enumerate serves /v1/axfr and /v1/enumerate.
	Enumerate bool
	// MaxWatches bounds the blocking queries waiting at once.
	MaxWatches int
	// Refresh is /v1/axfr's RefreshSeconds.
	Refresh time.Duration
	// Stall bounds each write of a whole-zone answer, and a blocking query's answer
	// from the end of its wait (ZoneStall when zero).
	Stall time.Duration
	// Version is /v1/version's Version; Config is /v1/config's answer.
	Version string
	Config  ConfigJSON

	// Records are the records to answer from, as the DNS handler reads them; nil
	// before the first. Updater gives /v1/enumerate.
	Records *atomic.Pointer[records.Set]
	Updater *records.Updater

	// Refused, when set, counts a request refused or cut off, by reason; Watches, when
	// set, follows the number of blocking queries waiting; Errorf logs an error.
	Refused func(reason string)
	Watches interface{ Set(float64) }
	Errorf  func(format string, args ...any)
}

// Server is the HTTP API while it listens. Its goroutines (the server's, one a
// request) touch only this: the config, read-only; the records, read as the handler
// reads them; the updater, whose Enumerate takes the updater's own lock; and the hub,
// which Published hands each new set.
type Server struct {
	cfg  Config
	hub  *hub
	srv  *http.Server
	done chan struct{}
	// zoneAnswers holds a token for each whole-zone answer being written.
	zoneAnswers chan struct{}
}

// Serve serves the API on ln, which it closes when the API is closed.
func Serve(ln net.Listener, cfg Config) *Server {
	if cfg.Stall <= 0 {
		cfg.Stall = ZoneStall
	}
	if cfg.Refused == nil {
		cfg.Refused = func(string) {}
	}
	if cfg.Errorf == nil {
		cfg.Errorf = func(string, ...any) {}
	}
	a := &Server{cfg: cfg, hub: newHub(cfg.MaxWatches), done: make(chan struct{}),
		zoneAnswers: make(chan struct{}, maxZoneAnswers)}
	a.hub.gauge = cfg.Watches
	a.hub.cur = cfg.Records.Load()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", a.version)
	mux.HandleFunc("GET /v1/config", a.config)
	mux.HandleFunc("GET /v1/hosts/{host}", func(w http.ResponseWriter, r *http.Request) { a.name(w, r, 'h', r.PathValue("host")) })
	mux.HandleFunc("GET /v1/services/{service}", func(w http.ResponseWriter, r *http.Request) {
		a.name(w, r, 's', r.PathValue("service"))
	})
	if cfg.Enumerate {
		mux.HandleFunc("GET /v1/axfr", func(w http.ResponseWriter, r *http.Request) { a.wholeZone(w, r, a.writeAxfr) })
		mux.HandleFunc("GET /v1/enumerate", func(w http.ResponseWriter, r *http.Request) { a.wholeZone(w, r, a.writeEnumerate) })
	}
	// WriteTimeout drops a client that does not take its answer within stall of its
	// request: a blocking query moves the deadline when its wait ends, a whole-zone
	// answer with each chunk it writes.
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: cfg.Stall, IdleTimeout: 2 * time.Minute}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Errorf("http %s: %v", ln.Addr(), err)
		}
	}()
	return a
}

// Sync reads the records again: those published since Serve read them, before
// Published was there to be called with them. The records are stored before
// Published is called, so one read under the hub's lock is never older than what the
// hub was given.
func (a *Server) Sync() {
	a.hub.mu.Lock()
	a.hub.cur = a.cfg.Records.Load()
	a.hub.mu.Unlock()
}

// Published tells the waiting requests of the names a publication touched (relative
// to the zone, from Updater.TakeChanged) that s is the records now.
func (a *Server) Published(s *records.Set, touched []string) { a.hub.published(s, touched) }

// Watching is the number of blocking queries waiting now.
func (a *Server) Watching() int { return a.hub.watching() }

// Close answers the open watches, closes the listener and waits for the requests
// under way.
func (a *Server) Close() {
	a.hub.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.srv.Close()
	}
	<-a.done
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

// noRecords answers a request that came before the first records.
func noRecords(w http.ResponseWriter) {
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": records.ErrNoRecords.Error() + ": the masters have not been read"})
}

// version answers /v1/version in Mesos-DNS's shape.
func (a *Server) version(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"Service": "CoreDNS mesos plugin",
		"Version": a.cfg.Version,
		"URL":     "https://github.com/coredns-mesos/mesos",
	})
}

func noParams(w http.ResponseWriter, r *http.Request) bool {
	for k := range r.URL.Query() {
		badRequest(w, "unknown query parameter "+strconv.Quote(k))
		return false
	}
	return true
}

// nameParams reads a name endpoint's blocking-query parameters: index (0 when
// absent: answer at once) and wait, with up to wait/16 of jitter.
func nameParams(r *http.Request) (index uint32, wait time.Duration, err error) {
	q := r.URL.Query()
	wait = defaultWait
	for k, vs := range q {
		if len(vs) != 1 {
			return 0, 0, errors.New(strconv.Quote(k) + " given more than once")
		}
		v := vs[0]
		switch k {
		case "index":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return 0, 0, errors.New("index " + strconv.Quote(v) + " is not an index (a number from 0 to 4294967295)")
			}
			index = uint32(n)
		case "wait":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return 0, 0, errors.New("wait " + strconv.Quote(v) + " is not a positive duration such as 30s or 5m")
			}
			wait = min(d, maxWait)
		default:
			return 0, 0, errors.New("unknown query parameter " + strconv.Quote(k))
		}
	}
	wait += rand.N(wait/16 + 1) // #nosec G404 -- spreads clients, not a secret
	return index, wait, nil
}

// checkName validates a name from a path and returns it lower-cased and fully
// qualified.
func checkName(s string) (string, error) {
	name := strings.ToLower(s)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	if name == "." || len(name) > 254 {
		return "", errors.New("not a domain name: it must be 1 to 253 octets")
	}
	for label := range strings.SplitSeq(name[:len(name)-1], ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("not a domain name: each label must be 1 to 63 octets")
		}
		for i := range len(label) {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return "", errors.New("not a domain name: labels hold letters, digits, '-' and '_'")
			}
		}
	}
	return name, nil
}

// name answers /v1/hosts/{host} and /v1/services/{service}, at once or, given an
// index, once the answer differs from the one at that index.
func (a *Server) name(w http.ResponseWriter, r *http.Request, kind byte, given string) {
	name, err := checkName(given)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	index, wait, err := nameParams(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	k := watchKey{kind: kind}
	for _, z := range a.cfg.Zones {
		if rel, ok := records.Relative(name, z); ok && len(z) > len(k.zone) {
			k.zone, k.rel = z, rel
		}
	}
	if k.zone == "" {
		// Not a name of this block: nothing can ever change it.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("[]\n"))
		return
	}
	var rep reply
	if index == 0 {
		rep, err = a.hub.lookup(k)
	} else {
		t := time.NewTimer(wait)
		rep, err = a.hub.wait(k, index, t.C, r.Context().Done())
		t.Stop()
		// Nothing was written yet: the deadline moves.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(a.cfg.Stall))
	}
	switch {
	case errors.Is(err, records.ErrNoRecords):
		noRecords(w)
		return
	case errors.Is(err, errTooMany{}):
		a.cfg.Refused("max_watches")
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many open watches (max_watches)"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(IndexHeader, strconv.FormatUint(uint64(rep.index), 10))
	if rep.found {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusNotFound)
	}
	var service []byte
	if kind == 's' {
		// The answer names the service as the client gave it, as Mesos-DNS does.
		service, _ = json.Marshal(given)
	}
	writeAnswer(w, rep.body, service)
}

// serviceHole is where a services answer as the hub keeps it leaves the service out.
var serviceHole = []byte(`{"service":""`)

// writeAnswer writes body, with service (JSON) in each of its holes when given.
func writeAnswer(w io.Writer, body, service []byte) {
	for service != nil {
		i := bytes.Index(body, serviceHole)
		if i < 0 {
			break
		}
		i += len(serviceHole) - len(`""`)
		w.Write(body[:i])
		w.Write(service)
		body = body[i+len(`""`):]
	}
	w.Write(body)
}

// Host is one address of /v1/hosts.
type Host struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// Service is one address of one SRV target of /v1/services. Port is a string as
// Mesos-DNS had it; PortNumber is the same port as a number.
type Service struct {
	Service    string `json:"service"`
	Host       string `json:"host"`
	IP         string `json:"ip"`
	Port       string `json:"port"`
	PortNumber uint16 `json:"port_number"`
}

// answer computes the body for k from s: whether the name exists, the JSON (a services
// answer with its service left empty), and the relative names the answer reads (its
// own, an SRV answer's targets).
func answer(s *records.Set, k watchKey) (found bool, body []byte, reads []string) {
	n, ok := s.Find(k.rel)
	reads = []string{k.rel}
	if base, derived := records.Derived(k.rel); derived {
		// A name by fault domain changes with the name it picks from.
		reads = append(reads, base)
	}
	if !ok {
		return false, []byte("[]\n"), reads
	}
	var v any
	switch k.kind {
	case 'h':
		out := make([]Host, 0, len(n.Addrs()))
		owner := k.zone
		if k.rel != "" {
			owner = k.rel + "." + k.zone
		}
		for _, a := range n.Addrs() {
			out = append(out, Host{Host: owner, IP: a.String()})
		}
		v = out
	case 's':
		out := make([]Service, 0, n.SRVs())
		for i := range n.SRVs() {
			tn, port := n.SRV(i)
			reads = append(reads, tn.Rel())
			e := Service{Host: tn.Rel() + "." + k.zone, Port: strconv.Itoa(int(port)), PortNumber: port}
			if len(tn.Addrs()) == 0 {
				out = append(out, e)
			}
			for _, a := range tn.Addrs() {
				e.IP = a.String()
				out = append(out, e)
			}
		}
		v = out
	}
	b, _ := json.Marshal(v)
	return true, append(b, '\n'), reads
}

// ConfigJSON is /v1/config: the block's effective options, named as Mesos-DNS names
// its own where it has them. Secrets never appear.
type ConfigJSON struct {
	Masters                []string
	Zk                     string `json:",omitempty"`
	Zones                  []string
	Domain                 string
	RefreshSeconds         float64
	TimeoutSeconds         float64
	Mode                   string
	ResyncSeconds          float64
	AgentReregisterSeconds float64
	MaxStateSize           int64
	TTL                    uint32
	SOAMname               string
	SOARname               string
	SOARefresh             uint32
	SOARetry               uint32
	SOAExpire              uint32
	SOAMinttl              uint32
	IPSources              []records.IPSource
	EnforceRFC952          bool
	CompatNames            bool
	HealthyOnly            bool
	SRVRecordDefaultWeight uint16
	MaxSRVPerTask          int
	MesosHTTPSOn           bool
	InsecureSkipVerify     bool
	MesosAuthentication    string                      `json:",omitempty"`
	MesosCredentials       *struct{ Principal string } `json:",omitempty"`
	ZkAuthentication       bool
	HTTPListener           string
	EnumerationOn          bool
	MaxWatches             int
}

// config answers /v1/config.
func (a *Server) config(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, a.cfg.Config)
}

// Axfr is /v1/axfr in Mesos-DNS's shape, for the first zone. The answer is written
// a name at a time (writeAxfr), never built whole.
type Axfr struct {
	AxfrHead
	Records struct {
		As    map[string][]string
		AAAAs map[string][]string
		SRVs  map[string][]string
	}
}

// AxfrHead is what /v1/axfr says of the zone before its records.
type AxfrHead struct {
	TTL            uint32
	Serial         uint32
	RefreshSeconds float64
	Mname          string
	Rname          string
	Domain         string
}

// wholeZone answers /v1/axfr or /v1/enumerate with write, which encodes the answer into
// bw as it goes, from records that do not change meanwhile: the answer is never held
// whole. At most maxZoneAnswers are written at once; past that a request is refused
// at once with Retry-After rather than queued, as a queued request would hold its
// connection all the same. Each write of up to zoneChunk octets is given a.stall to
// complete: a client that reads slowly gets it all, one that stops reading is dropped.
func (a *Server) wholeZone(w http.ResponseWriter, r *http.Request, write func(bw *bufio.Writer, s *records.Set) error) {
	if !noParams(w, r) {
		return
	}
	s := a.cfg.Records.Load()
	if s == nil {
		noRecords(w)
		return
	}
	select {
	case a.zoneAnswers <- struct{}{}:
		defer func() { <-a.zoneAnswers }()
	default:
		a.cfg.Refused("busy")
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many whole-zone answers under way: retry later"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(deadlineWriter{w, rc, a.cfg.Stall}, zoneChunk)
	err := write(bw, s)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		// What net/http still holds goes out under the last write's deadline.
		err = rc.Flush()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		a.cfg.Refused("stalled")
	}
}

// deadlineWriter writes to w, each write with a deadline of its own, stall from its
// start. The server sets the next request's deadline afresh.
type deadlineWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	// A ResponseWriter without deadlines (not net/http's) writes without one.
	d.rc.SetWriteDeadline(time.Now().Add(d.stall))
	return d.w.Write(p)
}

// writeAxfr writes /v1/axfr to bw, a name at a time, in the shape of Axfr and as
// encoding/json would, except for the order of the names in each map: the zone's
// canonical order, as AXFR gives them, rather than Go's sorted map keys.
func (a *Server) writeAxfr(bw *bufio.Writer, s *records.Set) error {
	zone := a.cfg.Zones[0]
	soa := s.SOA(zone)
	head, err := json.Marshal(AxfrHead{TTL: s.TTL(), Serial: s.Serial(), RefreshSeconds: a.cfg.Refresh.Seconds(),
		Mname: strings.TrimSuffix(soa.Ns, "."), Rname: strings.TrimSuffix(soa.Mbox, "."), Domain: strings.TrimSuffix(zone, ".")})
	if err != nil {
		return err
	}
	b := append(bw.AvailableBuffer(), head[:len(head)-1]...)
	b = append(b, `,"Records":{`...)
	for i, kind := range []string{"As", "AAAAs", "SRVs"} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, kind...)
		b = append(b, `":{`...)
		names := 0
		s.Names(func(n records.Name) bool {
			var gave bool
			if b, gave = appendAxfrName(b, n, zone, kind, names > 0); !gave {
				return true
			}
			names++
			if _, err = bw.Write(b); err != nil {
				return false
			}
			b = bw.AvailableBuffer()
			return true
		})
		if err != nil {
			return err
		}
		b = append(b, '}')
	}
	_, err = bw.Write(append(b, "}}\n"...))
	return err
}

// appendAxfrName appends n's entry in /v1/axfr's map kind, after a comma when sep, and
// says whether n has one.
func appendAxfrName(b []byte, n records.Name, zone, kind string, sep bool) ([]byte, bool) {
	values := 0
	switch kind {
	case "As", "AAAAs":
		for _, a := range n.Addrs() {
			if a.Is4() == (kind == "As") {
				values++
			}
		}
	case "SRVs":
		values = n.SRVs()
	}
	if values == 0 {
		return b, false
	}
	if sep {
		b = append(b, ',')
	}
	b = append(b, '"')
	if n.Rel() != "" {
		b = appendJSONText(b, n.Rel())
		b = append(b, '.')
	}
	b = appendJSONText(b, zone)
	b = append(b, `":[`...)
	values = 0
	if kind == "SRVs" {
		for i := range n.SRVs() {
			if i > 0 {
				b = append(b, ',')
			}
			tn, port := n.SRV(i)
			b = appendJSONString(b, net.JoinHostPort(tn.Rel()+"."+zone, strconv.Itoa(int(port))))
		}
		return append(b, ']'), true
	}
	for _, a := range n.Addrs() {
		if a.Is4() != (kind == "As") {
			continue
		}
		if values > 0 {
			b = append(b, ',')
		}
		values++
		b = append(b, '"')
		if a.Zone() == "" {
			b = a.AppendTo(b)
		} else {
			b = appendJSONText(b, a.String())
		}
		b = append(b, '"')
	}
	return append(b, ']'), true
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONText(b, s)
	return append(b, '"')
}

// appendJSONText appends s as the inside of a JSON string, as encoding/json writes it:
// as it is when it needs no escape, which names and addresses never do.
func appendJSONText(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q[1:len(q)-1]...)
		}
	}
	return append(b, s...)
}
