package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// serverView is exchange's packets as the server host captures them, on
// a clock off by offset: the client's packets 10 ms later and 7 hops
// away, the server's own 10 ms earlier and unrouted.
func serverView(pkts []capture.Packet, offset time.Duration) []capture.Packet {
	out := make([]capture.Packet, len(pkts))
	for i, p := range pkts {
		if p.SrcPort == 80 {
			p.Time, p.TTL = p.Time.Add(-10*time.Millisecond+offset), 64
		} else {
			p.Time, p.TTL = p.Time.Add(10*time.Millisecond+offset), 57
		}
		out[i] = p
	}
	return out
}

// TestRunJoint: with Options.Joint two inputs are judged together: each
// server RST, seen leaving the server host, is the server's with proof in
// both files, its two records share an event number and list both
// sightings, and the summary gives the second input's clock offset.
func TestRunJoint(t *testing.T) {
	const offset = 3 * time.Second
	pkts := exchange(t0, 40000, 0)
	sink := &memSink{}
	err := Run(context.Background(), []Input{input("client.pcap", newMemSource(pkts)),
		input("server.pcap", newMemSource(serverView(pkts, offset)))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(sink.verdicts) != 4 {
		t.Fatalf("%d verdicts, want 4", len(sink.verdicts))
	}
	for i, v := range sink.verdicts {
		if v.Origin != rstanalysis.OriginServer || v.Confidence < 0.95 || len(v.Sightings) != 2 {
			t.Errorf("verdict %d (%s frame %d): %s %.2f, sightings %v; want server, proven, seen in both",
				i, v.File, v.Frame, v.Origin, v.Confidence, v.Sightings)
		}
		if want := uint64(i%2 + 1); v.Event != want {
			t.Errorf("verdict %d: event %d, want %d", i, v.Event, want)
		}
	}
	j := sink.summary.Joint
	if j == nil || len(j.Inputs) != 2 {
		t.Fatalf("summary joint %+v", j)
	}
	in := j.Inputs[1]
	if !in.Aligned || in.Offset < offset-in.Uncertainty || in.Offset > offset+in.Uncertainty || in.Uncertainty > 11*time.Millisecond ||
		in.Matched != 2 || in.Role != rstanalysis.RoleServer || j.Inputs[0].Role != rstanalysis.RoleClient {
		t.Errorf("second input %+v, want offset %v within its uncertainty (≤ 11 ms), 2 matched, server role", in, offset)
	}
}

// TestRunJointInterrupted: a joint read cut short still judges and writes
// what was read.
func TestRunJointInterrupted(t *testing.T) {
	pkts := exchange(t0, 40000, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newMemSource(pkts)
	a.onNext = func(i int) {
		if i == len(pkts)-1 {
			cancel() // the server's capture is never read
		}
	}
	sink := &memSink{}
	err := Run(ctx, []Input{input("client.pcap", a), input("server.pcap", newMemSource(serverView(pkts, 0)))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run: %v, want ErrInterrupted", err)
	}
	if sink.summary == nil || sink.summary.Joint == nil || len(sink.verdicts) != 2 {
		t.Fatalf("%d verdicts, summary %+v; want the client's 2 RSTs and a joint summary", len(sink.verdicts), sink.summary)
	}
	for _, v := range sink.verdicts {
		if v.File != "client.pcap" || len(v.Sightings) != 1 {
			t.Errorf("%s frame %d: sightings %v", v.File, v.Frame, v.Sightings)
		}
	}
}
