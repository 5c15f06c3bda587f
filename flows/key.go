package flows

import (
	"encoding/binary"
	"net/netip"

	"github.com/rstscope/rstscope/capture"
)

// Key is a connection's 5-tuple (the protocol is always TCP) in canonical
// order, so both directions of a connection map to the same Key.
type Key struct {
	LoAddr, HiAddr [16]byte
	LoPort, HiPort uint16
}

// KeyOf returns p's canonical key.
func KeyOf(p *capture.Packet) Key {
	var k Key
	k.From(p)
	return k
}

// From sets k to p's canonical key (KeyOf) in place. It works on the
// addresses' 8-byte halves, so that the processor never reads 16 bytes
// that it has just written in smaller pieces (a store it cannot forward,
// which waits for the store to complete): KeyOf's earlier form did that
// twice a packet, through netip.Addr.As16 and its own copies. An IPv4
// address's 16-byte form is ::ffff:a.b.c.d, built from As4, whose array
// is no such copy.
func (k *Key) From(p *capture.Packet) {
	var sh, sl, dh, dl uint64
	if p.Src.Is4() && p.Dst.Is4() {
		s, d := p.Src.As4(), p.Dst.As4()
		sl = 0xffff<<32 | uint64(binary.BigEndian.Uint32(s[:]))
		dl = 0xffff<<32 | uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		sh, sl = addrWords(p.Src)
		dh, dl = addrWords(p.Dst)
	}
	sp, dp := p.SrcPort, p.DstPort
	if !(sh < dh || sh == dh && (sl < dl || sl == dl && sp <= dp)) {
		sh, sl, sp, dh, dl, dp = dh, dl, dp, sh, sl, sp
	}
	be := binary.BigEndian
	be.PutUint64(k.LoAddr[:8], sh)
	be.PutUint64(k.LoAddr[8:], sl)
	be.PutUint64(k.HiAddr[:8], dh)
	be.PutUint64(k.HiAddr[8:], dl)
	k.LoPort, k.HiPort = sp, dp
}

// addrWords returns the 16 bytes of a.As16() as two big-endian words.
func addrWords(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}
