package fakemaster

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFaultControl: faults are set and cleared over HTTP; an unknown name is refused
// with the list, not taken for a healthy master.
func TestFaultControl(t *testing.T) {
	m := StartT(t, []byte(`{"slaves": []}`))
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/fake/fault?f=503"); code != 200 || !strings.Contains(body, "f=ok clears") {
		t.Errorf("set: %d %q", code, body)
	}
	if code, _ := get("/master/state"); code != http.StatusServiceUnavailable {
		t.Errorf("with 503 set: %d", code)
	}
	if code, body := get("/fake/fault?f=bogus"); code != http.StatusBadRequest || !strings.Contains(body, "truncated") {
		t.Errorf("unknown fault: %d %q", code, body)
	}
	if code, _ := get("/master/state"); code != http.StatusServiceUnavailable {
		t.Errorf("an unknown fault cleared the fault: %d", code)
	}
	if code, _ := get("/fake/fault?f=slow&delay=soon"); code != http.StatusBadRequest {
		t.Errorf("bad delay: %d", code)
	}
	if code, body := get("/fake/fault?f=ok"); code != 200 || !strings.Contains(body, "healthy") {
		t.Errorf("clear: %d %q", code, body)
	}
	if code, _ := get("/master/state"); code != http.StatusOK {
		t.Errorf("after f=ok: %d", code)
	}
}
