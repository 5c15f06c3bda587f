package flows

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/rstscope/rstscope/capture"
)

// keyOfAs16 is the canonical key as the 16-byte forms of the endpoints
// define it: the lower (address, port) pair first.
func keyOfAs16(p *capture.Packet) Key {
	s, d := p.Src.As16(), p.Dst.As16()
	if c := bytes.Compare(s[:], d[:]); c < 0 || c == 0 && p.SrcPort <= p.DstPort {
		return Key{LoAddr: s, HiAddr: d, LoPort: p.SrcPort, HiPort: p.DstPort}
	}
	return Key{LoAddr: d, HiAddr: s, LoPort: p.DstPort, HiPort: p.SrcPort}
}

// TestKeyOfMatchesAs16 checks KeyOf (and Key.From) against the key built
// from netip.Addr.As16 and a byte comparison, on IPv4, IPv6, IPv4-mapped
// IPv6, zero and mixed addresses, with equal addresses and equal ports.
func TestKeyOfMatchesAs16(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(3)) // few values: ties in every word
		}
		switch rng.IntN(5) {
		case 0:
			return netip.AddrFrom4([4]byte(b[:4]))
		case 1:
			return netip.AddrFrom16(b)
		case 2:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16()) // ::ffff:a.b.c.d
		case 3:
			return netip.Addr{}
		}
		return netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), 0, 1})
	}
	for i := range 200_000 {
		p := capture.Packet{Src: addr(), Dst: addr(), SrcPort: uint16(rng.IntN(3)), DstPort: uint16(rng.IntN(3))}
		if i%2 == 0 {
			p.Dst = p.Src
		}
		want := keyOfAs16(&p)
		var k Key
		k.From(&p)
		if got := KeyOf(&p); got != want || k != want {
			t.Fatalf("%v:%d > %v:%d: KeyOf %v, From %v, want %v", p.Src, p.SrcPort, p.Dst, p.DstPort, got, k, want)
		}
	}
}
