package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// mixedCapture is n frames cycling through IPv4 data, an IPv6 SYN with
// options, a VLAN-tagged RST and an ARP frame.
func mixedCapture(t testing.TB, n int, ng bool) []byte {
	t.Helper()
	rstFrame := func() []byte {
		ip := ip4(layers.IPProtocolTCP)
		return cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(7, layers.EthernetTypeIPv4),
			serialize(t, ip, tcpSeg(ip, false, true, true, nil)))
	}()
	kinds := [][]byte{
		cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t)),
		cat(ethHdr(layers.EthernetTypeIPv6), v6Syn(t)),
		rstFrame,
		cat(ethHdr(layers.EthernetTypeARP), make([]byte, 28)),
	}
	recs := make([]rec, n)
	t0 := time.Unix(1.7e9, 0)
	for i := range recs {
		recs[i] = rec{data: kinds[i%len(kinds)], ts: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	if ng {
		return pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, recs)
	}
	return classicPcap(binary.LittleEndian, true, layers.LinkTypeEthernet, 65535, recs)
}

// TestNextAllocs: reading a packet allocates nothing in steady state.
func TestNextAllocs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ng     bool
		filter string
	}{
		{"pcap", false, ""},
		{"pcapng", true, ""},
		{"pcap with filter", false, "tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const runs = 2000
			f, err := NewReader(bytes.NewReader(mixedCapture(t, 4*runs, tc.ng)), "mem", Options{Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			var readErr error
			allocs := testing.AllocsPerRun(runs, func() {
				if err := f.Next(&p); err != nil {
					readErr = err
				}
			})
			if readErr != nil {
				t.Fatalf("Next: %v", readErr)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per Next, want 0", allocs)
			}
		})
	}
}

// BenchmarkNext reads an in-memory capture; pkts/s counts returned TCP
// packets. The corpus case uses a real browser capture (IPv4 and IPv6).
func BenchmarkNext(b *testing.B) {
	cases := []struct {
		name string
		data []byte
	}{
		{"synthetic", mixedCapture(b, 20000, false)},
	}
	if data, err := os.ReadFile(filepath.Join(corpusDir, "ndpi/reddit.pcap")); err == nil {
		cases = append(cases, struct {
			name string
			data []byte
		}{"reddit.pcap", data})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var p Packet
			f := mustReader(b, c.data)
			for b.Loop() {
				err := f.Next(&p)
				if errors.Is(err, io.EOF) {
					b.StopTimer()
					f = mustReader(b, c.data)
					b.StartTimer()
				} else if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
