// Command mesos-watch keeps a file rendered from the mesos plugin's HTTP API: it
// watches the names a Go template reads with blocking queries, renders the template
// once the answers settle, replaces the file atomically when the text changed, and
// then runs a command. It is the nginx upstream recipe without cron:
//
//	mesos-watch -api http://127.0.0.1:8123 -template upstream.tmpl \
//	    -out /etc/nginx/conf.d/upstream.conf -exec 'nginx -s reload'
//
// In the template, service "_web._tcp.marathon.mesos" is the list of SRV targets
// (.Host, .IP, .Port, and .Addr, "IP:port"), and hosts "web.marathon.mesos" the list
// of addresses; both are sorted, and empty while the name does not exist.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the command with its arguments; it writes its messages to stderr and returns
// the exit status.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mesos-watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "http://127.0.0.1:8123", "the plugin's HTTP API (the mesos block's http address)")
	tmpl := fs.String("template", "", "the Go text/template to render (required)")
	out := fs.String("out", "", "the file to write (required)")
	command := fs.String("exec", "", "a command to run (with sh -c) after the file changed, such as 'nginx -s reload'")
	wait := fs.String("wait", "100ms:1s", "quiescence MIN:MAX: render MIN after the last change, at most MAX after the first")
	once := fs.Bool("once", false, "render once, run the command if the file changed, and exit")
	tries := fs.Int("tries", 5, "with -once, how many times to ask for a name before exiting with status 1")
	block := fs.Duration("block", 5*time.Minute, "how long one blocking query waits for a change")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tmpl == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "mesos-watch: -template and -out are required, and nothing else is taken")
		fs.Usage()
		return 2
	}
	if *tries < 1 {
		fmt.Fprintln(stderr, "mesos-watch: -tries must be at least 1")
		return 2
	}
	minWait, maxWait, err := parseWait(*wait)
	if err != nil {
		fmt.Fprintln(stderr, "mesos-watch: -wait:", err)
		return 2
	}
	var logMu sync.Mutex
	w, err := newWatcher(config{
		api: strings.TrimSuffix(*api, "/"), template: *tmpl, out: *out, command: *command,
		minWait: minWait, maxWait: maxWait, block: *block, once: *once, tries: *tries,
		// A blocking query returns within its wait and jitter; a server that says
		// nothing past that is gone.
		client: &http.Client{Timeout: *block + *block/16 + 30*time.Second}, logf: func(format string, a ...any) {
			// The watches log from their own goroutines.
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(stderr, "mesos-watch: "+format+"\n", a...)
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, "mesos-watch:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.run(ctx); err != nil {
		fmt.Fprintln(stderr, "mesos-watch:", err)
		return 1
	}
	return 0
}

// parseWait reads MIN:MAX (or one duration, for both).
func parseWait(s string) (time.Duration, time.Duration, error) {
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		hi = lo
	}
	a, err1 := time.ParseDuration(lo)
	b, err2 := time.ParseDuration(hi)
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return 0, 0, fmt.Errorf("%q is not MIN:MAX with 0 <= MIN <= MAX, such as 100ms:1s", s)
	}
	return a, b, nil
}
