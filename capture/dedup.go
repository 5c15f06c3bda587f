package capture

import (
	"encoding/binary"
	"hash/maphash"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Duplicate frames. `tcpdump -i any` records a packet once per interface it
// crosses: a router's forwarded packet comes in on one interface and goes
// out on another, a container's crosses its veth and the bridge; a pcapng
// file merged from several interfaces (Wireshark capturing on two) holds
// the same copies. Counting both would report every RST twice, so in a
// capture of several interfaces a TCP segment is skipped as a duplicate
// when one read just before is the same IP packet:
//
//   - the same addresses, ports, IP ID (IPv4), seq, ack, flags, window,
//     option kinds and payload length (not the TTL: a forwarding hop
//     lowers it between the two copies);
//   - within dupWindow of capture time (either order: pcapng interfaces
//     are not always merged in time order);
//   - and, since a retransmission can match all of the above, recorded
//     on another link: another pcapng interface, another interface index
//     or packet type (incoming, outgoing) in a Linux cooked v2 header.
//     Linux cooked v1 gives the packet type only, not the interface: there
//     an IPv4 copy with the same non-zero IP ID counts as a duplicate too,
//     as a sender gives a retransmission a new IP ID.
//
// A capture of one link (Ethernet, raw IP, one pcapng interface) keeps
// every frame: an identical frame there comes from a mirror port that
// copied the packet twice or from a sender that sent it twice (injectors
// repeat their RSTs), which the capture cannot tell apart.
//
// Limits: on Linux cooked v1, an IPv6 copy, or an IPv4 one with IP ID 0
// (some stacks send those with DF), is recognised only when the packet
// type differs. A packet that NAT rewrote between two interfaces is not
// recognised. The table is direct-mapped: a copy is missed when another
// segment took its slot in between, which takes about dupSlots segments
// within the window.
const (
	dupWindow = time.Millisecond
	dupSlots  = 1024 // a power of two
)

// dedup remembers the segments read last, by a hash of their identity.
type dedup struct {
	seed  maphash.Seed
	slots [dupSlots]dupEntry
}

type dupEntry struct {
	hash uint64 // 0: empty
	ns   int64  // capture time in Unix nanoseconds
	path uint64 // the link it came in on (see decoder.path), with the pcapng interface
}

func newDedup() *dedup { return &dedup{seed: maphash.MakeSeed()} }

// seen reports whether p is a copy of a segment read just before, and
// otherwise remembers it. path identifies the link p came in on, coarsely
// (the packet type only) when coarse.
func (d *dedup) seen(p *Packet, path uint64, coarse bool) bool {
	path ^= uint64(p.Iface) << 48
	h := d.hash(p)
	ns := p.Time.UnixNano()
	e := &d.slots[h&(dupSlots-1)]
	if e.hash == h {
		dt := ns - e.ns
		if dt < 0 {
			dt = -dt
		}
		if dt <= int64(dupWindow) && (e.path != path || coarse && p.HasIPID && p.IPID != 0) {
			return true // keep the first copy's entry for a third copy
		}
	}
	*e = dupEntry{hash: h, ns: ns, path: path}
	return false
}

// hash hashes what identifies p as an IP packet, never 0.
func (d *dedup) hash(p *Packet) uint64 {
	var b [64]byte
	a, z := p.Src.As16(), p.Dst.As16()
	copy(b[0:16], a[:])
	copy(b[16:32], z[:])
	be := binary.BigEndian
	be.PutUint16(b[32:], p.SrcPort)
	be.PutUint16(b[34:], p.DstPort)
	be.PutUint32(b[36:], p.Seq)
	be.PutUint32(b[40:], p.Ack)
	be.PutUint16(b[44:], uint16(p.Flags))
	be.PutUint16(b[46:], p.Window)
	be.PutUint32(b[48:], p.Options)
	be.PutUint32(b[52:], uint32(p.PayloadLen))
	be.PutUint16(b[56:], p.IPID)
	if p.Src.Is4() {
		b[58] = 4
	}
	return maphash.Bytes(d.seed, b[:59]) | 1
}

// path identifies the link the frame decoded last came in on, as far as
// its link header tells: the interface index and packet type (incoming,
// outgoing...) of Linux cooked v2; the packet type of v1, which is coarse
// (several interfaces share it); 0 for other link types.
func (d *decoder) path(lt layers.LinkType) (path uint64, coarse bool) {
	switch lt {
	case layers.LinkTypeLinuxSLL2:
		return 1<<40 | uint64(d.sll2.InterfaceIndex)<<8 | uint64(d.sll2.PacketType), false
	case layers.LinkTypeLinuxSLL:
		return 2<<40 | uint64(d.sll.PacketType), true
	}
	return 0, false
}
