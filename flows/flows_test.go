package flows

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// seg builds a segment from a to b.
func seg(frame uint64, at time.Duration, a, b string, flags capture.Flags, seq, ack uint32, payload string) *capture.Packet {
	src, dst := netip.MustParseAddrPort(a), netip.MustParseAddrPort(b)
	p := &capture.Packet{Frame: frame, Time: t0.Add(at), Src: src.Addr(), SrcPort: src.Port(), Dst: dst.Addr(), DstPort: dst.Port(),
		Flags: flags, Seq: seq, Ack: ack, TTL: 64, PayloadLen: len(payload)}
	p.HeadN = copy(p.Head[:], payload)
	return p
}

const cl, sv = "10.0.0.1:40000", "10.0.0.2:80"

func feed(t *Table, ps ...*capture.Packet) *Conn {
	var c *Conn
	for _, p := range ps {
		c, _ = t.Step(p)
	}
	return c
}

func TestKeyOfIsSymmetric(t *testing.T) {
	a := seg(1, 0, cl, sv, capture.SYN, 1, 0, "")
	b := seg(2, 0, sv, cl, capture.SYN|capture.ACK, 1, 2, "")
	if KeyOf(a) != KeyOf(b) {
		t.Fatal("the two directions of one connection have different keys")
	}
	c := seg(3, 0, cl, "10.0.0.2:81", capture.SYN, 1, 0, "")
	if KeyOf(a) == KeyOf(c) {
		t.Fatal("different ports share a key")
	}
}

func TestServerByPort(t *testing.T) {
	tests := []struct {
		name string
		a, b uint16
		want bool // a is the server
	}{
		{"well-known beats ephemeral", 443, 51000, true},
		{"ephemeral loses to well-known", 51000, 80, false},
		{"registered beats ephemeral", 8080, 40000, true},
		{"both ephemeral: lower wins", 33000, 60000, true},
		{"both well-known: lower wins", 25, 110, true},
	}
	for _, tt := range tests {
		if got := ServerByPort(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: ServerByPort(%d, %d) = %v", tt.name, tt.a, tt.b, got)
		}
	}
}

func TestSidesAndRTT(t *testing.T) {
	tests := []struct {
		name        string
		pkts        []*capture.Packet
		client      string
		midstream   bool
		serverRTT   time.Duration
		clientRTT   time.Duration
		established bool
	}{
		{"SYN sender is the client (RFC 9293 active opener)", []*capture.Packet{
			seg(1, 0, cl, sv, capture.SYN, 100, 0, ""),
			seg(2, 20*time.Millisecond, sv, cl, capture.SYN|capture.ACK, 500, 101, ""),
			seg(3, 21*time.Millisecond, cl, sv, capture.ACK, 101, 501, ""),
		}, cl, false, 20 * time.Millisecond, time.Millisecond, true},
		{"SYN-ACK without SYN still names the client", []*capture.Packet{
			seg(1, 0, sv, cl, capture.SYN|capture.ACK, 500, 101, ""),
			seg(2, time.Millisecond, cl, sv, capture.ACK, 101, 501, ""),
		}, cl, false, 0, time.Millisecond, true},
		{"mid-stream: the port decides", []*capture.Packet{
			seg(1, 0, sv, cl, capture.ACK|capture.PSH, 500, 101, "HTTP/1.1 200 OK\r\n"),
		}, cl, true, 0, 0, false},
		{"a SYN-ACK after the client's ACKs: its ACK completes the handshake", []*capture.Packet{
			seg(1, 0, cl, sv, capture.ACK, 101, 501, ""),
			seg(2, 10*time.Millisecond, sv, cl, capture.SYN|capture.ACK, 500, 101, ""),
			seg(3, 11*time.Millisecond, cl, sv, capture.ACK, 101, 501, ""),
		}, cl, true, 0, time.Millisecond, true},
		{"ACK not acking the SYN-ACK does not complete the handshake", []*capture.Packet{
			seg(1, 0, cl, sv, capture.SYN, 100, 0, ""),
			seg(2, 20*time.Millisecond, sv, cl, capture.SYN|capture.ACK, 500, 101, ""),
			seg(3, 21*time.Millisecond, cl, sv, capture.ACK, 101, 9999, ""),
		}, cl, false, 20 * time.Millisecond, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := feed(NewTable(Config{}), tt.pkts...)
			if got := c.Client().String(); got != tt.client {
				t.Errorf("client %s, want %s", got, tt.client)
			}
			if c.Midstream != tt.midstream || c.Established() != tt.established {
				t.Errorf("midstream %v established %v, want %v %v", c.Midstream, c.Established(), tt.midstream, tt.established)
			}
			if c.ServerRTT() != tt.serverRTT || c.ClientRTT() != tt.clientRTT {
				t.Errorf("RTT legs server %v client %v, want %v %v", c.ServerRTT(), c.ClientRTT(), tt.serverRTT, tt.clientRTT)
			}
		})
	}
}

