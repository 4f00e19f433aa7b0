package records

import (
	"crypto/sha1" // #nosec G505 -- SHA-1 is Mesos-DNS's task-name hash, part of the names, not security
	"strings"
)

// Label limits: RFC 1123 allows 63 octets; RFC 952 (the option) 24.
const (
	maxLabel       = 63
	maxLabelRFC952 = 24
	maxName        = 253
)

// labeler turns Mesos strings into DNS labels under one of the two rule sets.
type labeler struct {
	rfc952 bool
}

func (l labeler) limit() int {
	if l.rfc952 {
		return maxLabelRFC952
	}
	return maxLabel
}

// label maps s to one DNS label (dots become dashes).
func (l labeler) label(s string) string {
	if l.clean(s) {
		return s
	}
	lim := l.limit()
	m := make([]byte, 0, len(s))
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			m = append(m, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			m = append(m, c)
		case c == '-', c == '.', c == '_':
			m = append(m, '-')
		}
	}
	rest := trimLeading(m, l.rfc952)
	out := make([]byte, 0, min(lim, len(rest)))
	// Cut at the limit, drop the dashes that would end the label, and refill from
	// what follows so that a long run of dashes does not eat the label's tail.
	for len(rest) > 0 && len(out) < lim {
		n := min(lim-len(out), len(rest))
		out = append(out, rest[:n]...)
		rest = rest[n:]
		for len(out) > 0 && out[len(out)-1] == '-' {
			out = out[:len(out)-1]
		}
		for len(rest) > 0 && rest[0] == '-' {
			rest = rest[1:]
		}
	}
	return string(out)
}

func trimLeading(m []byte, rfc952 bool) []byte {
	for len(m) > 0 && (m[0] == '-' || rfc952 && m[0] >= '0' && m[0] <= '9') {
		m = m[1:]
	}
	return m
}

// clean reports whether s already is a label under l, the common case, which then
// costs no allocation.
func (l labeler) clean(s string) bool {
	if s == "" || len(s) > l.limit() || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	if l.rfc952 && s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// labels maps s to a dot-separated sequence of labels, dropping empty ones.
func (l labeler) labels(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return l.label(s)
	}
	var b strings.Builder
	for part := range strings.SplitSeq(s, ".") {
		if p := l.label(part); p != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

// cut shortens an already mapped label to n octets without leaving a trailing dash.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return strings.TrimRight(s[:n], "-")
}

const zbase32 = "ybndrfg8ejkmcpqxot1uwisza345h769"

// TaskHash is the 5-character z-base-32 prefix of SHA-1(id): its top 25 bits.
func TaskHash(id string) string { return string(appendTaskHash(nil, id)) }

// appendTaskHash appends TaskHash(id) to dst.
func appendTaskHash(dst []byte, id string) []byte {
	var buf [96]byte                        // most ids: no allocation
	sum := sha1.Sum(append(buf[:0], id...)) // #nosec G401 -- as above
	v := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	for i := range 5 {
		dst = append(dst, zbase32[v>>(27-5*i)&31])
	}
	return dst
}
