package mesos

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coredns-mesos/mesos/plugin/master"
	"github.com/coredns-mesos/mesos/plugin/records"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// What an operator reads in the log: one line for each attempt that failed, and each
// line saying what is served meanwhile.

// streamEnded logs a stream that ended, or one that never opened, once. A stream that
// gave a snapshot is logged as ended (a resync is no news). One that never opened is
// a failed refresh in mode stream; in mode auto the poll that stands in for it counts
// and logs the attempt (pollOnce), and a master that cannot stream is no failure.
func (m *Mesos) streamEnded(err error, reason string, subscribed bool, took time.Duration) {
	switch {
	case reason == "resync", reason == "second_look":
	case subscribed:
		log.Warningf("event stream ended (%s), %s: %s", reason, m.serving("the records it gave"), oneLine(err))
	case m.cfg.mode == modeAuto, reason == "no_stream":
	default:
		m.failed(err, took)
	}
}

// polledInstead logs a stream that did not open while the poll standing in for it
// worked: the records are fresh, but not as fresh as the stream keeps them. A master
// that cannot stream (before 1.5) is polled as a matter of course, and not logged.
func (m *Mesos) polledInstead(streamErr error) {
	if streamErr == nil || errors.Is(streamErr, master.ErrNoStream) {
		return
	}
	log.Warningf("event stream did not open (%s), polled instead: %s", endReason(streamErr), oneLine(streamErr))
}

// serving says what is answered while the masters cannot be followed: what, or
// SERVFAIL when no records were ever loaded (nor handed over by a reload).
func (m *Mesos) serving(what string) string {
	if m.set.Load() == nil {
		return answeringSERVFAIL
	}
	return "serving " + what
}

// answeringSERVFAIL is what the log says is answered before the first records, in the
// same words wherever it says it.
var answeringSERVFAIL = records.ErrNoRecords.Error() + " (answering SERVFAIL)"

// skipSummary is what was left out, as reason=count sorted by reason.
func skipSummary(s state.Skips) string {
	reasons := make([]string, 0, len(s))
	for r, n := range s {
		if n > 0 {
			reasons = append(reasons, r)
		}
	}
	slices.Sort(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s=%d", r, s[r])
	}
	return strings.Join(parts, ", ")
}
