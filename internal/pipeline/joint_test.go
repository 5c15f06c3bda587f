package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// roles says where the tests' captures were taken, as --vantage does.
var roles = map[string]string{"client.pcap": rstanalysis.RoleClient, "server.pcap": rstanalysis.RoleServer}

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
// Without the roles, the server's capture is only known to be 0 hops
// from it (its host or its link): the same verdicts, but no proof.
func TestRunJoint(t *testing.T) {
	const offset = 3 * time.Second
	pkts := exchange(t0, 40000, 0)
	inputs := func() []Input {
		return []Input{input("client.pcap", newMemSource(pkts)), input("server.pcap", newMemSource(serverView(pkts, offset)))}
	}
	inferred := &memSink{}
	if err := Run(context.Background(), inputs(), NewAnalysis(rstanalysis.Config{}, 0), inferred, Options{Joint: true}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, v := range inferred.verdicts {
		if v.Origin != rstanalysis.OriginServer || v.Confidence >= 0.95 || v.Confidence < 0.85 ||
			len(v.Findings) == 0 || strings.HasPrefix(v.Findings[0].Text, "proof") {
			t.Errorf("%s frame %d, roles inferred: %s %.2f %v; want server at 0.9, no proof", v.File, v.Frame, v.Origin, v.Confidence, v.Texts())
		}
	}
	sink := &memSink{}
	err := Run(context.Background(), inputs(),
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true, Roles: roles})
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

// TestRunJointInterrupted: a joint read cut short still writes what was
// read: here one input, which nothing relates to another, so as read alone.
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
	if sink.summary == nil || sink.summary.Joint != nil || len(sink.verdicts) != 2 {
		t.Fatalf("%d verdicts, summary %+v; want the client's 2 RSTs and no joint summary", len(sink.verdicts), sink.summary)
	}
	for _, v := range sink.verdicts {
		if v.File != "client.pcap" || v.Sightings != nil {
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
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true, Roles: roles})
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

// TestRunJointRefusalAlone: two captures that hold nothing but one refused
// SYN cannot align their clocks (the SYN bounds the offset from one side
// only), and the server's RST loses hops on its way: its two sightings are
// still one packet (the hops the SYN lost the other way, near the time the
// SYN gives), and the server's own capture proves it the server's.
func TestRunJointRefusalAlone(t *testing.T) {
	client := exchange(t0, 40000, 0)[6:] // the refused SYN to port 80 from 40001, and its RST
	for i := range client {
		client[i].Frame = uint64(i + 1)
	}
	server := serverView(client, 3*time.Second)
	sink := &memSink{}
	err := Run(context.Background(), []Input{input("client.pcap", newMemSource(client)), input("server.pcap", newMemSource(server))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: true, Roles: map[string]string{"server.pcap": "server"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(sink.verdicts) != 2 {
		t.Fatalf("%d verdicts, want the RST in each file", len(sink.verdicts))
	}
	for _, v := range sink.verdicts {
		if len(v.Sightings) != 2 || v.Origin != rstanalysis.OriginServer || v.Confidence < 0.95 {
			t.Errorf("%s frame %d: %s %.2f, sightings %v; want the server's, proven, seen in both files",
				v.File, v.Frame, v.Origin, v.Confidence, v.Sightings)
		}
	}
}

// TestRunJointRotated: the files a rotating capture wrote one after
// another at one place share no packet, though a connection runs across
// the cut (and a duplicate ACK lies on each side of it): they are not
// read as one incident, and every verdict is what reading them one by one
// gives, with no summary of how they line up.
func TestRunJointRotated(t *testing.T) {
	pkts := exchanges(t0, 6)
	for i := range pkts { // each connection its own ISNs, as real stacks choose them
		p := &pkts[i]
		cport := p.SrcPort
		if p.SrcPort == 80 {
			cport = p.DstPort
		}
		mine, theirs := uint32(cport)*7919, uint32(cport)*104729
		if p.SrcPort == 80 {
			mine, theirs = theirs, mine
		}
		p.Seq += mine
		if p.Ack != 0 {
			p.Ack += theirs
		}
	}
	cut := len(pkts)/2 + 3 // inside an exchange, after its handshake's ACK
	dup := pkts[cut-1]     // the same ACK again, after the cut
	dup.Time = dup.Time.Add(time.Millisecond)
	if dup.Flags != capture.ACK {
		t.Fatalf("packet before the cut is %v, want a pure ACK to duplicate", dup.Flags)
	}
	second := append([]capture.Packet{dup}, pkts[cut:]...)
	for i := range second {
		second[i].Frame = uint64(i + 1)
	}
	runWith := func(joint bool) *memSink {
		sink := &memSink{}
		err := Run(context.Background(), []Input{input("a.pcap", newMemSource(pkts[:cut])), input("b.pcap", newMemSource(second))},
			NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Joint: joint})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		return sink
	}
	together, apart := runWith(true), runWith(false)
	if together.summary.Joint != nil {
		t.Errorf("rotated files read as one incident: %+v", together.summary.Joint)
	}
	if len(together.verdicts) == 0 || len(together.verdicts) != len(apart.verdicts) {
		t.Fatalf("%d verdicts together, %d apart", len(together.verdicts), len(apart.verdicts))
	}
	for i, v := range together.verdicts {
		w := apart.verdicts[i]
		if v.File != w.File || v.Frame != w.Frame || v.Origin != w.Origin || v.Event != w.Event || v.Sightings != nil {
			t.Errorf("verdict %d: %s#%d %s event %d sightings %v; apart %s#%d %s event %d",
				i, v.File, v.Frame, v.Origin, v.Event, v.Sightings, w.File, w.Frame, w.Origin, w.Event)
		}
	}
}
