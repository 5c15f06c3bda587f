package rstanalysis

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestRevise: live, a server's first connection refused, its later one
// answered. The refusal goes out unknown when its grace ends; the later
// SYN-ACK's TTL and RTT settle it, and it is emitted again as revision 1,
// the same RST, with what the first issue said in Was. Past the window, or
// with Revise off, nothing is revised; a verdict the later connection
// settles before it goes out is issued settled, with no revision.
func TestRevise(t *testing.T) {
	build := func(rstTTL uint8, delay, later time.Duration) []capture.Packet {
		refused := newConv(40000)
		syn := refused.cli(capture.SYN, "")
		r := refused.after(delay).srv(capture.RST|capture.ACK, "")
		r.Seq, r.Ack, r.TTL = 0, syn.Seq+1, rstTTL
		next := newConv(40001)
		next.after(later).handshake().request()
		return merge(refused, next)
	}
	tests := []struct {
		name    string
		rstTTL  uint8
		delay   time.Duration
		later   time.Duration // the answered connection's SYN after the refusal's
		revise  time.Duration
		origins []Origin // of each issue, in order
	}{
		{"the later SYN-ACK matches", 57, 20 * time.Millisecond, 10 * time.Second, time.Minute,
			[]Origin{OriginUnknown, OriginServer}},
		{"made on the link, sooner than the server's RTT", 64, 100 * time.Microsecond, 10 * time.Second, time.Minute,
			[]Origin{OriginUnknown, OriginMiddlebox}},
		{"past the window", 57, 20 * time.Millisecond, 10 * time.Second, 5 * time.Second, []Origin{OriginUnknown}},
		{"revise off", 57, 20 * time.Millisecond, 10 * time.Second, 0, []Origin{OriginUnknown}},
		{"settled within the grace: one issue", 57, 20 * time.Millisecond, time.Second, time.Minute,
			[]Origin{OriginServer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := build(tt.rstTTL, tt.delay, tt.later)
			for i := range 4 { // by one Analyzer or two workers, with the Findings and Ladders lent or not
				sharded, lend := i&1 != 0, i&2 != 0
				vs := reviseRun(pkts, Config{Revise: tt.revise, Lend: lend}, sharded)
				if sharded { // the workers' verdicts come out in batches: later, maybe settled
					if last := vs[len(vs)-1]; last.Origin != tt.origins[len(tt.origins)-1] {
						t.Errorf("sharded: last issue %v, want %v", last.Origin, tt.origins[len(tt.origins)-1])
					}
					continue
				}
				if len(vs) != len(tt.origins) {
					t.Fatalf("sharded=%v: %d issues, want %d: %+v", sharded, len(vs), len(tt.origins), vs)
				}
				for i, v := range vs {
					if v.Origin != tt.origins[i] || v.Revision != i || v.Frame != vs[0].Frame || v.Event != vs[0].Event {
						t.Errorf("sharded=%v: issue %d: frame %d event %d revision %d origin %v, want frame %d revision %d origin %v:\n  %s",
							sharded, i, v.Frame, v.Event, v.Revision, v.Origin, vs[0].Frame, i, tt.origins[i], strings.Join(v.Texts(), "\n  "))
					}
					if i > 0 && (v.Was != Was{Origin: vs[i-1].Origin, Cause: vs[i-1].Cause, Confidence: vs[i-1].Confidence}) {
						t.Errorf("sharded=%v: revision %d: Was %+v, want the issue before it", sharded, i, v.Was)
					}
					if v.held != nil {
						t.Errorf("sharded=%v: issue %d still marked held", sharded, i)
					}
				}
				// Offline, hindsight gives the revision's verdict at once.
				hs := reviseRun(pkts, Config{Hindsight: tt.revise, Lend: lend}, sharded)
				if last := vs[len(vs)-1]; tt.revise > 0 && (len(hs) != 1 || hs[0].Origin != last.Origin || hs[0].Cause != last.Cause) {
					t.Errorf("sharded=%v: hindsight gives %+v, the last revision %v %v", sharded, hs, last.Origin, last.Cause)
				}
			}
		})
	}
}

// TestReviseBounded: at most maxRevisable verdicts wait for a revision; the
// oldest go first.
func TestReviseBounded(t *testing.T) {
	var pkts []capture.Packet
	for i := range maxRevisable + 10 {
		c := newConv(uint16(20000 + i))
		c.server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i / 250), byte(i%250 + 1)}), 80) // none learnt
		c.t0 = t0.Add(time.Duration(i) * time.Millisecond)
		syn := c.cli(capture.SYN, "")
		r := c.after(20*time.Millisecond).srv(capture.RST|capture.ACK, "")
		r.Seq, r.Ack = 0, syn.Seq+1
		pkts = append(pkts, c.pkts...)
	}
	var vs []Verdict
	a := New(Config{Revise: time.Hour}, func(v *Verdict) { vs = append(vs, *v) })
	for i := range pkts {
		pkts[i].Frame = uint64(i + 1)
		a.Packet(&pkts[i])
	}
	a.Flush()
	if n := len(a.rv.kept) - a.rv.head; n != maxRevisable {
		t.Errorf("%d verdicts kept for a revision, want %d", n, maxRevisable)
	}
	if len(vs) != maxRevisable+10 {
		t.Errorf("%d verdicts, want %d", len(vs), maxRevisable+10)
	}
}

// reviseRun analyses pkts with cfg, by one Analyzer or two workers.
func reviseRun(pkts []capture.Packet, cfg Config, sharded bool) []Verdict {
	var vs []Verdict
	emit := func(v *Verdict) { // a copy of what is lent
		c := *v
		c.Findings = slices.Clone(v.Findings)
		vs = append(vs, c)
	}
	var a interface {
		Packet(*capture.Packet)
		Flush()
	}
	if sharded {
		a = NewSharded(cfg, 2, emit)
	} else {
		a = New(cfg, emit)
	}
	for i := range pkts {
		a.Packet(&pkts[i])
	}
	a.Flush()
	return vs
}
