package flows

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// Side names one end of a connection, and the direction of the segments
// it sends. The client is the end that sent the SYN (RFC 9293's active
// opener, the originator); the server is the responder. Without a SYN in
// the capture the sides are guessed (ServerByPort) and Conn.Midstream says so.
type Side uint8

const (
	// Client is the end that sent the SYN; as a direction, its segments.
	Client Side = 0
	// Server is the end that answered with the SYN-ACK; as a direction, its segments.
	Server Side = 1
)

// Peer returns the other side.
func (s Side) Peer() Side { return 1 - s }

// String returns "client" or "server".
func (s Side) String() string {
	if s == Server {
		return "server"
	}
	return "client"
}

// ClientHeadCap and ServerHeadCap are how many bytes of each direction's
// stream a connection keeps, reassembled in sequence order from the first
// payload byte: for the client an HTTP/1.x request line with its Host
// header or a TLS ClientHello up to its SNI in the common extension orders,
// for the server a status line or the first TLS record header and alert.
const (
	ClientHeadCap = 384
	ServerHeadCap = 128
)

// TurnCap is how many bytes of the client's latest payload turn (its first
// segment after the server last sent payload) a connection keeps, so that
// the request of a keep-alive connection's last exchange can be named.
const TurnCap = 96

// seenRing is how many recent segments per direction a connection
// remembers, to find the segment a RST answers: it is nearly always among
// the last few, and when it is not, the timing rule stays silent.
const seenRing = 6

// Conn is one TCP connection: one incarnation of a 5-tuple, from its SYN (or
// the first packet seen) to its expiry.
//
// The layout keeps an ordinary packet (an ACK or a data segment) to five
// of the Conn's sixteen 64-byte cache lines, the ones Table.Touch fetches
// ahead: the first line (the key, what sideOf and the index read, LastTime),
// the second (GapBefore, RSTs, Turns, ACKTime and the per-packet part of Hist), and
// two lines of the sender's Half (its counters, sequence state and, for a
// payload segment, its head's state), plus the entry of the sender's ring
// of recent segments that the packet writes. The Halves start where both
// their first two lines are a 128-byte aligned pair; the Conn is 1,024
// bytes so that every Conn of a slab starts on such a boundary.
//
// A Conn holds no pointer (no pointer, slice, string, map, interface or
// netip.Addr), so that the table's slabs of connections, most of its
// memory, are memory the garbage collector does not scan.
type Conn struct {
	Key Key
	// The client's port and address family (Half.port, Half.ipv), beside
	// the key: every packet's side (sideOf) is told from them.
	cPort       uint16
	cIPv        uint8
	fins        uint8  // bit d: direction d sent a FIN
	ref         uint32 // the Conn value's place in its table (Table.at), from 1
	inClosed    bool
	LastPaySide Side
	// FirstRSTSide sent FirstRST (below).
	FirstRSTSide Side
	// ackIdle: no SYN-ACK was seen as of the client's latest ACK, so its
	// next need not be matched against the server's ISN (recordSeq); a
	// SYN-ACK clears it. It spares the ACKs of a connection seen midstream
	// the line of SYNACKTime.
	ackIdle bool
	hash    uint64 // Key's hash in the table's index

	LastTime Nanos
	// GapBefore is the silence that preceded the latest packet.
	GapBefore time.Duration

	// RSTs counts RST segments in either direction. FirstRST is the frame
	// of the first RST of the current reset event: the connection's first,
	// or the first since both sides went on exchanging packets after an
	// earlier RST (which therefore did not end the connection).
	RSTs int

	// Turns counts payload turns: how many times the direction of payload
	// changed, starting at 1 with the first payload.
	Turns int

	// ACKTime is the client's first ACK of the SYN-ACK (handshake
	// complete); every ACK of the client's reads it until it is set.
	ACKTime Nanos

	// Hist is the connection's history in Zeek's letters and its
	// endpoints' states, for ConnState (history.go).
	Hist History

	FirstRST     uint64
	FirstRSTTime Nanos
	LastRST      uint64
	LastRSTTime  Nanos

	// LRU links, most recent first: the refs of the neighbours in the
	// connection's list, 0 for none.
	prev, next uint32
	listed     Nanos // LastTime when the connection was put at its list's front
	gen        uint64

	// ID numbers connections in the order the table first saw them, from 1.
	ID uint64

	SYNTime    Nanos // latest SYN (retransmission included)
	SYNs       int   // SYNs sent, retransmissions included
	SYNACKTime Nanos // first SYN-ACK
	FirstTime  Nanos

	// The two directions' heads (Head) and the client's latest turn
	// (ClientTurn): blocks in the table's head store, whose tag is store.
	hb    [2]blk
	turnB blk
	store uint32
	turnN uint8

	// Midstream is true when the capture holds neither the SYN nor the
	// SYN-ACK: the sides were guessed from the ports.
	Midstream bool
	// SYNMissed is true when the SYN-ACK was seen but not the SYN.
	SYNMissed bool

	_ [13]byte // Half[0] at byte 288: see above

	// Half[Client] is the client's side, Half[Server] the server's.
	Half [2]Half

	_ [16]byte // to 1,024 bytes
}

