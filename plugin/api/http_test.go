package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// testAPI is an HTTP API served by the test itself, without CoreDNS or a master: its
// records are those of one state.
type testAPI struct {
	a       *Server
	records *atomic.Pointer[records.Set]
	updater *records.Updater
	zone    string
	addr    string // host:port
	base    string // http://host:port

	mu      sync.Mutex
	refused map[string]int
}

// testRefresh is the refresh the API reports in /v1/axfr.
const testRefresh = 30 * time.Second

// serveTestAPI serves the API of a block whose records are those of the state js, with
// the whole-zone endpoints on and stall for their writes. shape, when set, is applied
// to each connection the server accepts.
func serveTestAPI(t *testing.T, js []byte, shape func(*net.TCPConn), stall time.Duration) *testAPI {
	t.Helper()
	st, err := state.Decode(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	o := records.DefaultOptions()
	ta := &testAPI{records: new(atomic.Pointer[records.Set]), updater: records.NewUpdater(&o), zone: o.Zones[0], refused: map[string]int{}}
	ta.updater.KeepChanged()
	ta.updater.Update(context.Background(), st)
	ta.records.Store(ta.updater.Publish(nil))
	ta.updater.TakeChanged()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if shape != nil {
		ln = shapedListener{ln, shape}
	}
	ta.a = Serve(ln, Config{
		Zones: o.Zones, Enumerate: true, MaxWatches: DefaultMaxWatches, Refresh: testRefresh, Stall: stall,
		Records: ta.records, Updater: ta.updater,
		Refused: func(reason string) {
			ta.mu.Lock()
			ta.refused[reason]++
			ta.mu.Unlock()
		},
	})
	t.Cleanup(ta.a.Close)
	ta.addr, ta.base = ln.Addr().String(), "http://"+ln.Addr().String()
	return ta
}

// shapedListener applies shape to each connection it accepts.
type shapedListener struct {
	net.Listener
	shape func(*net.TCPConn)
}

func (l shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		l.shape(tc)
	}
	return c, err
}

type synthAPI struct {
	js   []byte
	apps []synth.App
}

var synthAPICluster = sync.OnceValues(func() (synthAPI, error) {
	var buf bytes.Buffer
	apps, err := synth.Write(&buf, synth.Config{Tasks: 1000, Seed: 1})
	return synthAPI{buf.Bytes(), apps}, err
})

// synthJSON is a synthetic cluster of 1000 tasks: each whole-zone answer is over half a
// megabyte, far more than the sockets of these tests hold.
func synthJSON(t *testing.T) []byte {
	t.Helper()
	c, err := synthAPICluster()
	if err != nil {
		t.Fatal(err)
	}
	return c.js
}

// TestHTTPSpellingsShareOneAnswer: the API remembers one answer per name, in whatever
// case and with or without the final dot it is asked for, and each answer still repeats
// the service as the client spelled it.
func TestHTTPSpellingsShareOneAnswer(t *testing.T) {
	ta := serveTestAPI(t, synthJSON(t), nil, ZoneStall)
	// The app with the most instances and a port.
	c, _ := synthAPICluster()
	var app synth.App
	for _, a := range c.apps {
		if a.Ports > 0 && a.Instances > app.Instances {
			app = a
		}
	}
	service, host := "_"+app.Name+"._tcp."+app.Framework+".mesos", app.Name+"."+app.Framework+".mesos"
	var want []Service
	if a := httpGet(t, ta.base+"/v1/services/"+service); a.code != http.StatusOK || json.Unmarshal(a.body, &want) != nil || len(want) == 0 {
		t.Fatalf("%s: %d %s", service, a.code, a.body)
	}
	hosts := httpGet(t, ta.base+"/v1/hosts/"+host)
	if hosts.code != http.StatusOK || !bytes.Contains(hosts.body, []byte(`"ip"`)) {
		t.Fatalf("%s: %d %s", host, hosts.code, hosts.body)
	}
	// 64 spellings of each by the case of their first six letters, each with and
	// without the final dot.
	spell := func(name string, i int) string {
		b := []byte(name)
		bit := 0
		for j := range b {
			if b[j] >= 'a' && b[j] <= 'z' && bit < 6 {
				if i&(1<<bit) != 0 {
					b[j] -= 'a' - 'A'
				}
				bit++
			}
		}
		if i&64 != 0 {
			b = append(b, '.')
		}
		return string(b)
	}
	for i := range 128 {
		given := spell(service, i)
		var got []Service
		if a := httpGet(t, ta.base+"/v1/services/"+given); a.code != http.StatusOK || json.Unmarshal(a.body, &got) != nil || len(got) != len(want) {
			t.Fatalf("%s: %d %s", given, a.code, a.body)
		}
		for j := range got {
			if got[j].Service != given {
				t.Errorf("%s: service %q", given, got[j].Service)
			}
			got[j].Service = want[j].Service
			if got[j] != want[j] {
				t.Errorf("%s: %+v, want %+v", given, got[j], want[j])
			}
		}
		if a := httpGet(t, ta.base+"/v1/hosts/"+spell(host, i)); a.code != http.StatusOK || !bytes.Equal(a.body, hosts.body) {
			t.Errorf("%s: %d %s, want %s", spell(host, i), a.code, a.body, hosts.body)
		}
	}
	h := ta.a.hub
	h.mu.Lock()
	n := len(h.entries)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("the API holds %d answers for one service and one host name, asked in 128 spellings each", n)
	}
}