func TestReassembly(t *testing.T) {
	syn := seg(1, 0, cl, sv, capture.SYN, 99, 0, "")
	tests := []struct {
		name string
		segs []*capture.Packet
		want string
	}{
		{"in order", []*capture.Packet{
			seg(2, 1, cl, sv, capture.ACK, 100, 1, "GET / HT"),
			seg(3, 2, cl, sv, capture.ACK, 108, 1, "TP/1.1\r\n"),
		}, "GET / HTTP/1.1\r\n"},
		{"retransmission overlapping the head", []*capture.Packet{
			seg(2, 1, cl, sv, capture.ACK, 100, 1, "GET / HT"),
			seg(3, 2, cl, sv, capture.ACK, 104, 1, "/ HTTP/1.1"),
		}, "GET / HTTP/1.1"},
		{"a gap stops the head", []*capture.Packet{
			seg(2, 1, cl, sv, capture.ACK, 100, 1, "GET / HT"),
			seg(3, 2, cl, sv, capture.ACK, 120, 1, "later"),
		}, "GET / HT"},
		{"segment before the head is trimmed", []*capture.Packet{
			seg(2, 1, cl, sv, capture.ACK, 100, 1, "GET"),
			seg(3, 2, cl, sv, capture.ACK, 98, 1, "..GET /x"),
		}, "GET /x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := feed(NewTable(Config{}), append([]*capture.Packet{syn}, tt.segs...)...)
			if got := string(c.Head(Client)); got != tt.want {
				t.Errorf("head %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppOf(t *testing.T) {
	hello := clientHello("a.com")
	tests := []struct {
		name              string
		client, server    string
		request, response string
	}{
		{"HTTP request and status", "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\n", "GET example.com/x", "HTTP 503"},
		{"TLS ClientHello with SNI (RFC 6066 §3)", hello, "\x15\x03\x03\x00\x02\x02\x28", "TLS ClientHello sni=a.com", "TLS alert fatal handshake_failure"},
		{"text protocol", "EHLO mail.example.com\r\n", "220 ready\r\n", `"EHLO mail.example.com"`, `"220 ready"`},
		{"binary protocol", "\x00\x01\x02\x03\xff\xfe", "", "6 bytes, binary", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk := []*capture.Packet{seg(1, 0, cl, sv, capture.SYN, 99, 0, ""), seg(2, 1, sv, cl, capture.SYN|capture.ACK, 499, 100, "")}
			pk = append(pk, seg(3, 2, cl, sv, capture.ACK|capture.PSH, 100, 500, tt.client))
			if tt.server != "" {
				pk = append(pk, seg(4, 3, sv, cl, capture.ACK|capture.PSH, 500, 100+uint32(len(tt.client)), tt.server))
			}
			a := AppOf(feed(NewTable(Config{}), pk...))
			if a.Request != tt.request || a.Response != tt.response {
				t.Errorf("request %q response %q, want %q %q", a.Request, a.Response, tt.request, tt.response)
			}
		})
	}
}

func TestReincarnation(t *testing.T) {
	tb := NewTable(Config{})
	first := feed(tb, seg(1, 0, cl, sv, capture.SYN, 100, 0, ""), seg(2, 1, sv, cl, capture.RST|capture.ACK, 0, 101, ""))
	id := first.ID
	if c := feed(tb, seg(3, time.Second, cl, sv, capture.SYN, 200, 0, "")); c != nil {
		t.Fatalf("a SYN for a new connection made a Conn, not a half-open record")
	}
	if st := tb.Stats(); st.Conns != 2 || st.HalfOpen != 1 || st.Open != 1 {
		t.Errorf("stats %+v after a SYN reusing a reset connection's 5-tuple, want 2 connections, 1 open, half-open", st)
	}
	second := feed(tb, seg(4, 2*time.Second, cl, sv, capture.SYN, 200, 0, ""))
	if second.ID == id || second.RSTs != 0 || second.Half[Client].ISN != 200 || second.SYNs != 2 {
		t.Errorf("a SYN after a reset did not start a new connection, or its retransmission another (id %d→%d, RSTs %d, SYNs %d)",
			id, second.ID, second.RSTs, second.SYNs)
	}
}

func TestExpiryAndCap(t *testing.T) {
	var ended []EndReason
	tb := NewTable(Config{IdleTimeout: time.Minute, ClosedTimeout: 10 * time.Second, MaxConns: 3})
	tb.SetHooks(endHook(func(why EndReason) { ended = append(ended, why) }))
	feed(tb, seg(1, 0, cl, sv, capture.SYN, 1, 0, ""), seg(2, 0, sv, cl, capture.RST|capture.ACK, 0, 2, "")) // closed at 0
	feed(tb, seg(3, 0, "10.0.0.1:40001", sv, capture.SYN, 1, 0, ""))                                         // open at 0
	feed(tb, seg(4, 11*time.Second, "10.0.0.1:40002", sv, capture.SYN, 1, 0, ""))                            // expires the closed one
	if len(ended) != 1 || ended[0] != EndClosed {
		t.Fatalf("after 11 s: ended %v, want the reset connection closed", ended)
	}
	feed(tb, seg(5, 12*time.Second, "10.0.0.1:40003", sv, capture.SYN, 1, 0, ""))
	feed(tb, seg(6, 13*time.Second, "10.0.0.1:40004", sv, capture.SYN, 1, 0, "")) // 4th open: evicts the LRU
	if st := tb.Stats(); st.Open != 3 || st.Evicted != 1 || st.MaxOpen != 3 {
		t.Errorf("stats %+v, want 3 open, 1 evicted, max 3", st)
	}
	feed(tb, seg(7, 2*time.Minute, "10.0.0.1:40005", sv, capture.SYN, 1, 0, ""))
	if st := tb.Stats(); st.Open != 1 {
		t.Errorf("after 2 idle minutes %d connections remain, want 1", st.Open)
	}
	tb.Flush()
	if st := tb.Stats(); st.Open != 0 {
		t.Errorf("after Flush %d connections remain", st.Open)
	}
}

func TestSeqArithmetic(t *testing.T) {
	if !SeqLess(0xfffffff0, 0x10) || SeqLess(0x10, 0xfffffff0) {
		t.Error("SeqLess does not wrap (RFC 1982)")
	}
	if d := SeqDiff(0xfffffff0, 0x10); d != 0x20 {
		t.Errorf("SeqDiff across the wrap = %d, want 32", d)
	}
}

func TestHops(t *testing.T) {
	for ttl, want := range map[uint8]int{64: 0, 57: 7, 128: 0, 116: 12, 255: 0, 250: 5, 30: 2, 0: 32} {
		if got := Hops(ttl); got != want {
			t.Errorf("Hops(%d) = %d, want %d", ttl, got, want)
		}
	}
}

// clientHello builds a TLS record holding a minimal ClientHello with an SNI
// extension (RFC 8446 §4.1.2, RFC 6066 §3).
func clientHello(sni string) string {
	u16 := func(n int) []byte { return []byte{byte(n >> 8), byte(n)} }
	name := append(append([]byte{0}, u16(len(sni))...), sni...)
	list := append(u16(len(name)), name...)
	ext := append(append([]byte{0, 0}, u16(len(list))...), list...)
	body := append([]byte{3, 3}, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0x13, 0x01, 1, 0)
	body = append(append(body, u16(len(ext))...), ext...)
	hs := append([]byte{1, 0}, append(u16(len(body)), body...)...)
	return string(append([]byte{22, 3, 1}, append(u16(len(hs)), hs...)...))
}

// endHook is Hooks that sees only connections' ends.
type endHook func(EndReason)

func (endHook) Segment(*Conn, Side, *capture.Packet) {}
func (f endHook) End(_ *Conn, why EndReason)         { f(why) }
func (endHook) Keep(*Conn) bool                      { return false }

// seenHook records what Segment saw of each connection, before the table
// recorded the packet.
type seenHook struct {
	packets []uint64 // Half[side].Packets at each Segment
	sides   []Side
	ends    []EndReason
}

func (h *seenHook) Segment(c *Conn, s Side, _ *capture.Packet) {
	h.packets = append(h.packets, c.Half[s].Packets)
	h.sides = append(h.sides, s)
}
func (h *seenHook) End(_ *Conn, why EndReason) { h.ends = append(h.ends, why) }
func (h *seenHook) Keep(*Conn) bool            { return false }

// TestHooks: Step shows each segment to the Hooks with its connection as it
// was before the segment, with the side that sent it, and every
// connection's end at Flush.
func TestHooks(t *testing.T) {
	tb := NewTable(Config{})
	h := &seenHook{}
	tb.SetHooks(h)
	feed(tb, seg(1, 0, cl, sv, capture.SYN, 1, 0, ""), seg(2, time.Millisecond, sv, cl, capture.SYN|capture.ACK, 100, 2, ""),
		seg(3, 2*time.Millisecond, cl, sv, capture.ACK, 2, 101, ""), seg(4, 3*time.Millisecond, cl, sv, capture.ACK|capture.PSH, 2, 101, "x"))
	if want := []uint64{0, 0, 1, 2}; !slices.Equal(h.packets, want) {
		t.Errorf("Segment saw the sender's packet counts %v, want %v (the state before each packet)", h.packets, want)
	}
	if want := []Side{Client, Server, Client, Client}; !slices.Equal(h.sides, want) {
		t.Errorf("Segment saw sides %v, want %v", h.sides, want)
	}
	tb.Flush()
	if len(h.ends) != 1 || h.ends[0] != EndFlush {
		t.Errorf("ends %v, want one EndFlush", h.ends)
	}
}