// ResetStanding reports whether the connection has been reset and has not
// gone on since: at least one side has sent nothing but RSTs after the
// latest RST. A RST that both sides ignored (a forged one, say) does not
// leave the connection reset.
func (c *Conn) ResetStanding() bool {
	if c.RSTs == 0 {
		return false
	}
	return !(c.Half[0].LastOrdinary.After(c.LastRSTTime) && c.Half[1].LastOrdinary.After(c.LastRSTTime))
}

// Established reports whether the three-way handshake completed in the capture.
func (c *Conn) Established() bool { return !c.ACKTime.IsZero() }

// ServerRTT is the round-trip time from the vantage point to the server and
// back, SYN to SYN-ACK (RFC 9293 §3.5 three-way handshake); zero if unknown.
// At a capture on the client host it is the whole handshake RTT.
func (c *Conn) ServerRTT() time.Duration {
	if c.SYNTime.IsZero() || c.SYNACKTime.IsZero() || c.SYNACKTime.Before(c.SYNTime) {
		return 0
	}
	return c.SYNACKTime.Sub(c.SYNTime)
}

// ClientRTT is the round-trip time from the vantage point to the client and
// back, SYN-ACK to the client's ACK; zero if unknown. At a capture on the
// server host it is the whole handshake RTT.
func (c *Conn) ClientRTT() time.Duration {
	if c.SYNACKTime.IsZero() || c.ACKTime.IsZero() || c.ACKTime.Before(c.SYNACKTime) {
		return 0
	}
	return c.ACKTime.Sub(c.SYNACKTime)
}

// RTT is the whole handshake RTT (iRTT) between client and server: the sum of
// ServerRTT and ClientRTT; zero when either is unknown.
func (c *Conn) RTT() time.Duration {
	s, cl := c.ServerRTT(), c.ClientRTT()
	if c.SYNTime.IsZero() || c.ACKTime.IsZero() {
		return 0
	}
	return s + cl
}

// LegRTT returns the round-trip time from the vantage point to the endpoint
// that sends in direction d: ServerRTT for the server, ClientRTT for the client.
func (c *Conn) LegRTT(d Side) time.Duration {
	if d == Server {
		return c.ServerRTT()
	}
	return c.ClientRTT()
}

// Head returns the reassembled first bytes of direction d's stream, in
// sequence order: up to ClientHeadCap bytes for the client, ServerHeadCap
// for the server. Once they say what the stream is (a request with its
// Host header, a ClientHello with its SNI, a status line), only the bytes
// AppOf reads of them are kept and the head takes no more. It is a view,
// valid until the connection is next updated.
func (c *Conn) Head(d Side) []byte {
	if b := c.block(c.hb[d]); b != nil {
		return b[:c.Half[d].headN]
	}
	return nil
}

// headCap is direction d's head's cap.
func headCap(d Side) int {
	if d == Server {
		return ServerHeadCap
	}
	return ClientHeadCap
}

// ClientTurn returns the first bytes of the client's latest payload turn
// when they are an HTTP/1.x request, up to its Host header (what AppOf
// reads of them); else nothing, and nothing for the connection's first
// turn (Turns 1: its bytes are the client's Head).
func (c *Conn) ClientTurn() []byte {
	if b := c.block(c.turnB); b != nil {
		return b[:c.turnN]
	}
	return nil
}

// setEnds sets the client's and the server's endpoints.
func (c *Conn) setEnds(client, server netip.AddrPort) {
	c.Half[Client].setAddr(client)
	c.Half[Server].setAddr(server)
	c.cPort, c.cIPv = c.Half[Client].port, c.Half[Client].ipv
}

// Client returns the client's endpoint.
func (c *Conn) Client() netip.AddrPort { return c.Half[Client].Addr() }

// Server returns the server's endpoint.
func (c *Conn) Server() netip.AddrPort { return c.Half[Server].Addr() }

// Gen is the table's generation number of this Conn value: it changes when
// the value is reused for another connection, so a holder of a *Conn can
// tell that its connection has gone.
func (c *Conn) Gen() uint64 { return c.gen }

// Closed reports whether c is reset or closed by both sides.
func (c *Conn) Closed() bool {
	return c.fins == 3 || c.ResetStanding()
}

// sideOf returns the direction of p, a packet with c's key. The source port
// decides when the two ports differ: a packet with the connection's key
// carries the client's port as its source port only if it comes from the
// client. Equal ports, or an address family other than the client's (an
// IPv4 address and its IPv4-mapped IPv6 form share a key), need the full
// comparison of the source endpoint.
func (c *Conn) sideOf(p *capture.Packet) Side {
	var fromClient bool
	if p.SrcPort != p.DstPort && ipvOf(p.Src) == c.cIPv {
		fromClient = p.SrcPort == c.cPort
	} else {
		fromClient = c.Half[Client].is(p.Src, p.SrcPort)
	}
	if fromClient {
		return Client
	}
	return Server
}

// Ref is the Conn value's slot in its table, from 1: stable while the
// connection lives, and reused for another connection once it has ended
// (Gen tells them apart). A table's user can index its own per-connection
// state by Ref instead of storing it in the Conn.
func (c *Conn) Ref() uint32 { return c.ref }