func readCapture(t *testing.T, path string) []byte {
	t.Helper()
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestHubBounded: a flood of distinct names, none of which exists, never makes the hub
// hold more answers (or more names they read) than its bound, with every watch the
// bound allows open on other names.
func TestHubBounded(t *testing.T) {
	st, err := state.Decode(bytes.NewReader(readCapture(t, "../../testdata/mesos/state-1.5.0-dcos.json")))
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(16)
	h.cur = records.Build(context.Background(), st, records.DefaultOptions(), nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range h.max {
		k := watchKey{kind: 'h', zone: "mesos.", rel: fmt.Sprintf("watched-%d", i)}
		s, err := h.lookup(k)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { h.wait(k, s.index, nil, stop) })
	}
	defer wg.Wait()
	defer close(stop)
	for deadline := time.Now().Add(30 * time.Second); h.watching() != h.max; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d watches open, want %d", h.watching(), h.max)
		}
	}
	for i := range 3 * h.keep {
		if _, err := h.lookup(watchKey{kind: 's', zone: "mesos.", rel: fmt.Sprintf("_nosuch-%d._tcp.marathon", i)}); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		entries, deps := len(h.entries), len(h.deps)
		h.mu.Unlock()
		if entries > h.keep || deps > h.keep {
			t.Fatalf("after %d names: %d answers reading %d names, bound %d", i+1, entries, deps, h.keep)
		}
	}
	if n := h.watching(); n != h.max {
		t.Errorf("%d watches open after the flood, want %d", n, h.max)
	}
}

// TestHubPublicationComputesWatchedOnly: a publication computes again, on the refresh
// goroutine, only the answers someone waits on; one that nobody waits on is computed
// when it is next asked for, and then has the new answer and the new index.
func TestHubPublicationComputesWatchedOnly(t *testing.T) {
	js := readCapture(t, "../../testdata/mesos/state-1.5.0-dcos.json")
	st, err := state.Decode(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	before := records.Build(context.Background(), st, records.DefaultOptions(), nil)
	removed := 0
	for i := range st.Frameworks {
		f := &st.Frameworks[i]
		n := len(f.Tasks)
		f.Tasks = slices.DeleteFunc(f.Tasks, func(t state.Task) bool { return t.Name == "test123" })
		removed += n - len(f.Tasks)
	}
	after := records.Build(context.Background(), st, records.DefaultOptions(), before)
	if removed == 0 || after.Serial() == before.Serial() {
		t.Fatalf("%d tasks removed, serial %d then %d", removed, before.Serial(), after.Serial())
	}

	h := newHub(16)
	h.cur = before
	watchedKey := watchKey{kind: 'h', zone: "mesos.", rel: "test123.marathon"}
	idleKey := watchKey{kind: 's', zone: "mesos.", rel: "test123.marathon"}
	w, _ := h.lookup(watchedKey)
	if idle, _ := h.lookup(idleKey); !w.found || !idle.found {
		t.Fatal("test123.marathon.mesos is not in the capture")
	}
	woken := make(chan reply, 1)
	go func() {
		s, _ := h.wait(watchedKey, w.index, nil, nil)
		woken <- s
	}()
	for deadline := time.Now().Add(30 * time.Second); h.watching() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch never opened")
		}
	}
	h.published(after, []string{"test123.marathon"})
	if s := <-woken; s.found || s.index != after.Serial() {
		t.Errorf("the watch woke with found %v, index %d; want gone at %d", s.found, s.index, after.Serial())
	}
	h.mu.Lock()
	computed := !h.entries[idleKey].found
	h.mu.Unlock()
	if computed {
		t.Error("the publication computed an answer nobody waits on")
	}
	if s, _ := h.lookup(idleKey); s.found || s.index != after.Serial() || string(s.body) != "[]\n" {
		t.Errorf("the answer nobody waited on, asked again: found %v, index %d, %q; want gone at %d", s.found, s.index, s.body, after.Serial())
	}
}

