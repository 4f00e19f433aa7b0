package mesos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

// TestCorefileExample keeps Corefile.example loadable: its mesos block parses, with
// the CA and secret files it names replaced by real ones.
func TestCorefileExample(t *testing.T) {
	raw, err := os.ReadFile("Corefile.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "    mesos ")
	end := strings.Index(text[start:], "\n    }\n")
	if start < 0 || end < 0 {
		t.Fatal("no mesos block in Corefile.example")
	}
	block := text[start : start+end+len("\n    }\n")]
	dir := t.TempDir()
	ca, secret := writeCA(t, dir), filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	block = strings.ReplaceAll(block, "/etc/coredns/mesos-ca.pem", ca)
	block = strings.ReplaceAll(block, "/etc/coredns/mesos-secret", secret)
	m, err := parse(caddy.NewTestController("dns", block))
	if err != nil {
		t.Fatalf("Corefile.example: %v", err)
	}
	if len(m.cfg.masters) != 3 || m.cfg.tls == nil || m.cfg.secret != "s3cret" || m.cfg.masters[0].Scheme != "https" {
		t.Errorf("parsed %+v", m.cfg)
	}
}
