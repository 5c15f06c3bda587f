package capture

import (
	"net/netip"
	"time"
)

// Flags is the TCP flag field as a bitset: the nine flag bits of RFC 9293 §3.1
// (with NS from RFC 3540) in their wire positions, plus the three reserved bits
// (0x0e00) that a crafted packet may set.
type Flags uint16

// TCP flag bits, in their wire positions of the 12-bit field after the data offset.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
	Reserved1 // 0x200: reserved in RFC 9293 §3.1; set only by crafted packets
	Reserved2
	Reserved3

	// ReservedMask covers the three reserved bits.
	ReservedMask = Reserved1 | Reserved2 | Reserved3
)

// Has reports whether every bit of want is set.
func (f Flags) Has(want Flags) bool { return f&want == want }

// String renders the flags the way tcpdump does ("S", "S.", "R.", "FP.").
func (f Flags) String() string {
	var b [12]byte
	n := 0
	for _, c := range [...]struct {
		bit Flags
		ch  byte
	}{{FIN, 'F'}, {SYN, 'S'}, {RST, 'R'}, {PSH, 'P'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {NS, 'N'}, {ReservedMask, 'r'}, {ACK, '.'}} {
		if f&c.bit != 0 {
			b[n] = c.ch
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

// HeadLen is how many payload bytes a Packet carries in Head: enough for an
// HTTP/1.x request line and Host header or the start of a TLS record.
const HeadLen = 256

// Packet is one decoded TCP segment. It is owned by the caller and reused:
// a Source fills it in place without allocating. Every field is a copy, so a
// Packet stays valid after the Source reads the next frame.
type Packet struct {
	// Frame is the 1-based number of the frame in its source, counting every
	// frame (TCP or not) as Wireshark numbers them.
	Frame uint64
	// Time is the capture timestamp.
	Time time.Time
	// Iface is the pcapng interface index (0 for classic pcap and live).
	Iface int

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// SrcMAC is the frame's link-layer source address (IEEE 802 MAC-48):
	// the next hop the packet came through, or the capturing host for one
	// it sent. It is Ethernet's, or Linux cooked capture's when that
	// address is 6 bytes long; all zero for a link with none (raw IP,
	// loopback, PPP) and for a tunnelled segment, whose outer frame's
	// address is the tunnel's.
	SrcMAC [6]byte

	// TTL is the IPv4 TTL or the IPv6 hop limit.
	TTL uint8
	// IPID is the IPv4 identification field; zero and HasIPID false for IPv6.
	IPID    uint16
	HasIPID bool
	// DF is the IPv4 don't-fragment bit.
	DF bool
	// Encap is the tunnel the segment came through (the outermost, when
	// nested), EncapNone for most; the fields above and below are the
	// innermost headers'. OuterTTL is then the outermost IP header's TTL
	// or hop limit (that of the tunnel's last hop to the capture point),
	// and 0 without a tunnel.
	Encap    Encap
	OuterTTL uint8

	Flags  Flags
	Seq    uint32
	Ack    uint32
	Window uint16
	// Options is a bitset of the TCP option kinds present (bit k for kind k < 32).
	Options uint32

	// PayloadLen is the TCP payload length in bytes from the IP length fields,
	// whatever the snap length kept.
	PayloadLen int
	// HeadN is how many of the payload's first bytes were captured into Head.
	HeadN int
	// Head holds the first min(PayloadLen, captured, HeadLen) payload bytes.
	Head [HeadLen]byte

	// OuterSrc and OuterDst are the outermost IP header's addresses when
	// the segment came through a tunnel (Encap): the tunnel's endpoints,
	// as the capture point saw them. Both are the zero Addr without a
	// tunnel. They come last, away from the fields every segment uses.
	OuterSrc, OuterDst netip.Addr
}

// Payload returns the captured first bytes of the payload (a view of p.Head).
func (p *Packet) Payload() []byte { return p.Head[:p.HeadN] }

// SrcAddrPort returns the source endpoint.
func (p *Packet) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Src, p.SrcPort) }

// DstAddrPort returns the destination endpoint.
func (p *Packet) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Dst, p.DstPort) }

// SeqLen is the sequence space the segment occupies: payload bytes plus one
// for SYN and one for FIN (RFC 9293 §3.4, SEG.LEN).
func (p *Packet) SeqLen() uint32 {
	n := uint32(p.PayloadLen)
	if p.Flags&SYN != 0 {
		n++
	}
	if p.Flags&FIN != 0 {
		n++
	}
	return n
}