// smallSendBuffer keeps what the kernel holds of an answer small, so that a client
// that stops reading stops the server's writes soon.
func smallSendBuffer(c *net.TCPConn) { c.SetWriteBuffer(8 << 10) }

// chunked GETs path over a connection of its own and returns the status, the headers,
// the body and the largest piece it came in (the whole body when it was not chunked).
func chunked(t *testing.T, addr, path string) (code int, hdr textproto.MIMEHeader, body []byte, largest int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", path)
	tp := textproto.NewReader(bufio.NewReader(c))
	status, err := tp.ReadLine()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if _, s, ok := strings.Cut(status, " "); ok {
		code, _ = strconv.Atoi(s[:min(3, len(s))])
	}
	if hdr, err = tp.ReadMIMEHeader(); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if hdr.Get("Transfer-Encoding") != "chunked" {
		body, err = io.ReadAll(tp.R)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return code, hdr, body, len(body)
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("GET %s: a chunk: %v", path, err)
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(size, 16, 32)
		if err != nil {
			t.Fatalf("GET %s: chunk size %q", path, line)
		}
		if n == 0 {
			return code, hdr, body, largest
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(tp.R, chunk); err != nil {
			t.Fatalf("GET %s: a chunk: %v", path, err)
		}
		body = append(body, chunk[:n]...)
		largest = max(largest, int(n))
	}
}

// axfrWhole is /v1/axfr as it was built before it was streamed: whole, in maps,
// encoded at once.
func axfrWhole(ta *testAPI) []byte {
	s := ta.records.Load()
	zone := ta.zone
	soa := s.SOA(zone)
	out := Axfr{AxfrHead: AxfrHead{TTL: s.TTL(), Serial: s.Serial(), RefreshSeconds: testRefresh.Seconds(),
		Mname: strings.TrimSuffix(soa.Ns, "."), Rname: strings.TrimSuffix(soa.Mbox, "."), Domain: strings.TrimSuffix(zone, ".")}}
	out.Records.As, out.Records.AAAAs, out.Records.SRVs = map[string][]string{}, map[string][]string{}, map[string][]string{}
	s.Names(func(n records.Name) bool {
		owner := zone
		if n.Rel() != "" {
			owner = n.Rel() + "." + zone
		}
		for _, a := range n.Addrs() {
			if a.Is4() {
				out.Records.As[owner] = append(out.Records.As[owner], a.String())
			} else {
				out.Records.AAAAs[owner] = append(out.Records.AAAAs[owner], a.String())
			}
		}
		for i := range n.SRVs() {
			tn, port := n.SRV(i)
			t := tn.Rel() + "." + zone
			out.Records.SRVs[owner] = append(out.Records.SRVs[owner], net.JoinHostPort(t, strconv.Itoa(int(port))))
		}
		return true
	})
	b, _ := json.Marshal(out)
	return append(b, '\n')
}

// enumerateWhole is /v1/enumerate as it was built before it was streamed: whole, then
// encoded at once.
func enumerateWhole(ta *testAPI) []byte {
	out := Enumeration{Frameworks: []EnumFramework{}}
	ta.updater.Enumerate(ta.zone, func(framework string, first bool, t *records.EnumTask) bool {
		if first {
			out.Frameworks = append(out.Frameworks, EnumFramework{Name: framework, Tasks: []EnumTask{}})
		}
		f := &out.Frameworks[len(out.Frameworks)-1]
		et := EnumTask{Name: t.Name, ID: t.ID, Records: make([]EnumRecord, len(t.Records))}
		for i, r := range t.Records {
			et.Records[i] = EnumRecord(r)
		}
		f.Tasks = append(f.Tasks, et)
		return true
	})
	b, _ := json.Marshal(out)
	return append(b, '\n')
}

// TestHTTPWholeZoneStreamed: /v1/axfr and /v1/enumerate answer what they did when they
// were built whole (the same JSON on every capture and on a synthetic cluster; for
// enumerate the same bytes), and leave in pieces no larger than the buffer they are
// encoded in: the answer is never held whole.
func TestHTTPWholeZoneStreamed(t *testing.T) {
	captures, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(captures) == 0 {
		t.Fatal("no captures")
	}
	inputs := map[string][]byte{"synthetic": synthJSON(t)}
	for _, c := range captures {
		inputs[filepath.Base(c)] = readCapture(t, c)
	}
	for name, js := range inputs {
		t.Run(name, func(t *testing.T) {
			ta := serveTestAPI(t, js, nil, ZoneStall)
			code, _, body, largest := chunked(t, ta.addr, "/v1/axfr")
			want := axfrWhole(ta)
			var got, wantJSON any
			if err := json.Unmarshal(body, &got); err != nil || code != http.StatusOK {
				t.Fatalf("/v1/axfr: %d %v\n%s", code, err, body)
			}
			json.Unmarshal(want, &wantJSON)
			// The same JSON, and the same length: no name twice.
			if !jsonEqual(got, wantJSON) || len(body) != len(want) {
				t.Errorf("/v1/axfr:\n%s\nwant (in any order of names)\n%s", body, want)
			}
			if name == "synthetic" && (len(body) < 256<<10 || largest > 32<<10) {
				t.Errorf("/v1/axfr: %d octets, in pieces of up to %d", len(body), largest)
			}
			// The names of each map come in the zone's canonical order.
			for kind, names := range axfrNames(t, body) {
				if !slices.IsSortedFunc(names, records.CanonicalCompare) {
					t.Errorf("/v1/axfr %s: names out of canonical order: %v", kind, names)
				}
			}

			code, _, body, largest = chunked(t, ta.addr, "/v1/enumerate")
			if want := enumerateWhole(ta); code != http.StatusOK || !bytes.Equal(body, want) {
				t.Errorf("/v1/enumerate: %d\n%s\nwant\n%s", code, body, want)
			}
			if name == "synthetic" && (len(body) < 256<<10 || largest > 32<<10) {
				t.Errorf("/v1/enumerate: %d octets, in pieces of up to %d", len(body), largest)
			}
		})
	}
}

// axfrNames reads the names of each of /v1/axfr's maps, in the order they come.
func axfrNames(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var doc struct{ Records map[string]json.RawMessage }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for kind, raw := range doc.Records {
		d := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("%s: %v %v", kind, tok, err)
		}
		for d.More() {
			name, err := d.Token()
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			var values []string
			if err := d.Decode(&values); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			out[kind] = append(out[kind], name.(string))
		}
	}
	if len(out) == 0 {
		t.Fatal("no names in /v1/axfr")
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// stalledClient asks for path and reads the first octets of the answer, then nothing
// more: once they arrived, the request holds its place among the whole-zone answers.
func stalledClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	c.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
	status := make([]byte, len("HTTP/1.1 200"))
	if _, err := io.ReadFull(c, status); err != nil || string(status) != "HTTP/1.1 200" {
		t.Fatalf("GET %s: %q %v", path, status, err)
	}
	return c
}

// TestHTTPWholeZoneBound: while two whole-zone answers are being written, to clients
// that stopped reading them, a third request for either endpoint is refused with 429
// and Retry-After; the name endpoints still answer; once a client is gone, its place
// is free again.
func TestHTTPWholeZoneBound(t *testing.T) {
	// The clients that stop reading are never dropped here.
	ta := serveTestAPI(t, synthJSON(t), smallSendBuffer, time.Hour)
	full := httpGet(t, ta.base+"/v1/axfr")
	if full.code != http.StatusOK {
		t.Fatalf("/v1/axfr: %d %s", full.code, full.body)
	}
	first := stalledClient(t, ta.addr, "/v1/axfr")
	stalledClient(t, ta.addr, "/v1/enumerate")
	for _, path := range []string{"/v1/axfr", "/v1/enumerate"} {
		resp, err := http.Get(ta.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("a third whole-zone request, %s: %d, Retry-After %q, %d octets", path, resp.StatusCode, resp.Header.Get("Retry-After"), len(b))
		}
	}
	if n := refusedCount(ta, "busy"); n != 2 {
		t.Errorf("%v requests counted as refused for busy, want 2", n)
	}
	if a := httpGet(t, ta.base+"/v1/hosts/leader.mesos"); a.code != http.StatusOK {
		t.Errorf("/v1/hosts while the whole-zone answers are full: %d %s", a.code, a.body)
	}
	first.Close()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		a := httpGet(t, ta.base+"/v1/axfr")
		if a.code == http.StatusTooManyRequests && time.Now().Before(deadline) {
			continue
		}
		if a.code != http.StatusOK || len(a.body) != len(full.body) {
			t.Errorf("/v1/axfr once a client is gone: %d, %d octets of %d", a.code, len(a.body), len(full.body))
		}
		break
	}
}

