package state

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/coredns-mesos/mesos/internal/synth"

	"github.com/go-json-experiment/json/jsontext"
)

// randomReads delivers r in reads of random sizes, as a body arrives.
type randomReads struct {
	r   io.Reader
	rng *rand.Rand
}

func (rr *randomReads) Read(p []byte) (int, error) {
	return rr.r.Read(p[:min(len(p), 1+rr.rng.IntN(40))])
}

// scanned reads a document token by token: each token's bytes, the strings cut out,
// and the error that ended it (nil when the document ended well).
func scanned(r io.Reader) ([]string, int, error) {
	s := newScanner(r)
	var toks []string
	for {
		v, err := s.ReadToken()
		if err == io.EOF && len(toks) > 0 {
			return toks, s.cut, nil
		}
		if err != nil {
			return toks, s.cut, err
		}
		toks = append(toks, string(v))
	}
}

// reference reads one document with encoding/json/v2's jsontext, the decoder the
// scanner replaced, with the options the decoders gave it: each token's bytes, and
// whether the document is well formed (one value, then only blanks).
func reference(doc []byte) ([]string, bool) {
	d := jsontext.NewDecoder(bytes.NewReader(doc), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var toks []string
	for {
		switch d.PeekKind() {
		case '{', '}', '[', ']':
			t, err := d.ReadToken()
			if err != nil {
				return toks, false
			}
			toks = append(toks, t.String())
		default:
			v, err := d.ReadValue()
			if err != nil {
				return toks, false
			}
			toks = append(toks, string(v))
		}
		if d.StackDepth() == 0 {
			_, err := d.ReadToken()
			return toks, err == io.EOF
		}
	}
}

// The scanner reads what jsontext reads, token for token, and refuses what it refuses:
// the captures, hostile documents, and every prefix and one-byte change of small ones.
func TestScanMatchesJSONText(t *testing.T) {
	docs := []string{ //nolint:prealloc // a list of cases, the captures added after
		`{"a": "b\"c", "d": ["\\", "\\\"", "\u0022", "\/\b\f\n\r\t"], "e": -1.5e3, "f": true, "g": null, "h": {}, "i": []}`,
		`[0, -0, 1.0, 1e5, 1E+5, 1e-5, -0.5e-10, 12345678901234567890, 0.1]`,
		`[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `[+1]`, `[1-2]`, `[1.e5]`, `[--1]`, `[0x10]`, `[Infinity]`, `[NaN]`,
		`{"a" 1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`, `{1:2}`, `{"a"}`, `[1:2]`, `{"a":1]`, `[1}`,
		`"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"a\x00b\"", "\"\xff\xfe\"", `tru`, `nul`, `falsey`, `[true false]`,
		``, ` `, `{}  `, `{} {}`, `{}x`, `"abc`, `["abc\`, `[1, 2`, `{"a":`,
		strings.Repeat("[", 9999) + strings.Repeat("]", 9999),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat("}", 500),
	}
	files, _ := filepath.Glob("../../testdata/mesos/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(name string, doc []byte) {
		t.Helper()
		want, ok := reference(doc)
		for _, r := range []io.Reader{bytes.NewReader(doc), &randomReads{bytes.NewReader(doc), rng}} {
			got, cut, err := scanned(r)
			if (err == nil) != ok || cut != 0 || !equalPrefix(got, want, ok) {
				t.Fatalf("%s: %d tokens, error %v; jsontext: %d tokens, well formed %v\n%.200q",
					name, len(got), err, len(want), ok, doc)
			}
		}
	}
	for i, doc := range docs {
		check("doc "+string(rune('A'+i%26)), []byte(doc))
		if len(doc) > 300 {
			continue
		}
		for n := range len(doc) {
			check("prefix", []byte(doc[:n]))
			for _, c := range []byte{'"', '\\', '{', ']', ',', ':', '1', 'e', ' ', 0} {
				m := []byte(doc)
				m[n] = c
				check("changed", m)
			}
		}
	}
}

// equalPrefix: on a well-formed document the tokens are the same; on one refused,
// the scanner may stop a token earlier or later than jsontext (one reads a token it
// then finds misplaced, the other the reverse), but never reads another.
func equalPrefix(got, want []string, ok bool) bool {
	if ok {
		return slicesEqual(got, want)
	}
	n := min(len(got), len(want))
	return len(got)-len(want) <= 1 && len(want)-len(got) <= 1 && slicesEqual(got[:n], want[:n])
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"a": [1, -2.5e3, "x\"y", true, null, {}]}`))
	f.Add([]byte(`[01]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
			return // the scanner drops a byte order mark, jsontext refuses it
		}
		want, ok := reference(doc)
		got, _, err := scanned(bytes.NewReader(doc))
		if errors.Is(err, ErrNumber) || errors.Is(err, ErrBlank) {
			return // the bounds are the scanner's own
		}
		if (err == nil) != ok || !equalPrefix(got, want, ok) {
			t.Fatalf("%d tokens, error %v; jsontext: %d tokens, well formed %v", len(got), err, len(want), ok)
		}
	})
}

// A byte order mark goes, nothing else.
func TestScanByteOrderMark(t *testing.T) {
	got, _, err := scanned(iotest.OneByteReader(strings.NewReader("\xef\xbb\xbf{}")))
	if err != nil || strings.Join(got, "") != "{}" {
		t.Errorf("byte order mark: %q %v", got, err)
	}
}

// A string over the bound is replaced whole, escapes and reads notwithstanding, and
// what follows it is untouched.
func TestScanCutsLongStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, body := range []string{
		strings.Repeat("z", maxString+1),
		strings.Repeat(`\"`, maxString/2+1),
		strings.Repeat("q", maxString-1) + `\\\"` + strings.Repeat(`\\`, 1000),
	} {
		doc := `{"a": "` + body + `", "b": ["c\"", "` + body + `"]}`
		want := `{"a"` + tooLong + `"b"["c\""` + tooLong + `]}`
		for _, r := range []io.Reader{strings.NewReader(doc), &randomReads{strings.NewReader(doc), rng}} {
			got, cut, err := scanned(r)
			if err != nil || strings.Join(got, "") != want || cut != 2 {
				t.Errorf("%d-byte string: %.80q… cut %d, %v", len(body), got, cut, err)
			}
		}
	}
}

// refStrings is what the scanner must read from an array of strings, worked out a
// byte at a time: each string as written, or tooLong in place of one whose content
// is over maxString.
func refStrings(doc string) []string {
	var out []string
	for i := 0; i < len(doc); i++ {
		if doc[i] != '"' {
			continue
		}
		j := i + 1
		for doc[j] != '"' {
			if doc[j] == '\\' {
				j++
			}
			j++
		}
		if j-i-1 > maxString {
			out = append(out, tooLong)
		} else {
			out = append(out, doc[i:j+1])
		}
		i = j
	}
	return out
}

// Strings of random escapes, some just under the bound and some just over, read in
// random pieces: the scanner reads what refStrings says.
func TestScanStringsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	piece := []string{`\\`, `\"`, `a`, `\u0022`, `\n`}
	content := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			p := piece[rng.IntN(len(piece))]
			if rng.IntN(64) == 0 {
				p = strings.Repeat(`\\`, rng.IntN(5)) + p
			}
			b.WriteString(p)
		}
		return b.String()
	}
	for round := range 20 {
		var doc strings.Builder
		doc.WriteString("[")
		for i := range 6 {
			if i > 0 {
				doc.WriteString(", ")
			}
			n := rng.IntN(64)
			switch rng.IntN(4) {
			case 0:
				n = maxString - 8 + rng.IntN(16)
			case 1:
				n = scanBuffer - 8 + rng.IntN(16)
			}
			doc.WriteString(`"` + content(n) + `"`)
		}
		doc.WriteString("]")
		want := refStrings(doc.String())
		got, _, err := scanned(&randomReads{strings.NewReader(doc.String()), rng})
		if err != nil || len(got) != len(want)+2 || !slicesEqual(got[1:len(got)-1], want) {
			t.Fatalf("round %d: %d tokens, want %d (%v)", round, len(got), len(want)+2, err)
		}
	}
}

// Blanks are bounded between tokens, never inside a string; so are numbers.
func TestScanBounds(t *testing.T) {
	blanks := strings.Repeat(" \n\t\r", maxBlank/4)
	cases := []struct {
		doc  string
		want error
	}{
		{`[1,` + blanks + `2]`, nil},
		{`[1,` + blanks + ` 2]`, ErrBlank},
		{`["` + blanks + blanks + `"]`, errors.New("in string")}, // a tab or newline is no string's
		{`["` + strings.Repeat(" ", 2*maxBlank) + `"]`, nil},
		{`[` + strings.Repeat("1", maxNumber) + `]`, nil},
		{`[` + strings.Repeat("1", maxNumber+1) + `]`, ErrNumber},
		{`[` + strings.Repeat("1", maxNumber) + `, ` + strings.Repeat("1", maxNumber) + `]`, nil},
	}
	for i, tc := range cases {
		_, _, err := scanned(&randomReads{strings.NewReader(tc.doc), rand.New(rand.NewPCG(5, 6))})
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("case %d: %v", i, err)
		case tc.want == ErrBlank || tc.want == ErrNumber:
			if !errors.Is(err, tc.want) {
				t.Errorf("case %d: %v, want %v", i, err, tc.want)
			}
		case tc.want != nil && (err == nil || !strings.Contains(err.Error(), tc.want.Error())):
			t.Errorf("case %d: %v, want %v", i, err, tc.want)
		}
	}
}

