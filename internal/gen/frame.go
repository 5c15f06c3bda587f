package gen

import (
	"encoding/binary"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TCP flag bits (RFC 9293 §3.1).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

const (
	frameMax       = 14 + 40 + 60 + 1500
	numClients     = 64    // capture host addresses
	ephemeralPorts = 28232 // Linux ip_local_port_range 32768-60999
	portStride     = 7919  // prime, coprime with ephemeralPorts: a permutation
	clientTTL      = 64    // the capture host: 0 hops
)

var (
	hostMAC = [6]byte{0x02, 0x42, 0xac, 0x14, 0x00, 0x02}
	gwMAC   = [6]byte{0x00, 0x1c, 0x73, 0x5e, 0x10, 0x01}
)

// sender is who builds a packet. The first two carry the client's address.
type sender uint8

const (
	sndClient      sender = iota // the client's socket
	sndClientStack               // the client's kernel without a socket (RST to a late segment)
	sndServer                    // the server's socket
	sndServerStack               // the server's kernel without a socket (refused, stale, backlog)
	sndLB                        // load balancer or NAT between capture point and server
	sndFirewall                  // netfilter REJECT --reject-with tcp-reset
	sndInjector                  // on-path injector (censor, IPS)
)

func (s sender) fromClient() bool { return s <= sndClientStack }

// TCP option layouts.
const (
	optNone   = iota
	optSYN    // the client's (Linux) SYN: MSS, SACK_PERM, TS, NOP, WS
	optSYNACK // the server's SYN-ACK, by server profile
	optTS     // NOP, NOP, TS: on every segment when both sides use timestamps
)

// Payload filler after a step's literal bytes.
const (
	fillText   = iota // HTML-ish text
	fillRandom        // encrypted-looking bytes
)

// step is one packet of a connection's script. 32 bytes; a connection holds
// its whole script, so memory follows concurrency, not capture length.
type step struct {
	at    int64  // capture time, µs after Generate's start
	seq   uint32 // sequence number
	ack   uint32 // acknowledgment number (0 without ACK)
	bOff  uint32 // literal payload: offset in conn.text
	bLen  uint16 // literal payload length
	fLen  uint16 // filler bytes after the literal
	win   uint16 // window field
	label uint16 // packed truth label for RSTs (see packLabel)
	flags uint8
	snd   sender
	opt   uint8
	fill  uint8
}

type label struct {
	origin rstanalysis.Origin
	phase  rstanalysis.Phase
	cause  rstanalysis.Cause
}

func packLabel(o rstanalysis.Origin, p rstanalysis.Phase, c rstanalysis.Cause) uint16 {
	return uint16(o)<<10 | uint16(p)<<5 | uint16(c)
}

func unpackLabel(v uint16) label {
	return label{rstanalysis.Origin(v >> 10), rstanalysis.Phase(v >> 5 & 31), rstanalysis.Cause(v & 31)}
}

// build writes step s of connection c as an Ethernet frame into g.frame and
// returns its length.
func (g *generator) build(c *conn, s *step) int {
	f := g.frame[:]
	fromClient := s.snd.fromClient()
	if fromClient {
		copy(f[0:6], gwMAC[:])
		copy(f[6:12], hostMAC[:])
	} else {
		copy(f[0:6], hostMAC[:])
		copy(f[6:12], gwMAC[:])
	}
	ipOff := 14
	tcpOff := ipOff + 20
	if c.v6 {
		tcpOff = ipOff + 40
		f[12], f[13] = 0x86, 0xdd
	} else {
		f[12], f[13] = 0x08, 0x00
	}

	// TCP header and options.
	t := f[tcpOff:]
	sp, dp := c.cPort, c.sPort
	if !fromClient {
		sp, dp = dp, sp
	}
	binary.BigEndian.PutUint16(t[0:], sp)
	binary.BigEndian.PutUint16(t[2:], dp)
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	optLen := g.options(t[20:], c, s)
	hdrLen := 20 + optLen
	t[12] = byte(hdrLen/4) << 4
	t[13] = s.flags
	binary.BigEndian.PutUint16(t[14:], s.win)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0

	// Payload: literal bytes, then filler.
	p := t[hdrLen:]
	n := copy(p, c.text[s.bOff:s.bOff+uint32(s.bLen)])
	if s.fLen > 0 {
		pat := textPattern
		if s.fill == fillRandom {
			pat = randomPattern
		}
		off := int(s.seq+uint32(s.bLen)) & (patternLen - 1)
		n += copy(p[n:], pat[off:off+int(s.fLen)])
	}
	tcpLen := hdrLen + n

	// IP header.
	ttl, id, df := g.ipFields(c, s)
	ip := f[ipOff:]
	var sum uint64
	if c.v6 {
		src, dst := c.cAddr[:], c.sAddr[:]
		flow := c.cFlow
		if !fromClient {
			src, dst = dst, src
			flow = c.sFlow
		}
		binary.BigEndian.PutUint32(ip[0:], 6<<28|flow&0xfffff)
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = ttl
		copy(ip[8:24], src)
		copy(ip[24:40], dst)
		sum = sum16(ip[8:40], uint64(tcpLen)+6)
	} else {
		src, dst := c.cAddr[:4], c.sAddr[:4]
		if !fromClient {
			src, dst = dst, src
		}
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
		binary.BigEndian.PutUint16(ip[4:], id)
		if df {
			ip[6], ip[7] = 0x40, 0
		} else {
			ip[6], ip[7] = 0, 0
		}
		ip[8], ip[9] = ttl, 6
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], src)
		copy(ip[16:20], dst)
		binary.BigEndian.PutUint16(ip[10:], fold(sum16(ip[:20], 0)))
		sum = sum16(ip[12:20], uint64(tcpLen)+6)
	}
	binary.BigEndian.PutUint16(t[16:], fold(sum16(t[:tcpLen], sum)))

	total := tcpOff + tcpLen
	// Frames received from the wire are padded to Ethernet's 60-byte
	// minimum; the capture host's own frames are captured before padding.
	if !fromClient && total < 60 {
		clear(f[total:60])
		total = 60
	}
	return total
}

