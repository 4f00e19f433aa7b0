package records

import (
	"net/netip"
	"testing"
)

func TestReverseName(t *testing.T) {
	for ip, want := range map[string]string{
		"10.0.1.5":    "5.1.0.10.in-addr.arpa",
		"fd00::1:abc": "c.b.a.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
	} {
		if got := reverseName(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %s, want %s", ip, got, want)
		}
	}
}

// TestPTR checks every capture's reverse zones against what its forward zone says: a
// PTR for each address that exactly one task's canonical name holds, to that name,
// and none for an address several hold; and the NXDOMAIN and NODATA of the rest.