// TestHTTPWholeZoneStalledClient: a client that asks for the whole zone and stops
// reading is dropped, with only part of the answer.
func TestHTTPWholeZoneStalledClient(t *testing.T) {
	ta := serveTestAPI(t, synthJSON(t), smallSendBuffer, 100*time.Millisecond)
	full := enumerateWhole(ta)
	c, err := net.Dial("tcp", ta.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	fmt.Fprintf(c, "GET /v1/enumerate HTTP/1.1\r\nHost: test\r\n\r\n")
	// Then it pipelines requests and reads nothing. The server reads no further
	// while it answers the first, so they pile up until this side's writes block:
	// they end, with an error, when the server drops the connection.
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	more := bytes.Repeat([]byte("GET /v1/version HTTP/1.1\r\nHost: test\r\n\r\n"), 256)
	var werr error
	for werr == nil {
		_, werr = c.Write(more)
	}
	if errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatal("a client that stopped reading was kept for two minutes")
	}
	got, _ := io.ReadAll(c)
	if len(got) >= len(full) || bytes.HasSuffix(got, []byte("0\r\n\r\n")) {
		t.Errorf("the client that stopped reading got %d octets, the whole answer is %d", len(got), len(full))
	}
	// net/http closes the connection as the write fails, before the handler counts it.
	for deadline := time.Now().Add(30 * time.Second); refusedCount(ta, "stalled") != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v clients counted as dropped for stalling, want 1", refusedCount(ta, "stalled"))
		}
	}
}

