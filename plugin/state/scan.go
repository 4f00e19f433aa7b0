package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"
)

// Bounds on one JSON token. A decoder holds a token whole in its buffer, so that one
// long token would cost its length: a gzip-encoded body of 400 KB holding one 400 MiB
// string, well under max_state_size, took gigabytes before these bounds. The scanner
// keeps every token it holds under them, so that decoding costs what the records
// need plus a few MiB.
const (
	// maxString bounds a string as written (escapes included). No string a record is
	// made of comes near it; a longer one is cut out (see tooLong).
	maxString = 1 << 20
	// maxBlank bounds a run of whitespace: no master writes one, a gzip bomb does.
	maxBlank = 64 << 10
	// maxNumber bounds a number.
	maxNumber = 4 << 10
	// maxDepth bounds the nesting of objects and arrays (as encoding/json/v2 does).
	maxDepth = 10000
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

// scanner reads JSON tokens from a stream, checking the grammar as it goes (RFC 8259,
// without UTF-8 validation: no record needs it) and keeping each token within the
// bounds above. It is the part of encoding/json/v2's jsontext.Decoder the decoders
// use, made for them: a string's bytes are looked at once, by a table, where the
// general decoder and a separate guard for the bounds looked at them three times.
//
// Bytes a method returns are valid until the next call.
type scanner struct {
	r    io.Reader
	rerr error // what r ended with
	err  error // the first syntax error or bound passed; every call after returns it

	buf  []byte
	pos  int   // the next byte to look at in buf
	base int64 // the input offset of buf[0]

	state   uint8
	stack   []byte // the open containers, '{' or '['
	started bool   // the byte order mark, if any, is behind
	cut     int    // strings replaced by tooLong
}

// What comes next, as the grammar has it.
const (
	stValue      uint8 = iota // a value: the document's, after ':' or an array's ','
	stValueOrEnd              // after '['
	stNameOrEnd               // after '{'
	stName                    // after an object's ','
	stColon                   // after a name
	stCommaOrEnd              // after a value in an object or array
	stDone                    // after the document's value
)

const scanBuffer = 64 << 10

func newScanner(r io.Reader) *scanner {
	s := &scanner{}
	s.reset(r)
	return s
}

// reset readies s for another document; a buffer grown for a long token is let go.
func (s *scanner) reset(r io.Reader) {
	buf := s.buf[:0]
	if cap(buf) > scanBuffer {
		buf = nil
	}
	stack := s.stack[:0]
	*s = scanner{r: r, buf: buf, stack: stack}
}

// more reads more of the input after buf's end; the bytes before buf[*keep] may go.
// It reports whether any byte came; s.rerr says why not.
func (s *scanner) more(keep *int) bool {
	if s.rerr != nil {
		return false
	}
	if *keep > 0 && cap(s.buf)-len(s.buf) < scanBuffer/4 {
		n := copy(s.buf, s.buf[*keep:])
		s.base += int64(*keep)
		s.pos -= *keep
		*keep = 0
		s.buf = s.buf[:n]
	}
	if cap(s.buf)-len(s.buf) < scanBuffer/4 {
		// Only a token longer than a quarter of the buffer makes it grow; the bounds
		// keep it to a few MiB.
		buf := make([]byte, len(s.buf), 2*cap(s.buf)+scanBuffer)
		copy(buf, s.buf)
		s.buf = buf
	}
	for range 100 {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.rerr = err
		}
		if n > 0 || err != nil {
			return n > 0
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// fail records err as the scanner's end and returns it.
func (s *scanner) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// eof is the error for input that ended: a read error as it is, io.EOF before the
// document or after it, io.ErrUnexpectedEOF inside it.
func (s *scanner) eof() error {
	switch {
	case s.rerr != nil && s.rerr != io.EOF:
		return s.fail(s.rerr)
	case s.state == stDone || s.state == stValue && len(s.stack) == 0:
		return io.EOF // not sticky: it is where a document may end
	}
	return s.fail(fmt.Errorf("%w at offset %d", io.ErrUnexpectedEOF, s.offset()))
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// InputOffset is the offset in the input of the next byte to look at.
func (s *scanner) InputOffset() int64 { return s.offset() }

func (s *scanner) syntax(c byte, where string) error {
	return s.fail(fmt.Errorf("invalid character %q %s at offset %d", c, where, s.offset()))
}

// blank goes over whitespace; it returns the byte after it, or an error.
func (s *scanner) blank() (byte, error) {
	run := 0
	for {
		i := s.pos
		for i < len(s.buf) && blankByte[s.buf[i]] {
			i++
		}
		run += i - s.pos
		s.pos = i
		if run > maxBlank {
			s.pos -= run - maxBlank - 1
			return 0, s.fail(fmt.Errorf("%w at offset %d", ErrBlank, s.offset()))
		}
		if i < len(s.buf) {
			return s.buf[i], nil
		}
		keep := s.pos
		if !s.more(&keep) {
			return 0, s.eof()
		}
	}
}

// prepare goes over blanks and separators up to the next token, and returns its
// first byte; state then says what that token may be.
func (s *scanner) prepare() (byte, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.started {
		s.start()
	}
	for {
		var c byte
		if s.pos < len(s.buf) && !blankByte[s.buf[s.pos]] {
			c = s.buf[s.pos]
		} else {
			var err error
			if c, err = s.blank(); err != nil {
				return 0, err
			}
		}
		switch s.state {
		case stColon:
			if c != ':' {
				return 0, s.syntax(c, "after an object name")
			}
			s.pos++
			s.state = stValue
		case stCommaOrEnd:
			if c == ',' {
				s.pos++
				s.state = stValue
				if s.stack[len(s.stack)-1] == '{' {
					s.state = stName
				}
				continue
			}
			return c, nil
		default:
			return c, nil
		}
	}
}

// start drops a byte order mark: a proxy that re-encodes the body may prepend one,
// and JSON allows none.
func (s *scanner) start() {
	s.started = true
	keep := 0
	for len(s.buf) < 3 && s.more(&keep) {
	}
	if bytes.HasPrefix(s.buf, []byte("\xef\xbb\xbf")) {
		s.pos = 3
	}
}

// PeekKind returns the kind of the next token ('{', '}', '[', ']', '"', '0' for a
// number, 't', 'f', 'n'), or 0 when there is none (the next call says why).
func (s *scanner) PeekKind() byte {
	c, err := s.prepare()
	if err != nil {
		return 0
	}
	switch c {
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return '0'
	case '{', '}', '[', ']', '"', 't', 'f', 'n':
		return c
	}
	return 0
}

// ReadToken reads the next token: a delimiter, or a scalar whose bytes it returns
// (a string with its quotes). At the end of the input it returns io.EOF.
func (s *scanner) ReadToken() ([]byte, error) {
	c, err := s.prepare()
	if err != nil {
		return nil, err
	}
	switch c {
	case '{', '[':
		if s.state != stValue && s.state != stValueOrEnd {
			return nil, s.unexpected(c)
		}
		if len(s.stack) >= maxDepth {
			return nil, s.fail(fmt.Errorf("nesting deeper than %d at offset %d", maxDepth, s.offset()))
		}
		s.stack = append(s.stack, c)
		s.pos++
		s.state = stValueOrEnd
		if c == '{' {
			s.state = stNameOrEnd
		}
		return s.buf[s.pos-1 : s.pos], nil
	case '}', ']':
		open := byte('{')
		if c == ']' {
			open = '['
		}
		top := byte(0)
		if len(s.stack) > 0 {
			top = s.stack[len(s.stack)-1]
		}
		switch {
		case top != open:
			return nil, s.unexpected(c)
		case s.state == stCommaOrEnd, c == '}' && s.state == stNameOrEnd, c == ']' && s.state == stValueOrEnd:
		default:
			return nil, s.unexpected(c)
		}
		s.stack = s.stack[:len(s.stack)-1]
		s.pos++
		s.after()
		return s.buf[s.pos-1 : s.pos], nil
	case '"':
		switch s.state {
		case stName, stNameOrEnd:
			v, err := s.str()
			if err == nil {
				s.state = stColon
			}
			return v, err
		case stValue, stValueOrEnd:
			v, err := s.str()
			if err == nil {
				s.after()
			}
			return v, err
		}
	default:
		if s.state != stValue && s.state != stValueOrEnd {
			break
		}
		var v []byte
		switch c {
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			v, err = s.number()
		case 't':
			v, err = s.literal("true")
		case 'f':
			v, err = s.literal("false")
		case 'n':
			v, err = s.literal("null")
		default:
			return nil, s.syntax(c, "where a value belongs")
		}
		if err == nil {
			s.after()
		}
		return v, err
	}
	return nil, s.unexpected(c)
}

// unexpected is the error for a token where the grammar wants another.
func (s *scanner) unexpected(c byte) error {
	where := "where a value belongs"
	switch s.state {
	case stDone:
		where = "after the top-level value"
	case stName, stNameOrEnd:
		where = "where an object name belongs"
	case stCommaOrEnd:
		where = "after a value"
	}
	return s.syntax(c, where)
}

// after moves on past a value.
func (s *scanner) after() {
	s.state = stCommaOrEnd
	if len(s.stack) == 0 {
		s.state = stDone
	}
}

// What ReadValue returns for an object or an array it skipped.
var openObject, openArray = []byte("{"), []byte("[")

// ReadValue reads the next value: a scalar's bytes as ReadToken gives them, or an
// object or array skipped whole, of which it returns the first byte alone.
func (s *scanner) ReadValue() ([]byte, error) {
	v, err := s.ReadToken()
	if err != nil {
		return nil, err
	}
	switch v[0] {
	case '}', ']':
		return nil, s.syntax(v[0], "where a value belongs")
	case '{':
		// Not a slice of buf: skipping the rest may move buf's bytes.
		return openObject, s.skipRest()
	case '[':
		return openArray, s.skipRest()
	}
	return v, nil
}

// SkipValue reads the next value and lets it go.
func (s *scanner) SkipValue() error {
	v, err := s.ReadToken()
	switch {
	case err != nil:
		return err
	case v[0] == '}' || v[0] == ']':
		return s.syntax(v[0], "where a value belongs")
	case v[0] == '{' || v[0] == '[':
		return s.skipRest()
	case s.state == stColon:
		// A name: its value goes with it.
		return s.SkipValue()
	}
	return nil
}

// skipRest reads up to the end of the container just opened.
func (s *scanner) skipRest() error {
	for depth := len(s.stack); len(s.stack) >= depth; {
		if _, err := s.ReadToken(); err != nil {
			if err == io.EOF {
				err = s.fail(fmt.Errorf("%w at offset %d", io.ErrUnexpectedEOF, s.offset()))
			}
			return err
		}
	}
	return nil
}

// literal reads true, false or null.
func (s *scanner) literal(want string) ([]byte, error) {
	start := s.pos
	for len(s.buf)-start < len(want) {
		if !s.more(&start) {
			break
		}
	}
	s.pos = start
	for i := range len(want) {
		if start+i >= len(s.buf) {
			s.pos = start + i
			if s.rerr != nil && s.rerr != io.EOF {
				return nil, s.fail(s.rerr)
			}
			return nil, s.fail(fmt.Errorf("%w at offset %d", io.ErrUnexpectedEOF, s.offset()))
		}
		if s.buf[start+i] != want[i] {
			s.pos = start + i
			return nil, s.syntax(s.buf[start+i], "in literal "+want)
		}
	}
	s.pos = start + len(want)
	return s.buf[start:s.pos], nil
}

// number reads a number as RFC 8259 writes it.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	end := start
	for {
		for end < len(s.buf) && numByte[s.buf[end]] {
			end++
		}
		if end-start > maxNumber {
			return nil, s.fail(fmt.Errorf("%w at offset %d", ErrNumber, s.offset()))
		}
		if end < len(s.buf) {
			break
		}
		off := end - start
		more := s.more(&start)
		end = start + off
		if !more {
			if s.rerr != io.EOF {
				return nil, s.eof()
			}
			break
		}
	}
	v := s.buf[start:end]
	n := numberLen(v)
	s.pos = start + n
	switch {
	case n < len(v):
		// "01", "1-2", "1.e5": the grammar stops before a byte numbers are made of.
		return nil, s.syntax(v[n], "in number")
	case !numEnd(v[n-1]):
		// "-", "1.", "1e+", cut short by what follows, or by the end.
		if s.pos < len(s.buf) {
			return nil, s.syntax(s.buf[s.pos], "in number")
		}
		return nil, s.fail(fmt.Errorf("%w in a number at offset %d", io.ErrUnexpectedEOF, s.offset()))
	}
	return v, nil
}

// numEnd reports whether a number may end in c.
func numEnd(c byte) bool { return c >= '0' && c <= '9' }

// numberLen returns how much of v the grammar of a number takes, stopping at the first
// byte that cannot come next (a number is whole when it ends in a digit).
func numberLen(v []byte) int {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case i < len(v) && v[i] >= '1' && v[i] <= '9':
		for i++; i < len(v) && numEnd(v[i]); i++ {
		}
	default:
		return i
	}
	if i < len(v) && v[i] == '.' {
		i++
		if i == len(v) || !numEnd(v[i]) {
			return i
		}
		for ; i < len(v) && numEnd(v[i]); i++ {
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if i == len(v) || !numEnd(v[i]) {
			return i
		}
		for ; i < len(v) && numEnd(v[i]); i++ {
		}
	}
	return i
}

// str reads a string, quotes included. One over maxString is read to its end and
// let go as it is read, and tooLong returned in its place.
func (s *scanner) str() ([]byte, error) {
	start := s.pos
	i := start + 1
	dropping := false
	for {
		b := s.buf
		for i < len(b) && strByte[b[i]] {
			i++
		}
		// An escape that may go on past what is read waits for more, below, where
		// the string's bound is kept.
		if i < len(b) && (b[i] != '\\' || len(b)-i >= 6 || s.rerr != nil) {
			switch c := b[i]; c {
			case '"':
				s.pos = i + 1
				if dropping || i-start-1 > maxString {
					s.cut++
					return []byte(tooLong), nil
				}
				return b[start:s.pos], nil
			case '\\':
				next, err := s.escape(i)
				if err != nil {
					return nil, err
				}
				i = next
				continue
			default:
				s.pos = i
				return nil, s.syntax(c, "in string")
			}
		}
		if !dropping && i-start-1 > maxString {
			dropping = true
		}
		if dropping {
			// What is looked at goes: the string holds no room.
			start = i
		}
		off := i - start
		if !s.more(&start) {
			if s.rerr == io.EOF && start+off < len(s.buf) {
				// An escape waited for more, and the input ended: take it as it is.
				i = start + off
				continue
			}
			s.pos = start + off
			if s.rerr != nil && s.rerr != io.EOF {
				return nil, s.fail(s.rerr)
			}
			return nil, s.fail(fmt.Errorf("%w in a string at offset %d", io.ErrUnexpectedEOF, s.offset()))
		}
		i = start + off
	}
}

// escape checks the escape at buf[i] (a backslash) and returns where the string goes
// on. str reads ahead before it, so that buf holds the whole escape unless the input
// ends first.
func (s *scanner) escape(i int) (int, error) {
	b := s.buf[i:]
	if len(b) < 2 {
		s.pos = i
		return 0, s.fail(fmt.Errorf("%w in a string at offset %d", io.ErrUnexpectedEOF, s.offset()))
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, nil
	case 'u':
		for k := 2; k < 6; k++ {
			if k >= len(b) {
				s.pos = i + k
				return 0, s.fail(fmt.Errorf("%w in a string at offset %d", io.ErrUnexpectedEOF, s.offset()))
			}
			if !hexByte(b[k]) {
				s.pos = i + k
				return 0, s.syntax(b[k], "in \\u escape")
			}
		}
		return i + 6, nil
	}
	s.pos = i + 1
	return 0, s.syntax(b[1], "in string escape")
}

func hexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// strByte marks the bytes a string holds as they are: not a quote, a backslash or a
// control character. numByte marks the bytes numbers are made of, blankByte JSON's
// whitespace.
var strByte, numByte, blankByte = func() (str, num, blank [256]bool) {
	for c := range 256 {
		str[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	for _, c := range []byte("0123456789+-.eE") {
		num[c] = true
	}
	for _, c := range []byte(" \t\n\r") {
		blank[c] = true
	}
	return str, num, blank
}()

// float parses a number ReadToken returned.
func float(v []byte) (float64, error) {
	return strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64)
}
