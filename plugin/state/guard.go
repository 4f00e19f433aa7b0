package state

import (
	"bytes"
	"errors"
	"io"
)

// Bounds on one JSON token. The JSON decoder holds a token whole in its buffer, which
// it grows by doubling, so that one long token costs up to three times its length: a
// gzip-encoded body of 400 KB holding one 400 MiB string, well under max_state_size,
// took gigabytes. The guard keeps every token under these bounds before the decoder
// sees it, so that decoding costs what the records need plus a few MiB.
const (
	// maxString bounds a string as written (escapes included). No string a record is
	// made of comes near it; a longer one is cut out (see tooLong).
	maxString = 1 << 20
	// maxBlank bounds a run of whitespace: no master writes one, a gzip bomb does.
	maxBlank = 64 << 10
	// maxNumber bounds a number (or any other token outside a string).
	maxNumber = 4 << 10
)

// Errors that end a document with a token over its bound.
var (
	ErrBlank  = errors.New("a run of blanks over 64 KiB")
	ErrNumber = errors.New("a number over 4 KiB")
)

// tooLong stands in for a string over maxString. It is itself a string, so that the
// value keeps its JSON type and the document its shape: a field nothing reads is
// passed over, one the records read makes its entity malformed (strBytes), and each
// is counted as SkipValueTooLong.
const tooLong = `"\u0000over 1 MiB\u0000"`

// guard reads a JSON body for the decoder and keeps its tokens within the bounds
// above. It knows of JSON only strings, escapes and blanks: the decoder checks the rest.
type guard struct {
	r    io.Reader
	rerr error // what r ended with
	err  error // a bound exceeded; the document ends there

	// buf[off:rel] is ready to hand out; buf[rel:scan] is a string still open, held
	// back until it ends or passes maxString; buf[scan:] is not looked at yet.
	buf            []byte
	off, rel, scan int
	state          uint8
	started        bool // the byte order mark, if any, is behind

	blank, number int // the run of blanks, or the number, that the bytes so far end in
	cut           int // strings replaced by tooLong
}

// guard states: between tokens, in a string (after a backslash), or in a string over
// the bound, whose bytes are dropped.
const (
	outside uint8 = iota
	inString
	inStringEscape
	dropping
	droppingEscape
)

// minRead is the least room a read from the body gets.
const minRead = 16 << 10

// reset readies g for another body; a buffer grown for a long string is let go.
func (g *guard) reset(r io.Reader) {
	buf := g.buf[:0]
	if cap(buf) > 4*minRead {
		buf = nil
	}
	*g = guard{r: r, buf: buf}
}

func (g *guard) Read(p []byte) (int, error) {
	if !g.started {
		g.start()
	}
	for g.off == g.rel {
		if g.err != nil {
			return 0, g.err
		}
		if g.rerr != nil {
			if g.rel < len(g.buf) {
				// The body ended in a string: it goes out as it is, for the decoder to
				// find the document cut short.
				g.rel = len(g.buf)
				break
			}
			return 0, g.rerr
		}
		g.fill()
		g.process()
	}
	n := copy(p, g.buf[g.off:g.rel])
	g.off += n
	return n, nil
}

// start drops a byte order mark: a proxy that re-encodes the body may prepend one,
// and JSON allows none.
func (g *guard) start() {
	g.started = true
	for len(g.buf) < 3 && g.rerr == nil {
		g.fill()
	}
	if bytes.HasPrefix(g.buf, []byte("\xef\xbb\xbf")) {
		g.off, g.rel, g.scan = 3, 3, 3
	}
	g.process()
}