// BenchmarkScan reads a synthetic state token by token, against jsontext doing the
// same in the same run.
func BenchmarkScan(b *testing.B) {
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Tasks: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			s := newScanner(bytes.NewReader(buf.Bytes()))
			for {
				if _, err := s.ReadToken(); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
		}
	})
	b.Run("jsontext", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			d := jsontext.NewDecoder(bytes.NewReader(buf.Bytes()), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
			for {
				if _, err := d.ReadToken(); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
		}
	})
}

// chunkReader delivers its chunks one read each, as a body arrives.
type chunkReader struct{ c [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.c[0])
	if c.c[0] = c.c[0][n:]; len(c.c[0]) == 0 {
		c.c = c.c[1:]
	}
	return n, nil
}

// An object where a string belongs, whose skipping moves the buffer (found by review:
// what ReadValue returned was a slice of the buffer, overwritten by the move, and
// decoding panicked): it makes its entity malformed, and nothing else.
func TestScanSkippedValueAcrossRefills(t *testing.T) {
	doc := [][]byte{
		[]byte(`{"x":"` + strings.Repeat("a", 50000) + `", "leader": `),
		[]byte(`{"k":"` + strings.Repeat("b", 50000)),
		[]byte(`"}, "slaves": [{"id": "a", "pid": "slave(1)@10.0.1.1:5051"}]}`),
	}
	st, err := Decode(&chunkReader{c: doc})
	if err != nil || st.Skipped[SkipLeaderBadPID] != 1 || len(st.Agents) != 1 {
		t.Fatalf("state %+v, %v: want the leader skipped as bad and the agent kept", st, err)
	}
	s := newScanner(&chunkReader{c: [][]byte{[]byte(`[` + strings.Repeat(" ", 60000)), []byte(`{"k": [1, 2]}, 3]`)}})
	s.ReadToken()
	if v, err := s.ReadValue(); err != nil || string(v) != "{" {
		t.Fatalf("ReadValue of an object: %q, %v", v, err)
	}
}

// A string of escapes over the bound is let go as it is read, as a string of plain
// bytes is (found by review: escapes read ahead past the bound, and the buffer grew
// with the string).
func TestScanEscapesKeepTheBound(t *testing.T) {
	for _, body := range []string{strings.Repeat(`\n`, 8<<20), strings.Repeat(`\u0041`, 3<<20), strings.Repeat("a", 16<<20)} {
		s := newScanner(strings.NewReader(`"` + body + `"`))
		v, err := s.ReadToken()
		if err != nil || string(v) != tooLong || s.cut != 1 {
			t.Fatalf("%.12q…: %.40q, cut %d, %v", body, v, s.cut, err)
		}
		if c := cap(s.buf); c > 4*maxString {
			t.Errorf("%.12q…: the buffer grew to %d MiB for a string over the bound", body, c>>20)
		}
	}
}
