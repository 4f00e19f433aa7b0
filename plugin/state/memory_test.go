package state

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// fill reads as n copies of one byte, without holding them.
type fill struct {
	c byte
	n int64
}

func (f *fill) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	for i := range p {
		p[i] = f.c
	}
	f.n -= int64(len(p))
	return len(p), nil
}

// stream reads as prefix, n copies of c, then suffix.
func stream(prefix string, c byte, n int64, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &fill{c, n}, strings.NewReader(suffix))
}

// allocated is what f allocates, garbage included: an upper bound of its peak.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const agentJSON = `{"id": "a", "pid": "slave(1)@10.0.1.1:5051"}`

// A string no record reads is passed over without being held: a state of a few
// agents and one 64 MiB string costs a few MiB, and the string is counted.
func TestDecodeLongStringBounded(t *testing.T) {
	const n = 64 << 20
	var st *State
	alloc := allocated(func() {
		var err error
		st, err = Decode(stream(`{"slaves": [`+agentJSON+`], "flags": {"x": "`, 'a', n, `"}, "leader": "master@10.0.0.2:5050"}`))
		if err != nil {
			t.Fatalf("a long string nothing reads: %v", err)
		}
	})
	if alloc > 8<<20 {
		t.Errorf("a %d-byte string cost %d bytes", n, alloc)
	}
	if len(st.Agents) != 1 || st.Leader.Host != "10.0.0.2" || st.Skipped[SkipValueTooLong] != 1 {
		t.Errorf("agents %v leader %v skipped %v", st.Agents, st.Leader, st.Skipped)
	}
}

// A string over the bound where a record reads one costs its entity, counted.
func TestDecodeLongReadString(t *testing.T) {
	long := strings.Repeat("h", maxString+1)
	st := mustDecode(t, `{"slaves": [`+agentJSON+`, {"id": "b", "hostname": "`+long+`", "pid": "slave(1)@10.0.1.2:5051"}]}`)
	if len(st.Agents) != 1 || st.Agents[0].ID != "a" || st.Skipped[SkipAgentMalformed] != 1 || st.Skipped[SkipValueTooLong] != 1 {
		t.Errorf("%d agents, skipped %v", len(st.Agents), st.Skipped)
	}
	// At the bound it is read whole; escapes count as they are written.
	atBound := strings.Repeat("h", maxString)
	st = mustDecode(t, `{"slaves": [{"id": "b", "hostname": "`+atBound+`", "pid": "slave(1)@10.0.1.2:5051"}]}`)
	if len(st.Agents) != 1 || st.Agents[0].Hostname != atBound || st.Skipped.Total() != 0 {
		t.Errorf("a string at the bound: %d agents, skipped %v", len(st.Agents), st.Skipped)
	}
	escaped := `\"` + strings.Repeat(`\\`, maxString/2)
	st = mustDecode(t, `{"slaves": [`+agentJSON+`, {"id": "b", "hostname": "`+escaped+`", "pid": "slave(1)@10.0.1.2:5051"}]}`)
	if len(st.Agents) != 1 || st.Skipped[SkipValueTooLong] != 1 {
		t.Errorf("an escaped string over the bound: %d agents, skipped %v", len(st.Agents), st.Skipped)
	}
}

// A number can be as long as a string: it is refused past a bound, never held whole.
func TestDecodeLongNumberBounded(t *testing.T) {
	alloc := allocated(func() {
		_, err := Decode(stream(`{"slaves": [`+agentJSON+`], "x": 1`, '0', 64<<20, `}`))
		if err == nil {
			t.Error("a 64 MiB number decoded")
		}
	})
	if alloc > 8<<20 {
		t.Errorf("a 64 MiB number cost %d bytes", alloc)
	}
}

// A task keeps the two statuses its records read as it is decoded: a million empty
// statuses are not a million held.
func TestDecodeStatusesBounded(t *testing.T) {
	const n = 1 << 20
	statuses := strings.Repeat(`{"state": "TASK_STAGING", "timestamp": 1},`, 3)
	var st *State
	alloc := allocated(func() {
		var err error
		st, err = Decode(io.MultiReader(
			strings.NewReader(`{"slaves": [`+agentJSON+`], "frameworks": [{"id": "f", "tasks": [{"id": "t", "slave_id": "a", "state": "TASK_RUNNING", "statuses": [`+statuses),
			strings.NewReader(strings.Repeat(`{},`, n)),
			strings.NewReader(`{"state": "TASK_RUNNING", "timestamp": 2}, {"state": "TASK_STAGING", "timestamp": 0}]}]}]}`)))
		if err != nil {
			t.Fatal(err)
		}
	})
	tk := st.Frameworks[0].Tasks[0]
	if s, ok := tk.LatestRunning(); !ok || s.Timestamp != 2 || len(tk.Statuses) > 2 {
		t.Errorf("%d statuses kept, latest running %+v", len(tk.Statuses), s)
	}
	// The input itself is 3 MiB; a million statuses would be 64.
	if alloc > 16<<20 {
		t.Errorf("%d statuses cost %d bytes", n, alloc)
	}
}
