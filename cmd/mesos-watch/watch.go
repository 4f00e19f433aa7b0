package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

type config struct {
	api, template, out, command string
	minWait, maxWait, block     time.Duration
	once                        bool
	// tries bounds, with once, how many times a name is asked for before giving up.
	tries  int
	client *http.Client
	logf   func(string, ...any)
}

// Target is one address of one SRV target of a service.
type Target struct {
	Host string
	IP   string
	Port int
}

// Addr is IP:port, the IPv6 address in brackets.
func (t Target) Addr() string { return net.JoinHostPort(t.IP, strconv.Itoa(t.Port)) }

// key names a watched answer: a service or a host.
type key struct {
	kind string // "services" or "hosts"
	name string
}

type watcher struct {
	cfg  config
	tmpl *template.Template

	mu      sync.Mutex
	answers map[key][]byte // the last good body of each name; absent until its first
	started map[key]bool
	wg      sync.WaitGroup
	changed chan struct{}
	gaveUp  chan error // with once, why a name could not be had
	// commandDue: the file changed and the command has not succeeded since (run's).
	commandDue bool
}

// answerTimeout bounds a query that is not a blocking one: the API answers it at once.
const answerTimeout = 10 * time.Second

func newWatcher(cfg config) (*watcher, error) {
	text, err := os.ReadFile(cfg.template)
	if err != nil {
		return nil, err
	}
	w := &watcher{cfg: cfg, answers: map[key][]byte{}, started: map[key]bool{}, changed: make(chan struct{}, 1), gaveUp: make(chan error, 1)}
	// The functions are bound at each execution; these parse the template.
	w.tmpl, err = template.New(filepath.Base(cfg.template)).Option("missingkey=error").Funcs(template.FuncMap{
		"service": func(string) []Target { return nil },
		"hosts":   func(string) []string { return nil },
	}).Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", cfg.template, err)
	}
	return w, nil
}

// render executes the template on the answers held. It reports the names the
// template reads that have no answer yet, and starts watching the new ones.
func (w *watcher) render(ctx context.Context) (out []byte, waiting int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var reads []key
	use := func(k key) []byte {
		reads = append(reads, k)
		if _, ok := w.answers[k]; !ok {
			waiting++
		}
		return w.answers[k]
	}
	t, err := w.tmpl.Clone()
	if err != nil {
		return nil, 0, err
	}
	t.Funcs(template.FuncMap{
		"service": func(name string) ([]Target, error) { return services(use(key{"services", name})) },
		"hosts":   func(name string) ([]string, error) { return hosts(use(key{"hosts", name})) },
	})
	var buf bytes.Buffer
	err = t.Execute(&buf, nil)
	for _, k := range reads {
		if !w.started[k] {
			w.started[k] = true
			w.wg.Go(func() { w.follow(ctx, k) })
		}
	}
	if err != nil {
		return nil, waiting, fmt.Errorf("template %s: %w", w.cfg.template, err)
	}
	return buf.Bytes(), waiting, nil
}

func services(body []byte) ([]Target, error) {
	if body == nil {
		return nil, nil
	}
	var es []struct {
		Host       string `json:"host"`
		IP         string `json:"ip"`
		PortNumber int    `json:"port_number"`
	}
	if err := json.Unmarshal(body, &es); err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(es))
	for _, e := range es {
		if e.IP != "" {
			out = append(out, Target{Host: e.Host, IP: e.IP, Port: e.PortNumber})
		}
	}
	slices.SortFunc(out, func(a, b Target) int {
		return strings.Compare(fmt.Sprintf("%s %05d %s", a.Host, a.Port, a.IP), fmt.Sprintf("%s %05d %s", b.Host, b.Port, b.IP))
	})
	return slices.Compact(out), nil
}

func hosts(body []byte) ([]string, error) {
	if body == nil {
		return nil, nil
	}
	var es []struct {
		IP string `json:"ip"`
	}
	if err := json.Unmarshal(body, &es); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.IP)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// follow keeps k's answer with blocking queries until ctx ends. On an error it keeps
