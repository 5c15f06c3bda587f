package flows

import (
	"slices"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestShutKeepsHistory: a closed connection's History and TTLs come back
// from its compact record exactly, whether the record holds them itself
// (short histories, one TTL a side) or in a shutExt (long histories,
// retransmissions, a last RST seq the record does not give, several TTLs),
// and dropping the record frees its shutExt.
func TestShutKeepsHistory(t *testing.T) {
	const S, A, P, F, R = capture.SYN, capture.ACK, capture.PSH, capture.FIN, capture.RST
	handshake := []*capture.Packet{wseg(1, cl, sv, S, 100, 0, ""), wseg(2, sv, cl, S|A, 500, 101, ""), wseg(3, cl, sv, A, 101, 501, "")}
	with := func(ps ...*capture.Packet) []*capture.Packet { return append(slices.Clone(handshake), ps...) }
	ttl := func(p *capture.Packet, ttl uint8) *capture.Packet { p.TTL = ttl; return p }
	long := with()
	for i := range 10 { // a RST at another seq, and again: 13 letters
		long = append(long, wseg(uint64(10+i), sv, cl, R, uint32(600+i), 0, ""))
	}
	tests := []struct {
		name string
		pkts []*capture.Packet
		ext  bool // kept in a shutExt
	}{
		{"both close", with(wseg(4, cl, sv, P|A, 101, 501, "GET / HTTP/1.1\r\n\r\n"), wseg(5, sv, cl, F|A, 501, 119, ""),
			wseg(6, cl, sv, F|A, 119, 502, ""), wseg(7, sv, cl, A, 502, 120, "")), false},
		{"reset by the server, from the SYN-ACK on", []*capture.Packet{wseg(1, sv, cl, S|A, 500, 101, ""),
			wseg(2, cl, sv, A, 101, 501, ""), wseg(3, sv, cl, R, 501, 0, ""), wseg(4, sv, cl, R, 502, 0, "")}, false},
		{"refused", []*capture.Packet{wseg(1, cl, sv, S, 100, 0, ""), wseg(2, sv, cl, R|A, 0, 101, "")}, false},
		{"a FIN after the data", with(wseg(4, cl, sv, P|A, 101, 501, "hello"), wseg(5, cl, sv, F|A, 106, 501, ""),
			wseg(6, sv, cl, F|A, 501, 107, "")), false},
		{"retransmission", with(wseg(4, cl, sv, P|A, 101, 501, "hello"), wseg(5, cl, sv, P|A, 101, 501, "hello"),
			wseg(6, sv, cl, R, 501, 0, "")), true},
		{"FIN+RST", with(wseg(4, sv, cl, F|R|A, 501, 101, "")), false},
		{"a RST after the FIN+RST", with(wseg(4, sv, cl, F|R|A, 501, 101, ""), wseg(5, sv, cl, R, 777, 0, "")), false},
		{"a FIN+RST after the RST", with(wseg(4, sv, cl, R, 777, 0, ""), wseg(5, sv, cl, F|R|A, 501, 101, "")), true},
		{"FIN ahead of retransmitted data", with(wseg(4, cl, sv, F|A, 200, 501, ""), wseg(5, cl, sv, P|A, 101, 501, "hi"),
			wseg(6, sv, cl, R, 501, 0, "")), true},
		{"13 letters", long, true},
		{"two TTLs", with(ttl(wseg(4, sv, cl, A, 501, 101, ""), 50), wseg(5, sv, cl, R, 501, 0, "")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := feed(NewTable(Config{NoCompact: true}), tt.pkts...)
			if tt.name == "13 letters" && c.Hist.String() != "ShArrrrrrrrrr" {
				t.Fatalf("history %q, want 13 letters", c.Hist.String())
			}
			var st shutStore
			r, s := st.add()
			s.from(c)
			st.keep(s, c)
			if _, ext := s.hist.ext(); ext != tt.ext || st.ext.live != b2i(tt.ext) {
				t.Errorf("kept in a shutExt: %v (%d live), want %v", ext, st.ext.live, tt.ext)
			}
			var got Conn
			k := st.key(s)
			s.into(&got, &k)
			st.restore(s, &got)
			if got.Hist != c.Hist {
				t.Errorf("history %+v after the compact record, %+v before", got.Hist, c.Hist)
			}
			if got.Hist.String() != c.Hist.String() || got.ConnState() != c.ConnState() {
				t.Errorf("history %q %s after the compact record, %q %s before",
					got.Hist.String(), got.ConnState(), c.Hist.String(), c.ConnState())
			}
			for d := Client; d <= Server; d++ {
				if a, b := c.Half[d].TTLs(), got.Half[d].TTLs(); !slices.Equal(a, b) || got.Half[d].ttls != c.Half[d].ttls {
					t.Errorf("%s TTLs %v after the compact record, %v before", d, b, a)
				}
			}
			st.drop(r)
			if st.ext.live != 0 || st.live != 0 {
				t.Errorf("after drop: %d shutExt, %d records live", st.ext.live, st.live)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLatePacketHistory: a late packet on a compact record, kept in the
// record or in a shutExt, leaves the connection's History as it is
// without compact records.
func TestLatePacketHistory(t *testing.T) {
	rxmt := exchange(40000, 0, 1)
	rxmt = append(rxmt[:4], append([]*capture.Packet{rxmt[3]}, rxmt[4:]...)...) // the request twice: T
	for name, ps := range map[string][]*capture.Packet{"in the record": exchange(40000, 0, 1), "in a shutExt": rxmt} {
		t.Run(name, func(t *testing.T) {
			last := ps[len(ps)-1]
			late := *last
			late.Frame, late.Time, late.Flags = 101, last.Time.Add(4*time.Second), capture.RST
			tick := seg(100, 3*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, "") // time passes
			whole, compact := NewTable(Config{NoCompact: true}), NewTable(Config{CompactAfter: time.Second})
			feed(whole, append(slices.Clone(ps), tick)...)
			feed(compact, append(slices.Clone(ps), tick)...)
			if st := compact.Stats(); st.Compacted != 1 {
				t.Fatalf("stats %+v: the closed connection was not compacted", st)
			}
			a, b := feed(whole, &late), feed(compact, &late)
			if a.Hist != b.Hist || a.Hist.String() == "" {
				t.Errorf("history %q %+v after the compact record, %q %+v without", b.Hist.String(), b.Hist, a.Hist.String(), a.Hist)
			}
		})
	}
}
