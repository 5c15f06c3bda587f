package rstanalysis_test

import (
	"bytes"
	"testing"

	"github.com/rstscope/rstscope/capture"
	. "github.com/rstscope/rstscope/rstanalysis"
)

// BenchmarkHosts feeds the generated capture's packets, decoded ahead and
// held in memory, to a fresh host table: Observe for every packet and
// Snapshot for every RST, as the reading goroutine does. It reports the
// time per packet.
func BenchmarkHosts(b *testing.B) {
	src, err := capture.NewReader(bytes.NewReader(generatedCapture(b)), "gen", capture.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ps []capture.Packet
	var p capture.Packet
	for src.Next(&p) == nil {
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		b.Fatal("no packets")
	}
	for b.Loop() {
		h := NewHosts()
		for i := range ps {
			h.Observe(&ps[i])
			if ps[i].Flags&capture.RST != 0 {
				h.Snapshot(&ps[i])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/packet")
}