// ipFields returns the TTL (or hop limit), IPv4 ID and DF bit of step s,
// following each sender's habits, the ones the rules ttl.*, ipid.* and
// shape.socketless of rstanalysis read.
func (g *generator) ipFields(c *conn, s *step) (ttl uint8, id uint16, df bool) {
	sv := &g.srv[c.srv]
	switch s.snd {
	case sndClient:
		id = c.cID
		c.cID++
		return clientTTL, id, true
	case sndClientStack:
		// Linux ip_send_unicast_reply: no connected socket, DF, so ID 0.
		return clientTTL, 0, true
	case sndServer:
		if sv.idZero || (sv.linux() && s.flags&flagSYN != 0) {
			// Linux SYN-ACKs come from the listener: DF and ID 0.
			return sv.ttl, 0, true
		}
		id = c.sID
		c.sID++
		return sv.ttl, id, true
	case sndServerStack:
		if sv.linux() {
			return sv.ttl, 0, true
		}
		// Other stacks draw from a host-wide counter: unrelated to the
		// connection's IDs (after a restart, certainly).
		return sv.ttl, uint16(g.rng.Uint32()), true
	case sndFirewall:
		return c.mbTTL, 0, true
	case sndLB:
		return c.mbTTL, uint16(g.rng.Uint32()), false
	default: // sndInjector: TTL and ID vary per forged packet
		ttl = c.mbTTL - uint8(g.rng.IntN(3))
		if ttl == sv.ttl {
			ttl--
		}
		return ttl, uint16(g.rng.Uint32()), false
	}
}

// options writes step s's TCP options into b and returns their length (a
// multiple of 4).
func (g *generator) options(b []byte, c *conn, s *step) int {
	switch s.opt {
	case optSYN:
		mss := uint16(1460)
		if c.v6 {
			mss = 1440
		}
		b[0], b[1] = 2, 4
		binary.BigEndian.PutUint16(b[2:], mss)
		b[4], b[5] = 4, 2
		b[6], b[7] = 8, 10
		binary.BigEndian.PutUint32(b[8:], c.tsVal(s, true))
		binary.BigEndian.PutUint32(b[12:], 0)
		b[16], b[17], b[18], b[19] = 1, 3, 3, 7
		return 20
	case optSYNACK:
		sv := &g.srv[c.srv]
		mss := sv.mss
		if c.v6 {
			mss -= 20
		}
		b[0], b[1] = 2, 4
		binary.BigEndian.PutUint16(b[2:], mss)
		switch {
		case sv.ts: // Linux: MSS, SACK_PERM, TS, NOP, WS
			b[4], b[5] = 4, 2
			b[6], b[7] = 8, 10
			binary.BigEndian.PutUint32(b[8:], c.tsVal(s, false))
			binary.BigEndian.PutUint32(b[12:], c.tsEcr(s, false))
			b[16], b[17], b[18], b[19] = 1, 3, 3, sv.wscale
			return 20
		case sv.wscale > 0: // Windows: MSS, NOP, WS, NOP, NOP, SACK_PERM
			b[4], b[5], b[6], b[7] = 1, 3, 3, sv.wscale
			b[8], b[9], b[10], b[11] = 1, 1, 4, 2
			return 12
		default: // MSS, NOP, NOP, SACK_PERM
			b[4], b[5], b[6], b[7] = 1, 1, 4, 2
			return 8
		}
	case optTS:
		b[0], b[1], b[2], b[3] = 1, 1, 8, 10
		fc := s.snd.fromClient()
		binary.BigEndian.PutUint32(b[4:], c.tsVal(s, fc))
		binary.BigEndian.PutUint32(b[8:], c.tsEcr(s, fc))
		return 12
	}
	return 0
}

// sum16 adds b to acc as big-endian 16-bit words (RFC 1071), without folding.
func sum16(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold folds a sum16 accumulator into the 16-bit one's complement checksum.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}
