package master

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(records ...string) []byte {
	var b bytes.Buffer
	for _, r := range records {
		b.WriteString(strconv.Itoa(len(r)))
		b.WriteByte('\n')
		b.WriteString(r)
	}
	return b.Bytes()
}

// chunks delivers data in the given chunk sizes, as a proxy might re-chunk a stream.
type chunks struct {
	data  []byte
	sizes []int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, c.sizes[0])
		c.sizes = c.sizes[1:]
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func readAll(t *testing.T, r io.Reader, max int64) ([]string, error) {
	t.Helper()
	rr := NewRecordReader(r, max)
	var out []string
	for {
		rec, err := rr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(rec))
	}
}

func TestRecordIOSplitAnywhere(t *testing.T) {
	records := []string{`{"type":"SUBSCRIBED"}`, `{"type":"HEARTBEAT"}`, "", `{"a":"` + strings.Repeat("x", 300) + `"}`}
	data := frame(records...)
	want := strings.Join(records, "|")
	for cut := range len(data) + 1 {
		got, err := readAll(t, &chunks{data: data, sizes: []int{cut, len(data)}}, 1<<20)
		if err != nil || strings.Join(got, "|") != want {
			t.Fatalf("split at %d: %q %v", cut, got, err)
		}
	}
	// One byte at a time, and every record in one chunk.
	if got, err := readAll(t, iotest.OneByteReader(bytes.NewReader(data)), 1<<20); err != nil || strings.Join(got, "|") != want {
		t.Errorf("one byte at a time: %q %v", got, err)
	}
	if got, err := readAll(t, bytes.NewReader(data), 1<<20); err != nil || len(got) != len(records) {
		t.Errorf("one chunk: %q %v", got, err)
	}
}

func TestRecordIOErrors(t *testing.T) {
	cases := map[string]struct {
		data string
		max  int64
		want error
	}{
		"oversize length":    {"2000\n" + strings.Repeat("x", 2000), 1000, ErrRecordIO},
		"huge length":        {"99999999999999999999999\n", 1 << 40, ErrRecordIO},
		"non-digit length":   {"12a\n{}", 1000, ErrRecordIO},
		"negative length":    {"-5\n{}", 1000, ErrRecordIO},
		"empty length":       {"\n{}", 1000, ErrRecordIO},
		"EOF in the record":  {"10\n{\"a\":", 1000, io.ErrUnexpectedEOF},
		"EOF in the length":  {"2\n{}12", 1000, io.ErrUnexpectedEOF},
		"HTML instead":       {"<html>", 1000, ErrRecordIO},
		"JSON without frame": {`{"type":"HEARTBEAT"}`, 1000, ErrRecordIO},
	}
	for name, tc := range cases {
		_, err := readAll(t, strings.NewReader(tc.data), tc.max)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// Records before the bad one came out whole.
	got, err := readAll(t, strings.NewReader(string(frame("{}", "[]"))+"x\n"), 100)
	if len(got) != 2 || !errors.Is(err, ErrRecordIO) {
		t.Errorf("good records then junk: %q %v", got, err)
	}
}

// TestRecordIOReleasesLargeBuffers: the snapshot of a big cluster is not held for the
// life of the stream by the buffer it was read into.
func TestRecordIOReleasesLargeBuffers(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 3<<20) + `"}`
	rr := NewRecordReader(bytes.NewReader(frame(big, `{"type":"HEARTBEAT"}`, `{}`)), 8<<20)
	if rec, err := rr.Next(); err != nil || len(rec) != len(big) {
		t.Fatalf("big record: %d %v", len(rec), err)
	}
	if rec, err := rr.Next(); err != nil || string(rec) != `{"type":"HEARTBEAT"}` {
		t.Fatalf("small record: %q %v", rec, err)
	}
	if c := cap(rr.buf); c > reuseMax {
		t.Errorf("a %d-byte buffer kept after a small record", c)
	}
	if rec, err := rr.Next(); err != nil || string(rec) != `{}` {
		t.Fatalf("last record: %q %v", rec, err)
	}
}

// A record read in part as a reader: what is left of it is skipped, and the next
// record comes out whole, however the stream is chunked.
func TestRecordIOReaders(t *testing.T) {
	records := []string{`{"type":"SUBSCRIBED"}`, "", `{"a":"` + strings.Repeat("x", 300) + `"}`, `{"type":"HEARTBEAT"}`}
	data := frame(records...)
	for cut := range len(data) + 1 {
		rr := NewRecordReader(&chunks{data: data, sizes: []int{cut, len(data)}}, 1<<20)
		for i, want := range records {
			r, err := rr.NextReader()
			if err != nil {
				t.Fatalf("split at %d, record %d: %v", cut, i, err)
			}
			// Every other record is read only in part.
			n := len(want)
			if i%2 == 0 {
				n /= 2
			}
			got := make([]byte, n)
			if _, err := io.ReadFull(r, got); err != nil || string(got) != want[:n] {
				t.Fatalf("split at %d, record %d: %q %v", cut, i, got, err)
			}
		}
		if _, err := rr.NextReader(); err != io.EOF {
			t.Fatalf("split at %d: after the last record %v", cut, err)
		}
	}
	// A stream that ends inside a record ends its reader with ErrUnexpectedEOF.
	r, err := NewRecordReader(strings.NewReader("10\n{\"a\":"), 100).NextReader()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a record cut short: %v", err)
	}
}
