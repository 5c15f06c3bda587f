package flows

import (
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestClientTurn: the client's first turn is not kept (its bytes are the
// head's, and AppOf reads the turn only after two more), a later one is;
// AppOf names the same requests as with every turn kept whole, whether the
// client or the server spoke first.
func TestClientTurn(t *testing.T) {
	const req1, req2 = "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n"
	const resp = "HTTP/1.1 200 OK\r\n\r\n"
	for _, tt := range []struct {
		name  string
		turns []string // alternately the client's and the server's, "" to skip one
		kept  []bool   // ClientTurn is non-empty after each turn
		last  string   // AppOf's LastRequest at the end
	}{
		{"client first", []string{req1, resp, req2, resp}, []bool{false, false, true, true}, "GET example.com/b"},
		{"one exchange", []string{req1, resp}, []bool{false, false}, ""},
		{"server first", []string{"", "220 ready\r\n", req1, resp}, []bool{false, false, true, true}, "GET example.com/a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var apps [2]App
			for i, digest := range []bool{false, true} {
				digestHeads = digest
				tb := NewTable(Config{})
				frame, at := uint64(0), time.Duration(0)
				step := func(from, to string, flags capture.Flags, seq, ack uint32, payload string) *Conn {
					frame++
					at += time.Millisecond
					c, _ := tb.Step(seg(frame, at, from, to, flags, seq, ack, payload))
					return c
				}
				step(cl, sv, capture.SYN, 1000, 0, "")
				c := step(sv, cl, capture.SYN|capture.ACK, 5000, 1001, "")
				step(cl, sv, capture.ACK, 1001, 5001, "")
				seq := [2]uint32{1001, 5001}
				for j, p := range tt.turns {
					d := Side(j % 2)
					if p != "" {
						c = step(c.Half[d].Addr().String(), c.Half[d.Peer()].Addr().String(), capture.ACK|capture.PSH, seq[d], seq[d.Peer()], p)
						seq[d] += uint32(len(p))
					}
					if kept := len(c.ClientTurn()) > 0; digest && kept != tt.kept[j] {
						t.Errorf("after turn %d: a client turn kept: %v, want %v", j+1, kept, tt.kept[j])
					}
				}
				apps[i] = AppOf(c)
			}
			digestHeads = true
			if apps[1] != apps[0] || apps[1].LastRequest != tt.last {
				t.Errorf("AppOf %+v, with every turn whole %+v; want the last request %q", apps[1], apps[0], tt.last)
			}
		})
	}
}
