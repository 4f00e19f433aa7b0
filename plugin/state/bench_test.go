package state_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/coredns-mesos/mesos/internal/synth"
	"github.com/coredns-mesos/mesos/plugin/state"
)

// mesosDNSState mirrors the structs Mesos-DNS unmarshals /master/state into with
// encoding/json: the same-run baseline for BenchmarkDecode.
type mesosDNSState struct {
	Leader     string `json:"leader"`
	Frameworks []struct {
		Tasks []struct {
			FrameworkID string `json:"framework_id"`
			ID          string `json:"id"`
			Name        string `json:"name"`
			SlaveID     string `json:"slave_id"`
			State       string `json:"state"`
			Statuses    []struct {
				Timestamp       float64 `json:"timestamp"`
				State           string  `json:"state"`
				Labels          []struct{ Key, Value string }
				ContainerStatus struct {
					NetworkInfos []struct {
						IPAddresses []struct {
							IPAddress string `json:"ip_address"`
						} `json:"ip_addresses"`
					} `json:"network_infos"`
				} `json:"container_status"`
			} `json:"statuses"`
			Resources struct {
				PortRanges string `json:"ports"`
			} `json:"resources"`
			DiscoveryInfo *struct {
				Name  string `json:"name"`
				Ports struct {
					DiscoveryPorts []struct {
						Protocol string `json:"protocol"`
						Number   int    `json:"number"`
						Name     string `json:"name"`
					} `json:"ports"`
				} `json:"ports"`
			} `json:"discovery"`
		} `json:"tasks"`
		PID      string `json:"pid"`
		Name     string `json:"name"`
		Hostname string `json:"hostname"`
	} `json:"frameworks"`
	Slaves []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		PID      string `json:"pid"`
	} `json:"slaves"`
}

func doc(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Tasks: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeVsEncodingJSON runs this package's decoder and the encoding/json
// baseline on the same document in one run, so their ratio is meaningful on a noisy
// machine.
func BenchmarkDecodeVsEncodingJSON(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		in := doc(b, n)
		b.Run(fmt.Sprintf("decoder/tasks=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := state.Decode(bytes.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("encoding-json/tasks=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var s mesosDNSState
				if err := json.NewDecoder(bytes.NewReader(in)).Decode(&s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
