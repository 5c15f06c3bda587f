package flows

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// Dir is the direction of a segment within its connection.
type Dir uint8

const (
	// FromClient is a segment sent by the client (the SYN sender).
	FromClient Dir = 0
	// FromServer is a segment sent by the server.
	FromServer Dir = 1
)

// Peer returns the opposite direction.
func (d Dir) Peer() Dir { return 1 - d }

func (d Dir) String() string {
	if d == FromServer {
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

// Nanos is a capture timestamp in Unix nanoseconds: 8 bytes and no
// pointer for the garbage collector, where a time.Time takes 24 and holds
// one. Zero means "never" (a packet stamped exactly 1970-01-01T00:00:00Z
// reads as never too).
type Nanos int64

// NanosOf converts a timestamp.
func NanosOf(t time.Time) Nanos { return Nanos(t.UnixNano()) }

// Time converts back, in UTC.
func (n Nanos) Time() time.Time { return time.Unix(0, int64(n)).UTC() }

// IsZero reports whether n is unset.
func (n Nanos) IsZero() bool { return n == 0 }

// After reports whether n is later than o.
func (n Nanos) After(o Nanos) bool { return n > o }

// Before reports whether n is earlier than o.
func (n Nanos) Before(o Nanos) bool { return n < o }

// Sub returns n − o.
func (n Nanos) Sub(o Nanos) time.Duration { return time.Duration(n - o) }

// Seen is what a connection remembers of one recent segment (32 bytes).
type Seen struct {
	Frame uint64
	At    Nanos  // capture time
	Seq   uint32 // SEG.SEQ
	End   uint32 // SEG.SEQ + SEG.LEN
	Ack   uint32 // SEG.ACK (valid when Flags has ACK)
	Flags capture.Flags
}

// Half is one endpoint's side of a connection: what it sent, as seen at the
// vantage point. RSTs update the counters but not the TTL and IP ID
// history, which describe the endpoint's ordinary packets only.
//
// The fields every packet writes come first and the rest after the ring of
// recent segments, so that a packet touches few cache lines.
//
// Like Conn, a Half holds no pointer (see Conn).
type Half struct {
	// The endpoint's address and port (Addr): the IP address in its
	// 16-byte form (IPv4 as IPv4-mapped IPv6) and its family, since a
	// netip.Addr holds a pointer.
	ip   [16]byte
	port uint16
	ipv  uint8 // 4 for IPv4, 6 for IPv6, 0 for the zero (invalid) address

	Packets      uint64 // segments sent, RSTs included
	PayloadBytes uint64 // payload bytes sent, retransmissions included

	LastTime     Nanos
	LastOrdinary Nanos // latest non-RST packet

	// TTL history of the endpoint's non-RST packets (IPv4 TTL or IPv6 hop
	// limit): the latest, how many, and up to four distinct values.
	TTLLast  uint8
	TTLCount uint32
	ttls     [4]uint8
	ttlN     uint8

	// IPv4 ID history of the endpoint's non-RST packets.
	IPIDLast    uint16
	IPIDCount   uint32 // packets with an IP ID (IPv4)
	IPIDZero    uint32 // of which with IP ID 0
	IPIDMaxStep uint16 // largest step, either way, between consecutive packets
	DFCount     uint32

	// Sequence state (RFC 9293 §3.3.1 names).
	SndNxt  uint32 // highest SEG.SEQ+SEG.LEN sent, the sender's SND.NXT as seen
	HasSeq  bool   // SndNxt is valid
	LastAck uint32 // latest SEG.ACK sent
	HasAck  bool
	Window  uint16 // latest window advertised

	ringN uint8 // total pushed, mod 256 (index = ringN % seenRing)
	ringC uint8 // entries valid, up to seenRing
	ring  [seenRing]Seen

	FirstTime Nanos

	ISN    uint32 // initial sequence number (valid when SawSYN)
	SawSYN bool
	SawFIN bool
	FINSeq uint32 // sequence number of the FIN
	RSTs   int    // RSTs sent
	// The latest RST sent: its seq, ack, flags and time.
	LastRSTSeq, LastRSTAck uint32
	LastRSTFlags           capture.Flags
	LastRSTTime            Nanos

	FINTime         Nanos
	LastPayloadTime Nanos

	// The start of the stream, in sequence order, is kept in Conn.buf
	// (Conn.Head): headN bytes of the direction's window, ClientHeadCap or
	// ServerHeadCap long.
	headN    uint16
	headBase uint32 // sequence number of the head's first byte
	headSet  bool
	headGap  bool // a segment beyond the reassembled head arrived first

	// TLS alert seen in clear (record type 21, length 2): level and description.
	Alert    [2]byte
	HasAlert bool
	// EncryptedAlert: a type-21 record longer than 2 bytes (after the handshake).
	EncryptedAlert bool
}

// Addr returns the endpoint's address and port. An IPv4 address is a
// 4-byte one (Is4), as the capture decodes it; an IPv6 address carries no
// zone (captured packets have none).
func (h *Half) Addr() netip.AddrPort {
	var a netip.Addr
	switch h.ipv {
	case 4:
		a = netip.AddrFrom4([4]byte(h.ip[12:]))
	case 6:
		a = netip.AddrFrom16(h.ip)
	}
	return netip.AddrPortFrom(a, h.port)
}

func (h *Half) setAddr(ap netip.AddrPort) {
	a := ap.Addr()
	h.ip, h.port, h.ipv = a.As16(), ap.Port(), ipvOf(a)
}

// is reports whether a and port are the endpoint's address and port, as
// Addr() == netip.AddrPortFrom(a, port) would for a zone-less a, without
// building the netip.Addr.
func (h *Half) is(a netip.Addr, port uint16) bool {
	return port == h.port && a.As16() == h.ip && ipvOf(a) == h.ipv
}

// ipvOf returns a's family for Half.ipv.
func ipvOf(a netip.Addr) uint8 {
	switch {
	case a.Is4():
		return 4
	case a.Is6():
		return 6
	}
	return 0
}

// Recent calls f for the remembered recent segments, newest first, until f
// returns false.
func (h *Half) Recent(f func(*Seen) bool) {
	for i := 0; i < int(h.ringC); i++ {
		idx := (int(h.ringN) - 1 - i + 2*seenRing*128) % seenRing
		if !f(&h.ring[idx]) {
			return
		}
	}
}

// TTLs returns the distinct TTLs of the endpoint's ordinary packets (up to four).
func (h *Half) TTLs() []uint8 { return h.ttls[:h.ttlN] }

func (h *Half) addTTL(ttl uint8) {
	for _, t := range h.ttls[:h.ttlN] {
		if t == ttl {
			return
		}
	}
	if int(h.ttlN) < len(h.ttls) {
		h.ttls[h.ttlN] = ttl
		h.ttlN++
	}
}

// Hops is the endpoint's distance from the vantage point in hops, from its
// latest TTL against the nearest initial TTL above it (32, 64, 128, 255);
// -1 when no ordinary packet was seen.
func (h *Half) Hops() int {
	if h.TTLCount == 0 {
		return -1
	}
	return Hops(h.TTLLast)
}

// InitialTTL returns the smallest common initial TTL (32, 64, 128, 255) not
// below ttl: the value the sender most likely started from.
func InitialTTL(ttl uint8) uint8 {
	switch {
	case ttl <= 32:
		return 32
	case ttl <= 64:
		return 64
	case ttl <= 128:
		return 128
	}
	return 255
}

// Hops is the number of routers a packet that arrived with ttl crossed,
// assuming it started from InitialTTL(ttl).
func Hops(ttl uint8) int { return int(InitialTTL(ttl)) - int(ttl) }

// Conn is one TCP connection: one incarnation of a 5-tuple, from its SYN (or
// the first packet seen) to its expiry. The fields every packet reads or
// writes come first.
//
// A Conn holds no pointer (no pointer, slice, string, map, interface or
// netip.Addr), so that the table's slabs of connections, most of its
// memory, are memory the garbage collector does not scan.
type Conn struct {
	Key  Key
	ref  uint32 // the Conn value's place in its table (Table.at), from 1
	hash uint64 // Key's hash in the table's index

	LastTime Nanos
	// GapBefore is the silence that preceded the latest packet.
	GapBefore time.Duration

	// Turns counts payload turns: how many times the direction of payload
	// changed, starting at 1 with the first payload.
	Turns      int
	LastPayDir Dir
	fins       uint8 // bit d: direction d sent a FIN
	inClosed   bool

	// RSTs counts RST segments in either direction. FirstRST is the frame
	// of the first RST of the current reset event: the connection's first,
	// or the first since both sides went on exchanging packets after an
	// earlier RST (which therefore did not end the connection).
	RSTs         int
	FirstRST     uint64
	FirstRSTTime Nanos
	FirstRSTDir  Dir
	LastRST      uint64
	LastRSTTime  Nanos

	// Pending is for the analysis stage: the number of its undecided
	// verdicts that refer to this connection.
	Pending int

	// LRU links, most recent first: the refs of the neighbours in the
	// connection's list, 0 for none.
	prev, next uint32
	listed     Nanos // LastTime when the connection was put at its list's front
	gen        uint64

	// Half[FromClient] is the client's side, Half[FromServer] the server's.
	Half [2]Half

	// ID numbers connections in the order the table first saw them, from 1.
	ID uint64

	// Midstream is true when the capture holds neither the SYN nor the
	// SYN-ACK: the sides were guessed from the ports.
	Midstream bool
	// SYNMissed is true when the SYN-ACK was seen but not the SYN.
	SYNMissed bool

	SYNTime    Nanos // latest SYN (retransmission included)
	SYNs       int   // SYNs sent, retransmissions included
	SYNACKTime Nanos // first SYN-ACK
	ACKTime    Nanos // client's first ACK of the SYN-ACK (handshake complete)
	FirstTime  Nanos

	buf   [ClientHeadCap + ServerHeadCap]byte // the two directions' heads (Head)
	turn  [TurnCap]byte                       // the client's latest turn
	turnN uint8
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
func (c *Conn) LegRTT(d Dir) time.Duration {
	if d == FromServer {
		return c.ServerRTT()
	}
	return c.ClientRTT()
}

// Head returns the reassembled first bytes of direction d's stream, in
// sequence order: up to ClientHeadCap bytes for the client, ServerHeadCap
// for the server (a view, valid until the connection is next updated).
func (c *Conn) Head(d Dir) []byte { return c.headBuf(d)[:c.Half[d].headN] }

// headBuf is direction d's window of buf, ClientHeadCap or ServerHeadCap long.
func (c *Conn) headBuf(d Dir) []byte {
	if d == FromServer {
		return c.buf[ClientHeadCap:]
	}
	return c.buf[:ClientHeadCap:ClientHeadCap]
}

// ClientTurn returns the first bytes of the client's latest payload turn.
func (c *Conn) ClientTurn() []byte { return c.turn[:c.turnN] }

// Client returns the client's endpoint.
func (c *Conn) Client() netip.AddrPort { return c.Half[FromClient].Addr() }

// Server returns the server's endpoint.
func (c *Conn) Server() netip.AddrPort { return c.Half[FromServer].Addr() }

// Gen is the table's generation number of this Conn value: it changes when
// the value is reused for another connection, so a holder of a *Conn can
// tell that its connection has gone.
func (c *Conn) Gen() uint64 { return c.gen }
