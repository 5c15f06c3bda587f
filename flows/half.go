package flows

import (
	"net/netip"

	"github.com/rstscope/rstscope/capture"
)

// Seen is what a connection remembers of one recent segment (32 bytes).
type Seen struct {
	Frame uint64
	At    Nanos  // capture time
	Seq   uint32 // SEG.SEQ
	End   uint32 // SEG.SEQ + SEG.LEN
	Ack   uint32 // SEG.ACK (valid when Flags has ACK)
	Flags capture.Flags
	TTL   uint8 // IPv4 TTL or IPv6 hop limit
}

// Half is one endpoint's side of a connection: what it sent, as seen at the
// vantage point. RSTs update the counters but not the TTL and IP ID
// history, which describe the endpoint's ordinary packets only.
//
// The fields every packet writes come first, then those a payload segment
// writes, and the rest after the ring of recent segments, so that a packet
// touches few cache lines (see Conn).
//
// Like Conn, a Half holds no pointer (see Conn).
type Half struct {
	// What every ordinary packet writes, first, with what a payload
	// segment writes right after: within two cache lines of the Conn.
	Packets      uint64 // segments sent, RSTs included
	PayloadBytes uint64 // payload bytes sent, retransmissions included

	LastTime     Nanos
	LastOrdinary Nanos // latest non-RST packet

	// The TTL (IPv4 TTL or IPv6 hop limit) and IPv4 ID history of the
	// endpoint's non-RST packets: how many, the latest, up to four distinct
	// TTLs, the largest ID step either way between consecutive packets.
	TTLCount    uint32
	IPIDCount   uint32 // packets with an IP ID (IPv4)
	IPIDZero    uint32 // of which with IP ID 0
	DFCount     uint32
	IPIDLast    uint16
	IPIDMaxStep uint16

	// Sequence state (RFC 9293 §3.3.1 names).
	SndNxt  uint32 // highest SEG.SEQ+SEG.LEN sent, the sender's SND.NXT as seen
	LastAck uint32 // latest SEG.ACK sent
	Window  uint16 // latest window advertised
	HasSeq  bool   // SndNxt is valid
	HasAck  bool

	TTLLast uint8
	ttls    [4]uint8
	ttlN    uint8

	ringN uint8 // total pushed, mod 256 (index = ringN % seenRing)
	ringC uint8 // entries valid, up to seenRing

	LastPayloadTime Nanos

	// The start of the stream, in sequence order, is kept in the table's
	// head store (Conn.Head): headN bytes, up to ClientHeadCap or
	// ServerHeadCap.
	headBase uint32 // sequence number of the head's first byte
	headN    uint16
	headSet  bool
	headGap  bool // a segment beyond the reassembled head arrived first
	headDone bool // the head says what it can (headDigest): it takes no more

	// TLS alert seen in clear (record type 21, length 2): level and description.
	HasAlert bool
	Alert    [2]byte
	// EncryptedAlert: a type-21 record longer than 2 bytes (after the handshake).
	EncryptedAlert bool

	ipv  uint8 // 4 for IPv4, 6 for IPv6, 0 for the zero (invalid) address
	port uint16
	// The ring starts 96 bytes in, so that in Half[Client] (at byte 288 of
	// the Conn) no entry straddles two cache lines.
	ring [seenRing]Seen

	// The endpoint's address and port (Addr): the IP address in its
	// 16-byte form (IPv4 as IPv4-mapped IPv6), its port and its family
	// (ipv, above), since a netip.Addr holds a pointer.
	ip [16]byte

	FirstTime Nanos
	RSTs      int // RSTs sent
	// The latest RST sent: its seq, ack, flags and time.
	LastRSTTime            Nanos
	LastRSTSeq, LastRSTAck uint32
	LastRSTFlags           capture.Flags

	SawSYN bool
	SawFIN bool
	ISN    uint32 // initial sequence number (valid when SawSYN)
	FINSeq uint32 // sequence number of the FIN

	FINTime Nanos
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
