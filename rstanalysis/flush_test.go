package rstanalysis

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// flusher is an Analyzer or a Sharded.
type flusher interface {
	Packet(*capture.Packet)
	Flush()
	FlushBy(expired func() bool) Cut
}

// flushed feeds pkts to a fresh analysis (workers 0: one Analyzer, else a
// Sharded of that many) and ends it with Flush when expired is nil, or
// with FlushBy(expired).
func flushed(pkts []capture.Packet, workers int, expired func() bool) ([]Verdict, Cut) {
	var vs []Verdict
	emit := func(v *Verdict) { vs = append(vs, *v) }
	cfg := Config{Hindsight: 30 * time.Second}
	var an flusher = New(cfg, emit)
	if workers > 0 {
		an = NewSharded(cfg, workers, emit)
	}
	for i := range pkts {
		an.Packet(&pkts[i])
	}
	if expired == nil {
		an.Flush()
		return vs, Cut{}
	}
	return vs, an.FlushBy(expired)
}

// loneFlood is n RSTs with no connection behind them, 3 µs apart, each
// from a random address and port: a scan's backscatter.
func loneFlood(n int) []capture.Packet {
	rng := rand.New(rand.NewPCG(18, 1))
	pkts := make([]capture.Packet, n)
	for i := range pkts {
		p := &pkts[i]
		p.Frame, p.Time = uint64(i+1), t0.Add(time.Duration(i)*3*time.Microsecond)
		p.Src = netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(250))})
		p.Dst, p.SrcPort, p.DstPort = netip.MustParseAddr("192.0.2.1"), uint16(1024+rng.IntN(60000)), 80
		p.TTL, p.Flags, p.Seq = 64, capture.RST, rng.Uint32()
	}
	return pkts
}

// cutInputs are packet sequences that end with verdicts pending, as an
// interrupted read does: a flood of lone RSTs, and the first part of each
// lab capture.
func cutInputs(t *testing.T) map[string][]capture.Packet {
	in := map[string][]capture.Packet{"lone-flood": loneFlood(3000)}
	for _, path := range compactInputs(t) {
		src, err := capture.Open(path, capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var pkts []capture.Packet
		var p capture.Packet
		for src.Next(&p) == nil {
			pkts = append(pkts, p)
		}
		src.Close()
		in[path] = pkts[:len(pkts)*2/3]
	}
	return in
}

// TestFlushByBeforeDeadline: as long as its deadline has not passed,
// FlushBy emits what Flush emits, in one Analyzer and in a Sharded one.
func TestFlushByBeforeDeadline(t *testing.T) {
	never := func() bool { return false }
	for name, pkts := range cutInputs(t) {
		for _, workers := range []int{0, 1, 2} {
			want, _ := flushed(pkts, workers, nil)
			got, cut := flushed(pkts, workers, never)
			if cut != (Cut{}) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %d workers: FlushBy gave %d verdicts (cut %+v), Flush %d", name, workers, len(got), cut, len(want))
			}
		}
	}
}

// TestFlushByCut: once its deadline passes, FlushBy emits nothing more: what
// it emitted is the start of what Flush emits, the Cut counts the rest and
// names its first frame, and the work after the deadline does not grow with
// the verdicts left (expired is not asked again per verdict).
func TestFlushByCut(t *testing.T) {
	pkts := loneFlood(5000)
	want, _ := flushed(pkts, 0, nil)
	if len(want) != len(pkts) {
		t.Fatalf("Flush: %d verdicts of %d RSTs", len(want), len(pkts))
	}
	for _, workers := range []int{0, 1, 2} {
		for _, k := range []int{0, 1, 700, 6000} {
			t.Run(fmt.Sprintf("%dworkers_after%d", workers, k), func(t *testing.T) {
				var calls, after atomic.Int64
				expired := func() bool {
					if calls.Add(1) > int64(k) {
						after.Add(1)
						return true
					}
					return false
				}
				got, cut := flushed(pkts, workers, expired)
				if len(got) > 0 && !reflect.DeepEqual(got, want[:len(got)]) {
					t.Fatalf("the %d verdicts emitted are not the first of Flush's", len(got))
				}
				if len(got) == len(want) {
					if cut != (Cut{}) {
						t.Errorf("every verdict emitted, and cut %+v", cut)
					}
					return
				}
				if cut.Undecided != len(want)-len(got) || cut.Frame != want[len(got)].Frame {
					t.Errorf("cut %+v after %d verdicts; want %d undecided from frame %d",
						cut, len(got), len(want)-len(got), want[len(got)].Frame)
				}
				if workers == 0 && len(got) != min(k, len(want)) {
					t.Errorf("%d verdicts emitted, want the %d decided before the deadline", len(got), k)
				}
				if n := after.Load(); n > int64(workers+2) {
					t.Errorf("expired asked %d times after the deadline: want once per worker and merge", n)
				}
			})
		}
	}
}
