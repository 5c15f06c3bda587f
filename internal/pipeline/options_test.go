package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// exchanges repeats exchange n times, 2 s apart, on distinct ports: 8n
// packets, 2n RSTs.
func exchanges(start time.Time, n int) []capture.Packet {
	var pkts []capture.Packet
	for i := range n {
		pkts = append(pkts, exchange(start.Add(time.Duration(i)*2*time.Second), uint16(10000+2*i), uint64(len(pkts)))...)
	}
	return pkts
}

// sharedFrameSource lends one buffer for every frame, rewritten by each
// Next, as libpcap does.
type sharedFrameSource struct {
	*memSource
	buf []byte
}

func (s *sharedFrameSource) Next(p *capture.Packet) error {
	err := s.memSource.Next(p)
	s.buf[0] = byte(s.i)
	return err
}

func (s *sharedFrameSource) LastFrame() ([]byte, gopacket.CaptureInfo, layers.LinkType) {
	return s.buf, gopacket.CaptureInfo{}, layers.LinkTypeEthernet
}

// memSaver records the first byte of every frame it is given.
type memSaver struct {
	firsts  []byte
	failAt  int // Add fails from this call on (1-based); 0: never
	closes  int
	addErrs int
}

func (s *memSaver) Add(_ *capture.Packet, frame []byte, _ gopacket.CaptureInfo) error {
	if s.failAt > 0 && len(s.firsts)+s.addErrs+1 >= s.failAt {
		s.addErrs++
		return errors.New("kept.pcap: writing the evidence capture: no space left on device")
	}
	s.firsts = append(s.firsts, frame[0])
	return nil
}

func (s *memSaver) Close() error { s.closes++; return nil }

// TestRunReadAhead: reading on a goroutine of its own, through a pool of 4
// items recycled many times, gives the same verdicts as reading on the
// loop's, and saves every frame, copied before the source reuses it.
func TestRunReadAhead(t *testing.T) {
	pkts := exchanges(t0, 50)
	direct := &memSink{}
	if err := Run(context.Background(), []Input{input("a", newMemSource(pkts))}, NewAnalysis(rstanalysis.Config{}, 0),
		direct, Options{}); err != nil {
		t.Fatal(err)
	}
	src := &sharedFrameSource{memSource: newMemSource(pkts), buf: make([]byte, 64)}
	ahead, saver := &memSink{}, &memSaver{}
	if err := Run(context.Background(), []Input{input("a", src)}, NewAnalysis(rstanalysis.Config{}, 0),
		ahead, Options{ReadAhead: 4, Save: saver}); err != nil {
		t.Fatal(err)
	}
	if len(direct.verdicts) != 100 || len(ahead.verdicts) != len(direct.verdicts) {
		t.Fatalf("%d verdicts read ahead, %d directly; want 100", len(ahead.verdicts), len(direct.verdicts))
	}
	for i := range direct.verdicts {
		d, a := direct.verdicts[i], ahead.verdicts[i]
		if d.Frame != a.Frame || d.Origin != a.Origin || d.Phase != a.Phase || d.Cause != a.Cause {
			t.Fatalf("verdict %d: read ahead %+v, directly %+v", i, a, d)
		}
	}
	if ahead.summary == nil || ahead.summary.TCPPackets != uint64(len(pkts)) {
		t.Errorf("summary %+v", *ahead.summary)
	}
	if len(saver.firsts) != len(pkts) || saver.closes != 1 {
		t.Fatalf("saved %d frames of %d, closed %d times", len(saver.firsts), len(pkts), saver.closes)
	}
	for i, b := range saver.firsts {
		if b != byte(i+1) {
			t.Fatalf("frame %d saved as the frame of packet %d: not copied before the next read", i+1, b)
		}
	}
}

