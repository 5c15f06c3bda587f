package rstanalysis_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/gen"
	. "github.com/rstscope/rstscope/rstanalysis"
)

var (
	genOnce sync.Once
	genData []byte
	genErr  error
)

// generatedCapture is the benchmark kit's capture at a tenth of its size:
// 500,000 packets with 50,000 connections open at once, every kind of
// reset, made once per test binary.
func generatedCapture(b *testing.B) []byte {
	genOnce.Do(func() {
		cfg := gen.DefaultConfig()
		cfg.Packets = 500_000
		cfg.Span /= 10
		var buf bytes.Buffer
		_, genErr = gen.Generate(context.Background(), &buf, nil, cfg)
		genData = buf.Bytes()
	})
	if genErr != nil {
		b.Fatal(genErr)
	}
	return genData
}

// BenchmarkGenerated runs the whole read pipeline (pcap reader, decoder,
// connection table, attribution) over the generated capture held in
// memory, on one goroutine and sharded over workers, where the connection
// table's cache misses dominate as they do on a real capture.
func BenchmarkGenerated(b *testing.B) {
	data := generatedCapture(b)
	for _, workers := range []int{0, 1, 2} {
		name := "inline"
		if workers > 0 {
			name = fmt.Sprint("sharded", workers)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			packets, verdicts := 0, 0
			for b.Loop() {
				src, err := capture.NewReader(bytes.NewReader(data), "gen", capture.Options{})
				if err != nil {
					b.Fatal(err)
				}
				emit := func(*Verdict) { verdicts++ }
				var an interface {
					Packet(*capture.Packet)
					Flush()
				}
				if workers == 0 {
					an = New(Config{}, emit)
				} else {
					an = NewSharded(Config{}, workers, emit)
				}
				var p capture.Packet
				for src.Next(&p) == nil {
					an.Packet(&p)
					packets++
				}
				an.Flush()
			}
			if verdicts == 0 {
				b.Fatal("no verdicts: the capture has resets")
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
