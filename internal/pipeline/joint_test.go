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

// TestRunJointSYNUnseen: a SYN refused on the way never shows in the
// server's capture, which ran across that moment: the RST the client got
// "from the server" came from between. A later SYN that did reach the
// server, refused there, is the server's, proven by its own capture.
func TestRunJointSYNUnseen(t *testing.T) {
	client := append(exchange(t0, 40000, 0), exchange(t0.Add(3*time.Second), 42000, 8)...)
	var server []capture.Packet
	for i, p := range serverView(client, 0) {
		if p.SrcPort != 40001 && p.DstPort != 40001 { // the first refused SYN never got there
			p.Frame = uint64(i + 1)
			server = append(server, p)
		}
	}
	sink := &memSink{}
	err := Run(context.Background(), []Input{input("client.pcap", newMemSource(client)), input("server.pcap", newMemSource(server))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	seen := map[uint64]bool{}
	for _, v := range sink.verdicts {
		if v.File != "client.pcap" || v.Client.Port()%1000 != 1 {
			continue
		}
		seen[uint64(v.Client.Port())] = true
		rule := rstanalysis.RuleID("")
		if len(v.Findings) > 0 {
			rule = v.Findings[0].Rule
		}
		switch v.Client.Port() {
		case 40001:
			if v.Origin != rstanalysis.OriginMiddlebox || v.Confidence < 0.95 || rule != rstanalysis.RuleJointConnUnseen {
				t.Errorf("SYN that never arrived: %s %.2f %s, first finding %s; want middlebox by joint.conn_unseen",
					v.Origin, v.Confidence, v.Cause, rule)
			}
		case 42001:
			if v.Origin != rstanalysis.OriginServer || v.Confidence < 0.95 || rule != rstanalysis.RuleJointSeenLeaving {
				t.Errorf("SYN refused by the server: %s %.2f, first finding %s; want server by joint.seen_leaving",
					v.Origin, v.Confidence, rule)
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("refusals judged: %v, want both", seen)
	}
}

// TestRunJointLost: the server's RST leaves the server (its capture shows
// it) but never reaches the client's capture, which ran long after: lost
// on the path, said on the server's verdict.
func TestRunJointLost(t *testing.T) {
	both := append(exchange(t0, 40000, 0), exchange(t0.Add(3*time.Second), 42000, 8)...)
	var client []capture.Packet
	for _, p := range both {
		if !(p.DstPort == 40000 && p.Flags&capture.RST != 0) {
			client = append(client, p)
		}
	}
	sink := &memSink{}
	err := Run(context.Background(), []Input{input("client.pcap", newMemSource(client)),
		input("server.pcap", newMemSource(serverView(both, 0)))}, NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	found := false
	for _, v := range sink.verdicts {
		if v.File != "server.pcap" || v.Client.Port() != 40000 {
			continue
		}
		found = true
		lost := false
		for _, f := range v.Findings {
			lost = lost || f.Rule == rstanalysis.RuleJointLost
		}
		if v.Origin != rstanalysis.OriginServer || !lost || len(v.Sightings) != 1 {
			t.Errorf("%s %.2f, sightings %v, evidence %q; want the server's, lost on the path", v.Origin, v.Confidence, v.Sightings, v.Texts())
		}
	}
	if !found {
		t.Error("no verdict for the server's RST in its own capture")
	}
}
