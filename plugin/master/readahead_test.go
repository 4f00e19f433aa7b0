package master

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// TestReadAhead: what the decoder reads through the read-ahead is the body, byte for
// byte, with its error; and stopping it ends its goroutine, also while it waits on a
// body that does not come, once the body is closed.
func TestReadAhead(t *testing.T) {
	body := make([]byte, 5*aheadChunk+123)
	for i := range body {
		body[i] = byte(rand.N(256))
	}
	for _, r := range []io.Reader{bytes.NewReader(body), iotest.OneByteReader(bytes.NewReader(body)), iotest.HalfReader(bytes.NewReader(body))} {
		ra := newReadAhead(r)
		got, err := io.ReadAll(iotest.HalfReader(ra))
		ra.stop()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read %d bytes (%v), want the %d of the body", len(got), err, len(body))
		}
	}
	failing := io.MultiReader(bytes.NewReader(body[:1000]), iotest.ErrReader(errors.New("cut")))
	ra := newReadAhead(failing)
	got, err := io.ReadAll(ra)
	ra.stop()
	if len(got) != 1000 || err == nil || err.Error() != "cut" {
		t.Fatalf("read %d bytes and %v, want 1000 and the body's error", len(got), err)
	}

	pr, pw := io.Pipe()
	ra = newReadAhead(pr)
	go pw.Write(body[:10])
	var b [10]byte
	if _, err := io.ReadFull(ra, b[:]); err != nil {
		t.Fatal(err)
	}
	// The decoder stops; the read ahead waits on the pipe until it is closed.
	pr.Close()
	ra.stop()
}
