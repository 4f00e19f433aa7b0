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
// does not matter.
type RecordReader struct {
	r   *bufio.Reader
	max int64
	buf []byte
}

// NewRecordReader reads records of at most max bytes from r.
func NewRecordReader(r io.Reader, max int64) *RecordReader {
	return &RecordReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next record, valid until the next call. At the end of the stream it
// returns io.EOF; a stream that ends inside a record, io.ErrUnexpectedEOF.
func (rr *RecordReader) Next() ([]byte, error) {
	var n int64
	digits := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == '\n' {
			if digits == 0 {
				return nil, fmt.Errorf("%w: empty record length", ErrRecordIO)
			}
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: %q in a record length", ErrRecordIO, c)
		}
		digits++
		n = n*10 + int64(c-'0')
		if n > rr.max || digits > 19 {
			return nil, fmt.Errorf("%w: a record over %d bytes", ErrRecordIO, rr.max)
		}
	}
	// The buffer is reused, except after a large record (the SUBSCRIBED snapshot of a
	// big cluster): keeping that one would hold its size for the stream's life.
	if int64(cap(rr.buf)) < n || cap(rr.buf) > reuseMax && n <= reuseMax {
		rr.buf = make([]byte, n, max(n, 4096))
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return rr.buf, nil
}

// Buffered reports whether a record may already be waiting: the events that came in
// one burst are applied together before the records are published.
func (rr *RecordReader) Buffered() bool { return rr.r.Buffered() > 0 }
