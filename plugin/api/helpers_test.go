package api

import (
	"testing"

	"github.com/coredns-mesos/mesos/internal/fixture"
)

type httpAnswer struct {
	code  int
	index uint32
	body  []byte
}

func httpGet(t *testing.T, url string) httpAnswer {
	t.Helper()
	code, index, body := fixture.Get(t, url, IndexHeader)
	return httpAnswer{code: code, index: index, body: body}
}
