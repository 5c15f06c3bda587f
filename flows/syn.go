package flows

import (
	"net/netip"

	"github.com/rstscope/rstscope/capture"
)

// synRec is a half-open connection: a SYN without payload for a new
// 5-tuple, and nothing back yet. It keeps the SYN itself (96 bytes instead
// of a 1,024-byte Conn), so that a SYN flood or a scan of dead ports costs
// little memory; the connection's next packet promotes it to a Conn by
// replaying the SYN (promote), so that every verdict comes out as if the
// Conn had been made at the SYN. The table's Hooks see the connection from
// its promotion, the SYN first.
type synRec struct {
	stubHead // bits: the endpoints (endBits), synHasIPID, synDF
	frame    uint64
	seq, ack uint32
	options  uint32
	flags    capture.Flags
	window   uint16
	ipid     uint16
	ttl      uint8
}

func (s *synRec) links() *stubLinks { return &s.stubLinks }

const (
	synHasIPID = 1 << (endBitsLen + iota)
	synDF
)

// halfOpens reports whether p, the first packet of a new connection, is
// kept as a half-open record: a SYN with no payload (and no ACK, RST or
// FIN). A SYN with data (TCP Fast Open) makes a Conn at once.
func halfOpens(p *capture.Packet) bool {
	return p.Flags&(capture.SYN|capture.ACK|capture.RST|capture.FIN) == capture.SYN && p.PayloadLen == 0
}

// newHalfOpen records SYN p as the half-open connection with key k and
// hash h, making room first if the table is full.
func (t *Table) newHalfOpen(k *Key, h uint64, p *capture.Packet) {
	t.makeRoom()
	r, s := t.syns.add()
	t.stats.Conns++
	s.id = t.stats.Conns
	s.Key = *k
	s.bits = endBits(k, p.Src, p.SrcPort, p.Dst)
	if p.HasIPID {
		s.bits |= synHasIPID
	}
	if p.DF {
		s.bits |= synDF
	}
	s.last, s.frame = NanosOf(p.Time), p.Frame
	s.seq, s.ack, s.options, s.flags, s.window = p.Seq, p.Ack, p.Options, p.Flags, p.Window
	s.ipid, s.ttl = p.IPID, p.TTL
	t.conns.put(kindSYN|handle(r), h)
	t.counted()
}

// promote turns half-open record x, with hash h, into a Conn by replaying
// its SYN (Hooks.Segment, then the table's record of it) at now, the time
// of the packet that promotes it, and returns the Conn.
func (t *Table) promote(x handle, h uint64, now Nanos) *Conn {
	s := t.syns.at(x.ref())
	p := &t.replay
	*p = capture.Packet{Frame: s.frame, Time: s.last.Time(), Flags: s.flags, Seq: s.seq, Ack: s.ack,
		Window: s.window, Options: s.options, TTL: s.ttl, IPID: s.ipid,
		HasIPID: s.bits&synHasIPID != 0, DF: s.bits&synDF != 0}
	client, server := endsOf(&s.Key, s.bits)
	p.Src, p.SrcPort, p.Dst, p.DstPort = client.Addr(), client.Port(), server.Addr(), server.Port()
	c := t.newConn(&s.Key, h, p, s.id)
	t.conns.replace(x, handle(c.ref), h)
	t.syns.drop(x.ref())
	t.list(c)
	if t.hooks != nil {
		t.hooks.Segment(c, Client, p)
	}
	t.apply(c, Client, p)
	// Listed at the promoting packet's time, which comes next, so that the
	// open list stays in order of listing.
	c.listed = now
	return c
}

// Endpoint bits of a compact record: which end of the key is the client,
// and each end's address family (Half.ipv: 4, 6 or 0), so that the
// endpoints come back exactly from the key (endsOf).
const (
	endClientHi = 1 << iota // the client is the key's Hi end
	endClient4              // the client's address is IPv4
	endClient6
	endServer4
	endServer6
	endBitsLen = iota
)

// endBits returns the endpoint bits of a connection with key k whose
// client is (client, port) and server is server.
func endBits(k *Key, client netip.Addr, port uint16, server netip.Addr) uint32 {
	var b uint32
	if !(k.LoAddr == client.As16() && k.LoPort == port) {
		b |= endClientHi
	}
	switch ipvOf(client) {
	case 4:
		b |= endClient4
	case 6:
		b |= endClient6
	}
	switch ipvOf(server) {
	case 4:
		b |= endServer4
	case 6:
		b |= endServer6
	}
	return b
}

// endsOf returns the client's and the server's endpoints from key k and
// endpoint bits b.
func endsOf(k *Key, b uint32) (client, server netip.AddrPort) {
	lo, hi := endAddr(k.LoAddr, b&endClient4 != 0, b&endClient6 != 0), endAddr(k.HiAddr, b&endServer4 != 0, b&endServer6 != 0)
	if b&endClientHi != 0 {
		lo, hi = endAddr(k.LoAddr, b&endServer4 != 0, b&endServer6 != 0), endAddr(k.HiAddr, b&endClient4 != 0, b&endClient6 != 0)
		return netip.AddrPortFrom(hi, k.HiPort), netip.AddrPortFrom(lo, k.LoPort)
	}
	return netip.AddrPortFrom(lo, k.LoPort), netip.AddrPortFrom(hi, k.HiPort)
}

func endAddr(a [16]byte, v4, v6 bool) netip.Addr {
	switch {
	case v4:
		return netip.AddrFrom4([4]byte(a[12:]))
	case v6:
		return netip.AddrFrom16(a)
	}
	return netip.Addr{}
}