// TestRunTick: on a quiet interface (a source that waits after its last
// packet) the last verdict comes out by wall-clock time with Tick, before
// the run is stopped, and not without (the first is released by the
// capture time of the packets after it); cancelling then ends the run
// normally.
func TestRunTick(t *testing.T) {
	for _, tick := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(tick.String(), func(t *testing.T) {
			src := newMemSource(exchange(time.Now().Add(-2*time.Second), 40000, 0))
			src.block = true
			sink := &memSink{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() {
				done <- Run(ctx, []Input{input("interface test0", src)}, NewAnalysis(rstanalysis.Config{Grace: 50 * time.Millisecond}, 0),
					sink, Options{ReadAhead: 8, Tick: tick, CancelEnds: true})
			}()
			deadline := time.Now().Add(300 * time.Millisecond)
			for sink.count() < 2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got, want := sink.count(), map[bool]int{false: 1, true: 2}[tick > 0]; got != want {
				t.Errorf("%d verdicts before the run was stopped, want %d", got, want)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not end after cancel")
			}
			if len(sink.verdicts) != 2 || sink.summary == nil || len(sink.summary.Warnings) != 0 {
				t.Errorf("%d verdicts, summary %+v; want 2 and no warning", len(sink.verdicts), sink.summary)
			}
		})
	}
}

// TestRunStops: Count and Duration end the run normally.
func TestRunStops(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		block   bool
		wantTCP uint64
	}{
		{"count", Options{Count: 3}, false, 3},
		{"count read ahead", Options{Count: 3, ReadAhead: 2}, true, 3},
		{"duration", Options{Duration: 50 * time.Millisecond, ReadAhead: 2}, true, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newMemSource(exchange(t0, 40000, 0))
			src.block = tt.block
			sink := &memSink{}
			start := time.Now()
			err := Run(context.Background(), []Input{input("a", src)}, NewAnalysis(rstanalysis.Config{}, 0), sink, tt.opts)
			if err != nil || sink.summary == nil {
				t.Fatalf("Run: %v, summary %+v", err, sink.summary)
			}
			if s := sink.summary; s.TCPPackets != tt.wantTCP || len(s.Warnings) != 0 {
				t.Errorf("%d TCP packets, warnings %q; want %d and none", s.TCPPackets, s.Warnings, tt.wantTCP)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// TestRunInterrupted: a read whose context is cancelled stops at its next
// look (every checkEvery packets), decides the verdicts of what it read, and
// writes the report with a warning and returns ErrInterrupted; as a live
// capture, without either.
func TestRunInterrupted(t *testing.T) {
	pkts := exchanges(t0, 9000) // 72,000 packets
	for _, cancelEnds := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		src := newMemSource(pkts)
		src.onNext = func(i int) {
			if i == 10 {
				cancel()
			}
		}
		sink := &memSink{}
		err := Run(ctx, []Input{input("big.pcap", src)}, NewAnalysis(rstanalysis.Config{}, 0), sink,
			Options{CancelEnds: cancelEnds})
		cancel()
		if want := map[bool]error{false: ErrInterrupted, true: nil}[cancelEnds]; err != want {
			t.Fatalf("CancelEnds %v: Run: %v, want %v", cancelEnds, err, want)
		}
		s := sink.summary
		if s == nil || s.TCPPackets != checkEvery || s.RSTs != checkEvery/4 || len(sink.verdicts) != checkEvery/4 {
			t.Fatalf("summary %+v, %d verdicts; want %d packets and a verdict for each of their %d RSTs",
				s, len(sink.verdicts), checkEvery, checkEvery/4)
		}
		warned := strings.Join(s.Warnings, "\n") == "interrupted: results cover the packets read so far"
		if warned == cancelEnds {
			t.Errorf("CancelEnds %v: warnings %q", cancelEnds, s.Warnings)
		}
	}
}

// TestRunSaveFails: the first error saving frames is reported once, no
// frame is offered after it, and the run is incomplete.
func TestRunSaveFails(t *testing.T) {
	saver := &memSaver{failAt: 3}
	sink := &memSink{}
	var log bytes.Buffer
	err := Run(context.Background(), []Input{input("a", newMemSource(exchange(t0, 40000, 0)))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Log: &log, Save: saver})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Run: %v, want ErrIncomplete", err)
	}
	if saver.addErrs != 1 || len(saver.firsts) != 2 || saver.closes != 1 {
		t.Errorf("%d frames saved, %d failed adds, %d closes; want 2, 1, 1", len(saver.firsts), saver.addErrs, saver.closes)
	}
	if strings.Count(log.String(), "no more frames will be saved") != 1 {
		t.Errorf("log %q", log.String())
	}
	if len(sink.verdicts) != 2 || !strings.Contains(strings.Join(sink.summary.Warnings, "\n"), "no space left") {
		t.Errorf("%d verdicts, warnings %q", len(sink.verdicts), sink.summary.Warnings)
	}
}
