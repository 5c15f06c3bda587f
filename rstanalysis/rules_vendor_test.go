package rstanalysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestVendorReasons: a reset reason that a load balancer documents is named
// as evidence and weighs nothing; where the rest of the evidence leaves the
// origin unknown (here, a RST with no other packet of its connection) it
// decides it: the middlebox, with the cause the reason names. A diagnostic
// payload is named and decides nothing.
func TestVendorReasons(t *testing.T) {
	tests := []struct {
		name    string
		lone    bool // the RST alone, no conversation before it
		payload string
		window  uint16
		origin  Origin
		cause   Cause
		rule    RuleID
		text    string
	}{
		{"F5 BIG-IP relays the pool member's reset", true, "BIG-IP: [0x2a0ad24:1010] TCP RST from remote system", 0,
			OriginMiddlebox, CauseServerAbort, RuleVendorF5, `"TCP RST from remote system"`},
		{"F5 BIG-IP idle flow, no prefix", true, "[0x2fb1a95:704] Flow expired (sweeper)", 0,
			OriginMiddlebox, CauseIdleTimeout, RuleVendorF5, "Flow expired"},
		{"F5 BIG-IP no pool member", true, "[0x1:2] No pool member available", 0,
			OriginMiddlebox, CauseRefused, RuleVendorF5, "No pool member"},
		{"Citrix ADC zombie clean-up", true, "", 9300, OriginMiddlebox, CauseIdleTimeout, RuleVendorCitrix, "CTX492010"},
		{"a full proxy's RST matches the server: the verdict stands", false, "[0x1:2] Flow expired (sweeper)", 0,
			OriginServer, CauseServerAbort, RuleVendorF5, "Flow expired"},
		{"diagnostic payload: named, not weighed", false, "\x33\xaa\x00\x0e\x00\x00\x00\x00", 0,
			OriginServer, CauseServerAbort, RuleDiagnostic, "reason code 14, connection timeout"},
		{"a lone RST with no reason stays unknown", true, "", 1234, OriginUnknown, CauseUnknown, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConv(40000)
			if !tt.lone {
				c.handshake().request()
			}
			rst := c.after(time.Millisecond).srv(capture.RST|capture.ACK, tt.payload)
			rst.Window = tt.window
			vs := analyze(c.pkts)
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			v := vs[0]
			if v.Origin != tt.origin || v.Cause != tt.cause {
				t.Errorf("origin %v cause %v, want %v %v; findings %v", v.Origin, v.Cause, tt.origin, tt.cause, v.Texts())
			}
			found := tt.rule == ""
			for _, f := range v.Findings {
				if f.Rule == tt.rule && strings.Contains(f.Text, tt.text) {
					found = true
					if f.Weight != 0 {
						t.Errorf("%s weighs %v, want 0", f.Rule, f.Weight)
					}
				}
				if tt.rule == "" && strings.HasPrefix(string(f.Rule), "vendor.") {
					t.Errorf("finding %s: %s", f.Rule, f.Text)
				}
			}
			if !found {
				t.Errorf("no %s finding with %q: %v", tt.rule, tt.text, v.Texts())
			}
		})
	}
}

// TestLadder: a verdict carries the segments before its RST, the RST
// marked, and those that followed within the grace period, with the TTLs
// and payload lengths seen, and relative sequence numbers from the ISNs.
func TestLadder(t *testing.T) {
	c := newConv(40000)
	c.handshake().request()
	c.after(time.Millisecond).srv(capture.RST|capture.ACK, "")
	c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "late")
	c.after(time.Millisecond).srv(capture.RST, "")
	vs := analyze(c.pkts)
	if len(vs) != 2 {
		t.Fatalf("%d verdicts, want 2", len(vs))
	}
	l := vs[0].Ladder
	if l == nil {
		t.Fatal("no ladder")
	}
	var frames []uint64
	for _, s := range l.Segments {
		frames = append(frames, s.Frame)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8}; !equalFrames(frames, want) {
		t.Fatalf("ladder frames %v, want %v", frames, want)
	}
	rst := l.Segments[5]
	if !rst.RST || rst.From != Server || rst.TTL != 57 {
		t.Errorf("RST segment %+v: want the server's RST, TTL 57, marked", rst)
	}
	req := l.Segments[3]
	if seq, ack, sok, aok := l.Relative(req); req.Len == 0 || seq != 1 || ack != 1 || !sok || !aok || req.TTL != 64 {
		t.Errorf("request segment %+v: len %d, relative seq %d ack %d (%v %v), want 1 1", req, req.Len, seq, ack, sok, aok)
	}
	if vs[0].ConnState != "RSTR" || vs[0].History != "ShADar" {
		t.Errorf("conn_state %q history %q, want RSTR ShADar", vs[0].ConnState, vs[0].History)
	}
}

func equalFrames(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
