package fakemaster

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFaultControl: faults are set and cleared over HTTP; an unknown name is refused
// with the list, not taken for a healthy master; a fault ends the open streams, so
// that a streaming client meets it too.
func TestFaultControl(t *testing.T) {
	m := StartT(t, []byte(`{"slaves": []}`))
	s, _, _ := subscribe(t, m)
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
	if code, body := get("/fake/fault?f=503"); code != 200 || !strings.Contains(body, "f=ok clears") || !strings.Contains(body, "1 open stream(s) ended") {
		t.Errorf("set: %d %q", code, body)
	}
	if !s.ended() {
		t.Error("the open stream outlived the fault")
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

// TestChurn: /fake/churn makes the event stream carry launches and kills.
func TestChurn(t *testing.T) {
	m := StartT(t, []byte(`{"slaves":[{"id":"a-S0","pid":"slave(1)@127.0.0.2:5051"}],"frameworks":[{"id":"f","name":"marathon","tasks":[]}]}`))
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if r, err := http.Get(m.URL() + "/fake/churn?per_second=soon"); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad rate: %v %v", r, err)
	}
	r, err := http.Get(m.URL() + "/fake/churn?per_second=1000")
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("churn: %v %v", r, err)
	}
	buf := make([]byte, 0, 1<<16)
	tmp := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for (!strings.Contains(string(buf), "TASK_ADDED") || !strings.Contains(string(buf), "TASK_KILLED")) && time.Now().Before(deadline) {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.Contains(string(buf), `"churn-1"`) || !strings.Contains(string(buf), "TASK_KILLED") {
		t.Errorf("no churn on the stream: %.300s", buf)
	}
	m.Churn(0)
}
