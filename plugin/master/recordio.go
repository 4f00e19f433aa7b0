package master

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrRecordIO is a stream that is not RecordIO: a record length that is not a decimal
// number, or one over the bound.
var ErrRecordIO = errors.New("malformed RecordIO")

// reuseMax is the largest record buffer kept for the next record.
const reuseMax = 1 << 20

// RecordReader splits a RecordIO stream ("<decimal length>\n<that many bytes>",
// repeated) into records. It reads from the byte stream: how the HTTP body was chunked
// does not matter. A record's length is a bound on what it may hold, never an
// allocation: the bytes are held as they come (Next), or not at all (NextReader).
type RecordReader struct {
	r   *bufio.Reader
	max int64
	buf []byte
	rec record
	// last is the length of the last record NextReader began.
	last int64
}

// NewRecordReader reads records of at most max bytes from r.
func NewRecordReader(r io.Reader, max int64) *RecordReader {
	return &RecordReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next record, valid until the next call. At the end of the stream it
// returns io.EOF; a stream that ends inside a record, io.ErrUnexpectedEOF.
func (rr *RecordReader) Next() ([]byte, error) {
	rec, err := rr.NextReader()
	if err != nil {
		return nil, err
	}
	// The buffer is reused, except after a large record (the SUBSCRIBED snapshot of a
	// big cluster): keeping that one would hold its size for the stream's life.
	if cap(rr.buf) > reuseMax {
		rr.buf = nil
	}
	buf := rr.buf[:0]
	for rr.rec.left > 0 {
		if len(buf) == cap(buf) {
			// Grown as the bytes arrive, doubling, to at most the length announced.
			c := max(2*cap(buf), 4096)
			if left := rr.rec.left; int64(c-len(buf)) > left {
				c = len(buf) + int(left)
			}
			grown := make([]byte, len(buf), c)
			copy(grown, buf)
			buf = grown
		}
		n, err := rec.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			rr.buf = buf
			return nil, err
		}
	}
	rr.buf = buf
	return buf, nil
}

// NextReader returns the next record as a reader of its bytes, valid until the next
// call; what of it is not read then is skipped. At the end of the stream it returns
// io.EOF; the reader ends in io.ErrUnexpectedEOF when the stream ends inside the record.
func (rr *RecordReader) NextReader() (io.Reader, error) {
	if rr.rec.left > 0 {
		if _, err := rr.rec.WriteTo(io.Discard); err != nil {
			return nil, err
		}
	}
	n, err := rr.length()
	if err != nil {
		return nil, err
	}
	rr.rec, rr.last = record{r: rr.r, left: n}, n
	return &rr.rec, nil
}

// length reads a record's length and the newline after it.
func (rr *RecordReader) length() (int64, error) {
	var n int64
	digits := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c == '\n' {
			if digits == 0 {
				return 0, fmt.Errorf("%w: empty record length", ErrRecordIO)
			}
			return n, nil
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q in a record length", ErrRecordIO, c)
		}
		digits++
		n = n*10 + int64(c-'0')
		if n > rr.max || digits > 19 {
			return 0, fmt.Errorf("%w: a record over %d bytes", ErrRecordIO, rr.max)
		}
	}
}

// record reads one record's bytes from the stream.
type record struct {
	r    io.Reader
	left int64
}

func (r *record) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

// WriteTo skips (or copies) what is left of the record.
func (r *record) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r.r, r.left))
	r.left -= n
	if err == nil && r.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Buffered reports whether a record may already be waiting: the events that came in
// one burst are applied together before the records are published.
func (rr *RecordReader) Buffered() bool { return rr.r.Buffered() > 0 }
