package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// cancelAt is a Source that calls cancel before its packet at.
type cancelAt struct {
	Source
	n, at  int
	cancel func()
}

func (s *cancelAt) Next(p *capture.Packet) error {
	if s.n == s.at {
		s.cancel()
	}
	s.n++
	return s.Source.Next(p)
}

// fakeClock is a clock that moves on by step each time it is read.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// TestRunInterruptedCut: an interrupted read of a dense burst of RSTs
// decides and writes the pending verdicts for StopWithin only (here on a
// clock that moves 1 ms at each look), in capture order; the summary counts
// the RSTs left undecided and names the frame the report stops before. A
// live capture stopped the same way (CancelEnds) decides every one.
func TestRunInterruptedCut(t *testing.T) {
	defer func(c func() time.Time) { stopClock = c }(stopClock)
	clk := &fakeClock{now: t0, step: time.Millisecond}
	stopClock = clk.read
	path := writeTemp(t, "flood.pcap", rstFlood(20_000, 333_333))
	for _, shards := range []int{0, 2} {
		for _, cancelEnds := range []bool{false, true} {
			t.Run(fmt.Sprintf("shards%d_cancelEnds%v", shards, cancelEnds), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				in := Input{Name: "flood.pcap", Open: func(ctx context.Context) (Source, error) {
					src, err := OpenFile(ctx, path, nil, capture.Options{})
					if err != nil {
						return nil, err
					}
					return &cancelAt{Source: src, at: 100, cancel: cancel}, nil
				}}
				sink := &memSink{}
				err := Run(ctx, []Input{in}, NewAnalysis(rstanalysis.Config{}, shards), sink, Options{CancelEnds: cancelEnds})
				s := sink.summary
				if s == nil || s.RSTs < 100 || s.RSTs == 20_000 {
					t.Fatalf("Run: %v; summary %+v: want the RSTs read before the cancel was seen", err, s)
				}
				written, rsts := len(sink.verdicts), int(s.RSTs)
				if cancelEnds {
					if err != nil || written != rsts || len(s.Warnings) != 0 {
						t.Errorf("Run: %v, %d verdicts, warnings %q: want every one decided", err, written, s.Warnings)
					}
					return
				}
				var undecided int
				var from uint64
				if len(s.Warnings) == 0 {
					t.Fatal("no warning")
				}
				if _, err := fmt.Sscanf(s.Warnings[0], "the stop left %d RSTs undecided, from frame %d on", &undecided, &from); err != nil {
					t.Fatalf("warnings %q: %v", s.Warnings, err)
				}
				// One Analyzer looks at the clock once a verdict: it decides
				// 399 in the 400 ms. Workers share the clock with the merge.
				if shards == 0 && written != 399 || written+undecided != rsts || from != uint64(written+1) {
					t.Errorf("%d verdicts written, %d undecided from frame %d, of %d RSTs: want the first written, the rest counted",
						written, undecided, from, rsts)
				}
				for i, v := range sink.verdicts {
					if v.Frame != uint64(i+1) {
						t.Fatalf("verdict %d is of frame %d", i, v.Frame)
					}
				}
				if !strings.Contains(strings.Join(s.Warnings, "\n"), interruptedWarning) {
					t.Errorf("warnings %q: want %q", s.Warnings, interruptedWarning)
				}
			})
		}
	}
}

// cancelSink is a memSink that calls cancel once it holds at verdicts.
type cancelSink struct {
	memSink
	at     int
	cancel func()
}

func (s *cancelSink) Write(v *rstanalysis.Verdict) error {
	err := s.memSink.Write(v)
	if len(s.verdicts) == s.at {
		s.cancel()
	}
	return err
}

// TestRunCancelledWhileDeciding: a cancel that comes after the whole input
// was read, while the pending verdicts are decided at its end, stops the
// deciding StopWithin later (on a clock that moves 1 ms at each look) and
// makes the run an interrupted one, with the rest counted.
func TestRunCancelledWhileDeciding(t *testing.T) {
	defer func(c func() time.Time) { stopClock = c }(stopClock)
	clk := &fakeClock{now: t0, step: time.Millisecond}
	stopClock = clk.read
	const n = 5000
	path := writeTemp(t, "flood.pcap", rstFlood(n, 333_333))
	for _, shards := range []int{0, 2} {
		t.Run(fmt.Sprintf("shards%d", shards), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			in := Input{Name: "flood.pcap", Open: func(ctx context.Context) (Source, error) {
				return OpenFile(ctx, path, nil, capture.Options{})
			}}
			sink := &cancelSink{at: 100, cancel: cancel}
			err := Run(ctx, []Input{in}, NewAnalysis(rstanalysis.Config{}, shards), sink, Options{})
			s := sink.summary
			if !errors.Is(err, ErrInterrupted) || s == nil || s.RSTs != n || len(s.Warnings) == 0 {
				t.Fatalf("Run: %v, summary %+v: want every RST read, then the run interrupted", err, s)
			}
			var undecided int
			if _, err := fmt.Sscanf(s.Warnings[0], "the stop left %d RSTs undecided", &undecided); err != nil {
				t.Fatalf("warnings %q: %v", s.Warnings, err)
			}
			written := len(sink.verdicts)
			// One Analyzer: the 100 before the cancel, then 399 in the
			// 400 ms from its first look at the clock.
			if shards == 0 && written != 100+399 || written+undecided != n || written < 100 {
				t.Errorf("%d verdicts written, %d undecided, of %d", written, undecided, n)
			}
		})
	}
}