// refusedCount is the count of requests ta refused or cut off for reason.
func refusedCount(ta *testAPI, reason string) float64 {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return float64(ta.refused[reason])
}

// TestHTTPWatchOutlastsWriteTimeout: every answer has the write timeout to be taken, but
// a blocking query's wait does not count against it, nor does a whole-zone answer
// before it on the same connection.
func TestHTTPWatchOutlastsWriteTimeout(t *testing.T) {
	ta := serveTestAPI(t, readCapture(t, "../../testdata/mesos/state-1.5.0-dcos.json"), nil, 200*time.Millisecond)
	first := httpGet(t, ta.base+"/v1/hosts/test123.marathon.mesos")
	if first.code != http.StatusOK {
		t.Fatalf("test123.marathon.mesos: %d %s", first.code, first.body)
	}
	if a := httpGet(t, ta.base+"/v1/axfr"); a.code != http.StatusOK || !bytes.Contains(a.body, []byte("test123.marathon.mesos.")) {
		t.Fatalf("/v1/axfr: %d %s", a.code, a.body)
	}
	// Five times the write timeout.
	a := httpGet(t, fmt.Sprintf("%s/v1/hosts/test123.marathon.mesos?index=%d&wait=1s", ta.base, first.index))
	if a.code != http.StatusOK || a.index != first.index || !bytes.Equal(a.body, first.body) {
		t.Errorf("a watch longer than the write timeout: %d %d %s", a.code, a.index, a.body)
	}
}

// TestAppendJSONString: names, ids and addresses are encoded as encoding/json encodes
// them, those that need escapes included.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "web.marathon.mesos.", "a-b_c:31000", "<script>&", `quote" back\`, "\x00\x1f\t\n", "\u2028\u2029", "héllo", "\xff\xfe", "\x7f", "K"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, want %s", s, got[1:], want)
		}
	}
}
