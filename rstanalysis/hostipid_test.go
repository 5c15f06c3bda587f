package rstanalysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestIPIDHost: a refused SYN's RST against the server's IPv4 IDs on its
// earlier connections: one counter for all of them (a global counter), all
// zero, or a counter per connection (nothing to say).
func TestIPIDHost(t *testing.T) {
	// build makes five answered connections, one after another, whose
	// server IDs continue one counter (perConn: start afresh on each; zero:
	// all 0), then a refused SYN whose RST has ID rstID(the counter's last).
	build := func(zero bool, perConn bool, rstID func(last uint16) uint16) []capture.Packet {
		var cs []*conv
		id := uint16(5000)
		for i := range 5 {
			c := newConv(uint16(40000 + i))
			c.t0 = t0.Add(time.Duration(i) * 100 * time.Millisecond)
			c.sID = id
			if perConn {
				c.sID = uint16(9000 * (i + 1))
			}
			c.handshake().request()
			id = c.sID
			cs = append(cs, c)
		}
		last := id - 1
		r := newConv(40009)
		r.t0 = t0.Add(600 * time.Millisecond)
		syn := r.cli(capture.SYN, "")
		rst := r.after(20*time.Millisecond).srv(capture.RST|capture.ACK, "")
		rst.Seq, rst.Ack, rst.IPID = 0, syn.Seq+1, rstID(last)
		all := merge(append(cs, r)...)
		if zero {
			for i := range all {
				if all[i].Src == r.server.Addr() && all[i].Flags&capture.RST == 0 {
					all[i].IPID = 0
				}
			}
		}
		return all
	}
	tests := []struct {
		name    string
		zero    bool
		perConn bool
		rstID   func(last uint16) uint16
		rule    RuleID
	}{
		{"global counter, the next ID", false, false, func(l uint16) uint16 { return l + 1 }, RuleIPIDHostFits},
		{"global counter, far behind", false, false, func(l uint16) uint16 { return l - 1000 }, RuleIPIDHostOdd},
		{"global counter, far ahead: the host may have sent unseen", false, false, func(l uint16) uint16 { return l + 5000 }, ""},
		{"all zero, a RST with an ID", true, false, func(uint16) uint16 { return 4242 }, RuleIPIDHostOdd},
		{"all zero, a RST with ID 0", true, false, func(uint16) uint16 { return 0 }, ""},
		{"a counter per connection", false, true, func(l uint16) uint16 { return 777 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := analyze(build(tt.zero, tt.perConn, tt.rstID))
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			var got []RuleID
			for _, f := range vs[0].Findings {
				if strings.HasPrefix(string(f.Rule), "ipid.host") {
					got = append(got, f.Rule)
				}
			}
			if tt.rule == "" && len(got) > 0 || tt.rule != "" && (len(got) != 1 || got[0] != tt.rule) {
				t.Errorf("findings %v, want %q:\n  %s", got, tt.rule, strings.Join(vs[0].Texts(), "\n  "))
			}
		})
	}
}
