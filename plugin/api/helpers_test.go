package api

import (
	"io"
	"net/http"
	"strconv"
	"testing"
)

type httpAnswer struct {
	code  int
	index uint32
	body  []byte
}

func httpGet(t *testing.T, url string) httpAnswer {
	t.Helper()
	resp, err := http.Get(url) // #nosec G107 -- a loopback test server
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	a := httpAnswer{code: resp.StatusCode, body: b}
	if h := resp.Header.Get(IndexHeader); h != "" {
		n, err := strconv.ParseUint(h, 10, 32)
		if err != nil {
			t.Fatalf("GET %s: %s %q", url, IndexHeader, h)
		}
		a.index = uint32(n)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusMethodNotAllowed && ct != "application/json" && resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	return a
}
