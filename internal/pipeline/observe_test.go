package pipeline

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// memObserver keeps what an Observer is told.
type memObserver struct {
	verdicts []uint64 // frames
	counters []Counters
	written  func() int // verdicts the sink had when the observer was told of one
	seen     []int
}

func (o *memObserver) Verdict(v *rstanalysis.Verdict) {
	o.verdicts = append(o.verdicts, v.Frame)
	o.seen = append(o.seen, o.written())
}

func (o *memObserver) Counters(c Counters) { o.counters = append(o.counters, c) }

// TestObserverAndNotes: the Observer hears of each verdict before the Sink
// gets it, and of the counters at each tick and at the end of the input;
// Notes end up in the summary's warnings.
func TestObserverAndNotes(t *testing.T) {
	src := newMemSource(exchange(t0, 40000, 0))
	src.block = true
	sink := &memSink{}
	obs := &memObserver{written: sink.count}
	ctx, cancel := context.WithCancel(context.Background())
	src.onNext = func(i int) {
		if i == 7 {
			time.AfterFunc(120*time.Millisecond, cancel) // a few ticks, then Ctrl-C
		}
	}
	var log bytes.Buffer
	err := Run(ctx, []Input{input("interface lo", src)}, NewAnalysis(rstanalysis.Config{}, 0), sink,
		Options{Log: &log, ReadAhead: 4, Tick: 20 * time.Millisecond, CancelEnds: true, Observer: obs,
			Notes: func() []string { return []string{"the kernel's trace lost 3 reset events"} }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(obs.verdicts) != 2 || obs.verdicts[0] != 6 || obs.verdicts[1] != 8 {
		t.Errorf("observed verdicts %v, want frames 6 and 8", obs.verdicts)
	}
	if len(obs.seen) != 2 || obs.seen[0] != 0 || obs.seen[1] != 1 {
		t.Errorf("the sink held %v verdicts when the observer heard of each, want [0 1]", obs.seen)
	}
	if len(obs.counters) < 2 {
		t.Fatalf("%d counter updates, want the ticks' and the end's", len(obs.counters))
	}
	last := obs.counters[len(obs.counters)-1]
	if last.Frames != 8 || last.TCP != 8 || last.Pending != 0 {
		t.Errorf("last counters %+v, want 8 frames, 8 TCP, none pending", last)
	}
	ws := sink.summary.Warnings
	if len(ws) == 0 || ws[len(ws)-1] != "the kernel's trace lost 3 reset events" {
		t.Errorf("summary warnings %q, want the note last", ws)
	}
}