// the last good answer and retries with backoff; with once, a name that has no answer
// after cfg.tries tries ends the watcher.
func (w *watcher) follow(ctx context.Context, k key) {
	var index uint64
	backoff := 100 * time.Millisecond
	failures := 0
	for ctx.Err() == nil {
		start := time.Now()
		body, next, err := w.get(ctx, k, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			w.mu.Lock()
			_, had := w.answers[k]
			w.mu.Unlock()
			if w.cfg.once && !had && failures >= w.cfg.tries {
				select {
				case w.gaveUp <- fmt.Errorf("%s %s: giving up after %d tries: %w", k.kind, k.name, failures, err):
				default:
				}
				return
			}
			keep := "no answer yet"
			if had {
				keep = "keeping the last answer"
			}
			w.cfg.logf("%s %s: %v (%s, retrying in %v)", k.kind, k.name, err, keep, backoff)
			if !sleep(ctx, backoff+rand.N(backoff/2+1)) { // #nosec G404 -- spreads retries
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff, failures = 100*time.Millisecond, 0
		w.mu.Lock()
		old, had := w.answers[k]
		w.answers[k] = body
		w.mu.Unlock()
		if !had || !bytes.Equal(old, body) {
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
		if next < index {
			// The index went backwards (the server restarted): start again.
			next = 0
		}
		if next == index && time.Since(start) < 100*time.Millisecond {
			// An answer at once with the same index: do not spin.
			if !sleep(ctx, 100*time.Millisecond) {
				return
			}
		}
		index = next
	}
}

func (w *watcher) get(ctx context.Context, k key, index uint64) ([]byte, uint64, error) {
	u := w.cfg.api + "/v1/" + k.kind + "/" + url.PathEscape(k.name)
	if index > 0 {
		u += "?index=" + strconv.FormatUint(index, 10) + "&wait=" + w.cfg.block.String()
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, answerTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := w.cfg.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return nil, 0, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	next, err := strconv.ParseUint(resp.Header.Get("X-Mesos-Index"), 10, 64)
	if err != nil {
		return nil, 0, errors.New("the answer has no X-Mesos-Index: is this the mesos plugin's API?")
	}
	// A proxy may answer 200 with a page of its own: an error like any other, never
	// an answer to render.
	if err := decodes(k.kind, body); err != nil {
		return nil, 0, fmt.Errorf("%s, but the body does not decode (%v): %q", resp.Status, err, excerpt(body))
	}
	return body, next, nil
}

// decodes checks that body is an answer of kind that the template functions can read.
func decodes(kind string, body []byte) error {
	var err error
	if kind == "hosts" {
		_, err = hosts(body)
	} else {
		_, err = services(body)
	}
	return err
}

// excerpt is the start of a body, for a message.
func excerpt(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > 100 {
		b = append(b[:100:100], "..."...)
	}
	return b
}

// Retries of a file or a command that failed: from retryFirst, doubling, up to
// retryMax.
var retryFirst, retryMax = time.Second, time.Minute

// run renders whenever the answers settle, until ctx ends (or once). A file that
// cannot be written, or a command that fails, is tried again with backoff until it
// works, the command even when the file no longer changes; with once, either ends
// the run with its error.
func (w *watcher) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		w.wg.Wait()
	}()
	var timer, retry <-chan time.Time
	var deadline time.Time
	var backoff time.Duration
	first := true
	for {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case err := <-w.gaveUp:
				return err
			case <-retry:
				retry = nil
			case <-w.changed:
				now := time.Now()
				if timer == nil {
					deadline = now.Add(w.cfg.maxWait)
				}
				// Each change moves the render MIN later, never past MAX after the
				// first.
				timer = time.After(min(w.cfg.minWait, time.Until(deadline)))
				continue
			case <-timer:
				timer = nil
			}
		}
		out, waiting, err := w.render(ctx)
		if err != nil {
			return err
		}
		if waiting > 0 {
			// Not every name has answered yet: wait for them.
			first = false
			continue
		}
		first = false
		err = w.write(out)
		if w.cfg.once {
			return err
		}
		if err == nil {
			backoff, retry = 0, nil
			continue
		}
		backoff = min(max(2*backoff, retryFirst), retryMax)
		w.cfg.logf("%v (trying again in %v)", err, backoff)
		retry = time.After(backoff)
	}
}

// write replaces the file with out, atomically, when the text differs, and then runs
// the command; a command that failed runs again even when the text is the same. With
// once, a command that fails puts the file back as it was: a script that runs -once
// again then sees the change, and the command's failure, again.
func (w *watcher) write(out []byte) error {
	old, readErr := os.ReadFile(w.cfg.out)
	if readErr == nil && bytes.Equal(old, out) {
		return w.runCommand()
	}
	if err := w.replace(out); err != nil {
		return err
	}
	w.cfg.logf("wrote %s (%d bytes)", w.cfg.out, len(out))
	w.commandDue = w.cfg.command != ""
	err := w.runCommand()
	if err != nil && w.cfg.once {
		back := os.Remove(w.cfg.out)
		if readErr == nil {
			back = w.replace(old)
		}
		if back != nil {
			return fmt.Errorf("%w; putting %s back: %v", err, w.cfg.out, back)
		}
		w.cfg.logf("put %s back as it was", w.cfg.out)
	}
	return err
}

// replace writes out to the file atomically: a temporary file beside it, with its
// mode, then a rename.
func (w *watcher) replace(out []byte) error {
	dir := filepath.Dir(w.cfg.out)
	f, err := os.CreateTemp(dir, "."+filepath.Base(w.cfg.out)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(w.cfg.out); err == nil {
		mode = fi.Mode().Perm()
	}
	_, err = f.Write(out)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, w.cfg.out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", w.cfg.out, err)
	}
	return nil
}

// runCommand runs the command if the file changed since it last succeeded.
func (w *watcher) runCommand() error {
	if !w.commandDue {
		return nil
	}
	cmd := exec.Command("sh", "-c", w.cfg.command) // #nosec G204 -- the operator's own command
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", w.cfg.command, err, bytes.TrimSpace(b))
	}
	w.commandDue = false
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
