package flows

import (
	"fmt"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// BenchmarkUpdate measures Step per packet on a table holding
// conns open connections exchanging data, in steady state.
func BenchmarkUpdate(b *testing.B) {
	for _, conns := range []int{1_000, 50_000} {
		b.Run(fmt.Sprint(conns, "conns"), func(b *testing.B) {
			pkts := make([]*capture.Packet, 0, 2*conns)
			for i := range conns {
				cl := fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
				pkts = append(pkts,
					seg(0, 0, cl, sv, capture.ACK|capture.PSH, 100, 500, "GET / HTTP/1.1\r\n"),
					seg(0, 0, sv, cl, capture.ACK, 500, 116, ""))
			}
			tb := NewTable(Config{})
			for _, p := range pkts {
				tb.Step(p)
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				p := pkts[i%len(pkts)]
				p.Time = t0.Add(time.Duration(i) * time.Microsecond)
				tb.Step(p)
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
