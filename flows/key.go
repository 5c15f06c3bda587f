package flows

import (
	"encoding/binary"

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
	s, d := p.Src.As16(), p.Dst.As16()
	if less(s, p.SrcPort, d, p.DstPort) {
		return Key{LoAddr: s, HiAddr: d, LoPort: p.SrcPort, HiPort: p.DstPort}
	}
	return Key{LoAddr: d, HiAddr: s, LoPort: p.DstPort, HiPort: p.SrcPort}
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	if a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); a0 != b0 {
		return a0 < b0
	}
	if a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); a1 != b1 {
		return a1 < b1
	}
	return ap <= bp
}
