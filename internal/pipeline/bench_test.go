package pipeline

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// BenchmarkRSTFlood reads a dense burst of RSTs with no connections (a
// random source each, 333,333 a second: a scan's backscatter, a mass reset)
// from a file through the whole pipeline, as `rstscope read -j 1` does,
// into the table report. ns/RST that stays the same from 100k to 300k RSTs
// shows time linear in the RSTs (cpu-ns/RST, the process's CPU time, GC
// included, is steadier than the wall clock on a busy machine); B/RST is the memory allocated per RST and
// peak-MiB the most heap in use, sampled after the read and before the
// final flush decides the pending verdicts.
//
//	go test ./internal/pipeline -run '^$' -bench RSTFlood -benchtime 1x
func BenchmarkRSTFlood(b *testing.B) {
	for _, n := range []int{100_000, 300_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			path := writeTemp(b, "flood.pcap", rstFlood(n, 333_333))
			b.ReportAllocs()
			var peak uint64
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before, cpu := ms.TotalAlloc, cpuTime()
			for b.Loop() {
				src, err := OpenFile(context.Background(), path, nil, capture.Options{})
				if err != nil {
					b.Fatal(err)
				}
				sink := report.NewWriter(report.FormatTable, io.Discard, report.Options{})
				in := Input{Name: path, Open: func(context.Context) (Source, error) { return src, nil }}
				analysis := func(file string, emit func(*rstanalysis.Verdict)) Analyzer {
					return &heapProbe{Analyzer: rstanalysis.New(rstanalysis.Config{File: file}, emit), peak: &peak}
				}
				if err := Run(context.Background(), []Input{in}, analysis, sink, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/RST")
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/RST")
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.TotalAlloc-before)/float64(b.N*n), "B/RST")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

// heapProbe samples the heap in use when Flush begins: the read is over,
// every RST is held as a pending verdict.
type heapProbe struct {
	*rstanalysis.Analyzer
	peak *uint64
}

func (h *heapProbe) Flush() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	*h.peak = max(*h.peak, ms.HeapInuse)
	h.Analyzer.Flush()
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