// fill reads more of the body after what buf holds.
func (g *guard) fill() {
	if g.off > 0 && cap(g.buf)-len(g.buf) < minRead {
		n := copy(g.buf, g.buf[g.off:])
		g.rel -= g.off
		g.scan -= g.off
		g.buf = g.buf[:n]
		g.off = 0
	}
	if cap(g.buf)-len(g.buf) < minRead {
		// Only a string held back (at most maxString) or a short read makes it grow.
		buf := make([]byte, len(g.buf), 2*cap(g.buf)+minRead)
		copy(buf, g.buf)
		g.buf = buf
	}
	n, err := g.r.Read(g.buf[len(g.buf):cap(g.buf)])
	g.buf = g.buf[:len(g.buf)+n]
	if err != nil {
		g.rerr = err
	}
}

// process looks at what fill added.
func (g *guard) process() {
	for g.scan < len(g.buf) && g.err == nil {
		switch g.state {
		case outside:
			g.between()
		case inString, inStringEscape:
			g.inString()
		default:
			g.drop()
		}
	}
}

// between goes over the bytes between tokens, up to the next string.
func (g *guard) between() {
	p := g.buf[g.scan:]
	q := bytes.IndexByte(p, '"')
	if q >= 0 {
		p = p[:q]
	}
	for _, c := range p {
		switch c {
		case ' ', '\t', '\n', '\r':
			g.number = 0
			if g.blank++; g.blank > maxBlank {
				g.err = ErrBlank
				return
			}
		case ',', ':', '{', '}', '[', ']':
			g.blank, g.number = 0, 0
		default:
			g.blank = 0
			if g.number++; g.number > maxNumber {
				g.err = ErrNumber
				return
			}
		}
	}
	if q < 0 {
		g.scan = len(g.buf)
		g.rel = g.scan
		return
	}
	g.blank, g.number = 0, 0
	g.scan += q
	g.rel = g.scan
	g.scan++
	g.state = inString
}

// inString goes on with a string, held back from g.rel.
func (g *guard) inString() {
	g.scan += g.stringPart()
	// The content so far: without the opening quote, and the closing one if seen.
	n := g.scan - g.rel - 1
	if g.state == outside {
		n--
	}
	switch {
	case n > maxString:
		g.cut++
		g.replace(g.rel, g.scan, tooLong)
		if g.state != outside {
			g.state += dropping - inString
		}
	case g.state == outside:
		g.rel = g.scan
	}
}

// drop goes on with a string over the bound, whose bytes are let go.
func (g *guard) drop() {
	from := g.scan
	g.scan += g.stringPart()
	g.replace(from, g.scan, "")
}

// stringPart goes over the string content at g.scan: it returns how much of it is
// in buf, and moves g.state on (out of the string, or onto an escape still to come).
func (g *guard) stringPart() int {
	p := g.buf[g.scan:]
	skip := 0
	if g.state == inStringEscape || g.state == droppingEscape {
		// The byte after a backslash, which the last part ended in.
		g.state--
		skip = 1
	}
	n, closed, escape := scanString(p[skip:])
	switch {
	case closed:
		g.state = outside
	case escape:
		g.state++
	}
	return skip + n
}

// scanString goes over string content: it returns the length up to and including
// the closing quote (closed), or else all of p, with escape set when p ends in a
// backslash whose escaped byte is still to come. Each byte is looked at about once,
// however the backslashes and quotes fall.
func scanString(p []byte) (n int, closed, escape bool) {
	i := 0
	for {
		q := bytes.IndexByte(p[i:], '"')
		end := len(p)
		if q >= 0 {
			end = i + q
		}
		for i <= end {
			b := bytes.IndexByte(p[i:end], '\\')
			if b < 0 {
				break
			}
			i += b + 2
		}
		switch {
		case i > len(p):
			return len(p), false, true
		case i > end:
			// The quote was escaped: look for the next one.
			continue
		case q < 0:
			return len(p), false, false
		}
		return end + 1, true, false
	}
}

// replace puts s in place of buf[from:to], and goes on after it.
func (g *guard) replace(from, to int, s string) {
	n := copy(g.buf[from:], s)
	tail := copy(g.buf[from+n:], g.buf[to:])
	g.buf = g.buf[:from+n+tail]
	g.scan = from + n
	g.rel = g.scan
}
