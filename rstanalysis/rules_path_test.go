package rstanalysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestPathMAC: the link-layer next hop of a RST against the one its claimed
// sender's SYNs and SYN-ACKs came through.
func TestPathMAC(t *testing.T) {
	router, other, client := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 0x99}, [6]byte{2, 0, 0, 0, 0, 2}
	// macs sets each packet's MAC: the client's, or the server's by frame
	// (the RST's last).
	macs := func(pkts []capture.Packet, server func(i int, p *capture.Packet) [6]byte) []capture.Packet {
		for i := range pkts {
			p := &pkts[i]
			if p.Src == newConv(0).server.Addr() {
				p.SrcMAC = server(i, p)
			} else {
				p.SrcMAC = client
			}
		}
		return pkts
	}
	reset := func() []capture.Packet { // an established connection the server's address resets
		c := newConv(40000)
		c.handshake().request()
		c.after(c.rtt).srv(capture.RST|capture.ACK, "")
		return merge(c)
	}
	refusal := func() []capture.Packet { // a connection, then a refused SYN to the same server
		a := newConv(40000)
		a.handshake().request()
		b := newConv(40001)
		b.t0 = t0.Add(5 * time.Second)
		syn := b.cli(capture.SYN, "")
		r := b.after(b.rtt).srv(capture.RST|capture.ACK, "")
		r.Seq, r.Ack = 0, syn.Seq+1
		return merge(a, b)
	}
	isRST := func(p *capture.Packet) bool { return p.Flags&capture.RST != 0 }
	tests := []struct {
		name   string
		pkts   []capture.Packet
		rule   RuleID // "": no path finding
		weight float64
	}{
		{"through another next hop than the connection's SYN-ACK", macs(reset(), func(_ int, p *capture.Packet) [6]byte {
			if isRST(p) {
				return other
			}
			return router
		}), RulePathMACMismatch, strong},
		{"the same next hop, on this connection: nothing new", macs(reset(), func(int, *capture.Packet) [6]byte { return router }), "", 0},
		{"a refusal through the next hop of the server's other connection", macs(refusal(), func(int, *capture.Packet) [6]byte { return router }), RulePathMACMatch, 0},
		{"a refusal through another next hop", macs(refusal(), func(_ int, p *capture.Packet) [6]byte {
			if isRST(p) {
				return other
			}
			return router
		}), RulePathMACMismatch, moderate},
		{"no MACs (raw IP)", macs(reset(), func(int, *capture.Packet) [6]byte { return [6]byte{} }), "", 0},
	}
	// The server's SYN-ACKs through two next hops (a bond, a mirror of two
	// links): the path says nothing.
	two := refusal()
	varied := newConv(40002)
	varied.handshake()
	for i := range varied.pkts {
		varied.pkts[i].Time = varied.pkts[i].Time.Add(2 * time.Second)
	}
	two = merge(&conv{pkts: two}, varied)
	n := 0
	tests = append(tests, struct {
		name   string
		pkts   []capture.Packet
		rule   RuleID
		weight float64
	}{"the server seen through two next hops", macs(two, func(_ int, p *capture.Packet) [6]byte {
		if isRST(p) {
			return other
		}
		if p.Flags&capture.SYN != 0 {
			n++
			if n == 2 {
				return other
			}
		}
		return router
	}), "", 0})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := analyze(tt.pkts)
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			var got []Finding
			for _, f := range vs[0].Findings {
				if strings.HasPrefix(string(f.Rule), "path.") {
					got = append(got, f)
				}
			}
			switch {
			case tt.rule == "" && len(got) > 0:
				t.Errorf("path findings %+v, want none", got)
			case tt.rule != "" && (len(got) != 1 || got[0].Rule != tt.rule || got[0].Weight != tt.weight || len(got[0].Frames) != 1):
				t.Errorf("path findings %+v, want one %s of weight %v citing a frame", got, tt.rule, tt.weight)
			}
		})
	}
}

// TestPathHindsight: a refusal before the server's first answered
// connection is compared, in hindsight, with the next hop that connection
// shows.
func TestPathHindsight(t *testing.T) {
	router, other := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 0x99}
	for _, tt := range []struct {
		mac    [6]byte // the RST's
		rule   RuleID
		weight float64
	}{{router, RulePathMACMatch, 0}, {other, RulePathMACMismatch, moderate}} {
		refused := newConv(40000)
		syn := refused.cli(capture.SYN, "")
		r := refused.after(20*time.Millisecond).srv(capture.RST|capture.ACK, "")
		r.Seq, r.Ack, r.SrcMAC = 0, syn.Seq+1, tt.mac
		later := newConv(40001)
		later.after(10 * time.Second).handshake().request()
		for i := range later.pkts {
			if later.pkts[i].Src == later.server.Addr() {
				later.pkts[i].SrcMAC = router
			}
		}
		var vs []Verdict
		a := New(Config{Hindsight: time.Minute}, func(v *Verdict) { vs = append(vs, *v) })
		pkts := merge(refused, later)
		for i := range pkts {
			a.Packet(&pkts[i])
		}
		a.Flush()
		if len(vs) != 1 {
			t.Fatalf("%d verdicts", len(vs))
		}
		found := false
		for _, f := range vs[0].Findings {
			if f.Rule == tt.rule && f.Weight == tt.weight && strings.Contains(f.Text, "after this RST") {
				found = true
			}
		}
		if !found {
			t.Errorf("RST through %x: no %s of weight %v after this RST:\n  %s", tt.mac, tt.rule, tt.weight, strings.Join(vs[0].Texts(), "\n  "))
		}
	}
}
