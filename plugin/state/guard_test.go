package state

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// randomReads delivers r in reads of random sizes, as a body arrives.
type randomReads struct {
	r   io.Reader
	rng *rand.Rand
}

func (rr *randomReads) Read(p []byte) (int, error) {
	return rr.r.Read(p[:min(len(p), 1+rr.rng.IntN(40))])
}

func guarded(t *testing.T, r io.Reader) (string, int, error) {
	t.Helper()
	g := &guard{r: r}
	var out bytes.Buffer
	_, err := io.Copy(&out, iotest.OneByteReader(g))
	return out.String(), g.cut, err
}

// Within the bounds the guard hands on every byte as it came, however the reads fall
// on quotes and escapes.
func TestGuardPassesDocuments(t *testing.T) {
	docs := []string{
		`{"a": "b\"c", "d": ["\\", "\\\"", "\u0022"], "e": -1.5e3, "f": true, "g": null}`,
		`"` + strings.Repeat(`\\`, 100) + `"` + strings.Repeat(" ", 1000),
		`{"x": "` + strings.Repeat(`\"`, 5000) + `"}`,
		`{"unterminated": "abc\`,
		`{"long": "` + strings.Repeat("y", maxString) + `"}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, doc := range docs {
		for range 5 {
			got, cut, err := guarded(t, &randomReads{strings.NewReader(doc), rng})
			if err != nil || got != doc || cut != 0 {
				t.Errorf("doc %d: %d bytes of %d, cut %d, %v", i, len(got), len(doc), cut, err)
			}
		}
	}
	// A byte order mark goes, nothing else.
	if got, _, err := guarded(t, iotest.OneByteReader(strings.NewReader("\xef\xbb\xbf{}"))); got != "{}" || err != nil {
		t.Errorf("byte order mark: %q %v", got, err)
	}
}

// A string over the bound is replaced whole, escapes and reads notwithstanding, and
// what follows it is untouched.
func TestGuardCutsLongStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, body := range []string{
		strings.Repeat("z", maxString+1),
		strings.Repeat(`\"`, maxString/2+1),
		strings.Repeat("q", maxString-1) + `\\\"` + strings.Repeat(`\\`, 1000),
	} {
		doc := `{"a": "` + body + `", "b": ["c\"", "` + body + `"]}`
		want := `{"a": ` + tooLong + `, "b": ["c\"", ` + tooLong + `]}`
		for _, r := range []io.Reader{strings.NewReader(doc), &randomReads{strings.NewReader(doc), rng}} {
			got, cut, err := guarded(t, r)
			if err != nil || got != want || cut != 2 {
				t.Errorf("%d-byte string: %.80q… cut %d, %v", len(body), got, cut, err)
			}
		}
	}
}

// Blanks are bounded between tokens, never inside a string; so are numbers.
func TestGuardBounds(t *testing.T) {
	blanks := strings.Repeat(" \n\t\r", maxBlank/4)
	cases := []struct {
		doc  string
		want error
	}{
		{`[1,` + blanks + `2]`, nil},
		{`[1,` + blanks + ` 2]`, ErrBlank},
		{`["` + blanks + blanks + `"]`, nil},
		{`[` + strings.Repeat("1", maxNumber) + `]`, nil},
		{`[` + strings.Repeat("1", maxNumber+1) + `]`, ErrNumber},
		{`[` + strings.Repeat("1", maxNumber) + ` ` + strings.Repeat("1", maxNumber) + `]`, nil},
	}
	for i, tc := range cases {
		_, _, err := guarded(t, &randomReads{strings.NewReader(tc.doc), rand.New(rand.NewPCG(5, 6))})
		if !errors.Is(err, tc.want) {
			t.Errorf("case %d: %v, want %v", i, err, tc.want)
		}
	}
}
