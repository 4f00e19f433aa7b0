package mesos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coredns-mesos/mesos/internal/state"
)

// What an operator reads in the log: one line for each attempt that failed, and each
// line saying what is served meanwhile.

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
