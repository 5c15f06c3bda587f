package rstanalysis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/gen"
	"github.com/rstscope/rstscope/rstanalysis"
)

type feeder interface {
	Packet(*capture.Packet)
	Flush()
}

// verdictsOf returns the verdicts of src by one Analyzer (workers 0) or
// by Sharded; with lend, the Findings and Ladders are lent
// (Config.Lend) and copied here.
func verdictsOf(t *testing.T, src capture.Source, workers int, lend bool) []rstanalysis.Verdict {
	t.Helper()
	var vs []rstanalysis.Verdict
	emit := func(v *rstanalysis.Verdict) {
		c := *v
		if lend {
			c.Findings = slices.Clone(v.Findings)
			l := *v.Ladder
			l.Segments = slices.Clone(l.Segments)
			c.Ladder = &l
		}
		vs = append(vs, c)
	}
	// Hindsight runs where the host table is, which differs between the
	// two: the verdicts must not.
	cfg := rstanalysis.Config{Hindsight: time.Minute, Lend: lend}
	var an feeder = rstanalysis.New(cfg, emit)
	if workers > 0 {
		an = rstanalysis.NewSharded(cfg, workers, emit)
	}
	var p capture.Packet
	for src.Next(&p) == nil {
		an.Packet(&p)
	}
	an.Flush()
	return vs
}

// TestShardedSameVerdicts: sharding connections over workers changes
// nothing in the verdicts or their order: the output is the same at any
// number of workers, and whether the verdicts' Findings and Ladders are
// lent (their memory reused for later verdicts) or not.
//
// "many-resets" has about 20 RSTs a second over 150 s, many from hosts not
// yet seen: more than maxHeld verdicts come within a held one's hindsight
// window, which let it go or wait depending on how far the reading was
// ahead of the workers' verdicts, until the hindsight clock became the
// verdicts' own.
func TestShardedSameVerdicts(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Packets, cfg.Concurrency, cfg.Seed = 60_000, 500, 11
	many := gen.DefaultConfig()
	many.Packets, many.Concurrency, many.Span, many.Resets, many.Seed = 40_000, 300, 150*time.Second, 0.6, 4
	inputs := map[string]func(t *testing.T) capture.Source{"generated": generated(t, cfg), "many-resets": generated(t, many)}
	for _, f := range []string{"zeek/tcp_rst-inject-rae.pcap", "ndpi/reddit.pcap", "zeek/pop3_pop3.pcap", "chrissanders/synscan.pcapng"} {
		path := filepath.Join(corpusDir, f)
		inputs[f] = func(t *testing.T) capture.Source {
			src, err := capture.Open(path, capture.Options{})
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("public corpus not present at %s", corpusDir)
			}
			if err != nil {
				t.Fatal(err)
			}
			return src
		}
	}
	for name, open := range inputs {
		t.Run(name, func(t *testing.T) {
			one := verdictsOf(t, open(t), 0, false) // one Analyzer, no goroutines
			if len(one) == 0 {
				t.Fatal("no verdicts")
			}
			// With a processor for each goroutine the pipeline polls its
			// channels before it blocks; with one processor it only blocks.
			for _, c := range []struct {
				n, procs int
				lend     bool
			}{{0, 1, true}, {1, 2, false}, {1, 2, true}, {1, 1, false}, {1, 1, true}, {2, 3, false}, {2, 3, true},
				{3, 1, false}, {3, 1, true}, {7, 8, false}, {7, 8, true}, {7, 2, false}, {7, 2, true}} {
				n := c.n
				t.Run(fmt.Sprintf("%dworkers_%dprocs_lend%v", n, c.procs, c.lend), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
					got := verdictsOf(t, open(t), n, c.lend)
					if len(got) != len(one) {
						t.Fatalf("%d verdicts, one worker gives %d", len(got), len(one))
					}
					for i := range got {
						if !reflect.DeepEqual(got[i], one[i]) {
							t.Fatalf("verdict %d differs:\n  1 worker: %+v\n  %d workers: %+v", i, one[i], n, got[i])
						}
					}
				})
			}
		})
	}
}

// generated returns an opener of the capture the generator writes with cfg.
func generated(t *testing.T, cfg gen.Config) func(t *testing.T) capture.Source {
	var buf bytes.Buffer
	if _, err := gen.Generate(context.Background(), &buf, nil, cfg); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) capture.Source {
		src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "generated", capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
}
