package rstanalysis

import (
	"net/netip"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// A batch is what the reading goroutine hands a worker at once: up to
// batchSize packets, each a parcel of two 64-byte lines, and beside them, in
// the parcels' order, the captured payload bytes of each (heads, without
// gaps), the host snapshots of the RSTs (snaps), and whole the rare packet
// that a parcel cannot carry (fat: a tunnelled one). Every line of it moves
// from the reader's core to the worker's, so it holds only what the worker
// reads: no padding, no copy of the addresses beside the key, no 256-byte
// Head for a packet without payload. The worker rebuilds each packet in a
// capture.Packet of its own (unpack) before it steps it.
type batch struct {
	items []parcel
	heads []byte
	snaps []HostSnapshot
	fat   []capture.Packet
}

// parcel is one packet of a batch: its key and hash, which pick the worker
// and spare it the hashing, and every field of its capture.Packet that is
// not in the key, the payload bytes and the tunnel's (TestParcelRoundTrip
// checks that unpack rebuilds the packet exactly). 128 bytes: two whole
// lines of the array (TestParcelLines).
type parcel struct {
	key    flows.Key // 36 bytes
	bits   uint8     // the parcel* bits below
	ttl    uint8
	flags  capture.Flags
	window uint16
	ipid   uint16
	headN  uint16
	srcMAC [6]byte
	seq    uint32
	ack    uint32
	opts   uint32
	payLen int32
	iface  int32
	hash   uint64
	frame  uint64
	time   time.Time
	_      [16]byte
}

// The bits of parcel.bits.
const (
	parcelRST     = 1 << iota // a RST: its host snapshot is the next of snaps
	parcelFat                 // the packet is the next of fat, whole
	parcelSrcLo               // the source is the key's low end
	parcelSrc4                // the source is an IPv4 address
	parcelDst4                // the destination is an IPv4 address
	parcelHasIPID             // capture.Packet.HasIPID
	parcelDF                  // capture.Packet.DF
)

// headsCap is the room for payload bytes in a batch: half of batchSize
// full heads. About half the packets of a busy capture carry payload, so a
// batch mostly fills its parcels first; one whose heads fill first goes
// early (full), and the batches waiting for a worker take less memory.
const headsCap = batchSize * capture.HeadLen / 2

// claimAhead is how many parcels ahead of the one it writes add claims
// lines of the batch (prefetchw2), and the payload room 64 bytes per parcel.
const claimAhead = 6

func newBatch() *batch {
	return &batch{items: make([]parcel, 0, batchSize), heads: make([]byte, 0, headsCap)}
}

// full reports whether b has no room for another packet.
func (b *batch) full() bool {
	return len(b.items) == batchSize || len(b.heads)+capture.HeadLen > cap(b.heads)
}

// reset empties b for reuse, keeping its memory.
func (b *batch) reset() {
	b.items, b.heads, b.snaps, b.fat = b.items[:0], b.heads[:0], b.snaps[:0], b.fat[:0]
}

// add appends p, whose key is k with hash h, and for a RST the host
// snapshot snap. It writes the parcel field by field: a composite literal
// would first zero it, and its lines are cold (the worker read them last).
func (b *batch) add(p *capture.Packet, k *flows.Key, h uint64, snap *HostSnapshot) {
	b.items = b.items[:len(b.items)+1]
	it := &b.items[len(b.items)-1]
	b.claim()
	it.key, it.hash = *k, h
	var bits uint8
	if snap != nil {
		bits |= parcelRST
		b.snaps = append(b.snaps, *snap)
	}
	if !slim(p) {
		it.bits = bits | parcelFat
		it.frame = p.Frame
		b.fat = append(b.fat, capture.Packet{})
		copyPacket(&b.fat[len(b.fat)-1], p)
		return
	}
	if p.SrcPort == k.LoPort && p.Src.As16() == k.LoAddr {
		bits |= parcelSrcLo
	}
	if p.Src.Is4() {
		bits |= parcelSrc4
	}
	if p.Dst.Is4() {
		bits |= parcelDst4
	}
	if p.HasIPID {
		bits |= parcelHasIPID
	}
	if p.DF {
		bits |= parcelDF
	}
	it.bits, it.ttl, it.flags, it.window, it.ipid = bits, p.TTL, p.Flags, p.Window, p.IPID
	it.headN, it.srcMAC, it.seq, it.ack, it.opts = uint16(p.HeadN), p.SrcMAC, p.Seq, p.Ack, p.Options
	it.payLen, it.iface, it.frame, it.time = int32(p.PayloadLen), int32(p.Iface), p.Frame, p.Time
	b.heads = append(b.heads, p.Head[:p.HeadN]...)
}

// claim asks for the lines add writes a few parcels later, and the payload
// room beyond the bytes written, in a state this core may write. The worker
// read them last, so a store to them waits for the line to leave the
// worker's core; stores wait in the processor's store buffer, and with
// every line of a batch coming from the other core the buffer fills and
// stalls the reader (a profile shows it as time in the decoder's function
// prologues). Claimed ahead, the lines arrive while the reader decodes.
// Two workers ran 6% faster with it (docs/performance.md).
func (b *batch) claim() {
	if n := len(b.items) + claimAhead; n < cap(b.items) {
		q := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b.items)), uintptr(n)*unsafe.Sizeof(parcel{}))
		prefetchw2(q, unsafe.Add(q, 64))
	}
	if n := len(b.heads) + claimAhead*64; n+64 < cap(b.heads) {
		q := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b.heads)), n)
		prefetchw2(q, unsafe.Add(q, 64))
	}
}

// slim reports whether a parcel carries p: no tunnel, valid addresses
// without a zone, and counts within a parcel's fields.
func slim(p *capture.Packet) bool {
	return p.Encap == capture.EncapNone && p.OuterTTL == 0 && p.OuterSrc == (netip.Addr{}) &&
		p.OuterDst == (netip.Addr{}) && p.Src.Zone() == "" && p.Dst.Zone() == "" &&
		p.Src.IsValid() && p.Dst.IsValid() &&
		p.Iface == int(int32(p.Iface)) && p.PayloadLen == int(int32(p.PayloadLen)) &&
		p.HeadN >= 0 && p.HeadN <= capture.HeadLen
}

// unpacker walks a batch's parcels in order, keeping the offsets of the next
// payload bytes, snapshot and whole packet.
type unpacker struct {
	head, snap, fat int
}

// unpack rebuilds parcel it of b, the next in order, into q, and returns the
// RST's host snapshot (nil for another packet). Of q.Head it writes only
// the payload bytes captured, like copyPacket.
func (u *unpacker) unpack(q *capture.Packet, b *batch, it *parcel) *HostSnapshot {
	var snap *HostSnapshot
	if it.bits&parcelRST != 0 {
		snap = &b.snaps[u.snap]
		u.snap++
	}
	if it.bits&parcelFat != 0 {
		copyPacket(q, &b.fat[u.fat])
		u.fat++
		return snap
	}
	if q.Encap != capture.EncapNone || q.OuterTTL != 0 || q.OuterSrc.IsValid() || q.OuterDst.IsValid() {
		q.Encap, q.OuterTTL, q.OuterSrc, q.OuterDst = capture.EncapNone, 0, netip.Addr{}, netip.Addr{}
	}
	lo, hi := keyAddr(&it.key.LoAddr, it.bits&parcelSrc4 != 0), keyAddr(&it.key.HiAddr, it.bits&parcelDst4 != 0)
	if it.bits&parcelSrcLo != 0 {
		q.Src, q.Dst, q.SrcPort, q.DstPort = lo, hi, it.key.LoPort, it.key.HiPort
	} else {
		lo, hi = keyAddr(&it.key.LoAddr, it.bits&parcelDst4 != 0), keyAddr(&it.key.HiAddr, it.bits&parcelSrc4 != 0)
		q.Src, q.Dst, q.SrcPort, q.DstPort = hi, lo, it.key.HiPort, it.key.LoPort
	}
	q.Frame, q.Time, q.Iface = it.frame, it.time, int(it.iface)
	q.SrcMAC, q.TTL, q.IPID = it.srcMAC, it.ttl, it.ipid
	q.HasIPID, q.DF = it.bits&parcelHasIPID != 0, it.bits&parcelDF != 0
	q.Flags, q.Seq, q.Ack, q.Window, q.Options = it.flags, it.seq, it.ack, it.window, it.opts
	q.PayloadLen, q.HeadN = int(it.payLen), int(it.headN)
	u.head += copy(q.Head[:], b.heads[u.head:u.head+int(it.headN)])
	return snap
}

// keyAddr is the address a key holds in a, an IPv4 one when v4.
func keyAddr(a *[16]byte, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte(a[12:16]))
	}
	return netip.AddrFrom16(*a)
}

// copyPacket copies p into q, field by field (a composite literal would
// first zero all of q), of Head only the payload bytes captured (most
// segments carry none, and the rest of Head is never read), and the tunnel's
// addresses only when p or q came through one (they are zero otherwise).
func copyPacket(q, p *capture.Packet) {
	if p.Encap != capture.EncapNone || q.Encap != capture.EncapNone {
		q.OuterSrc, q.OuterDst = p.OuterSrc, p.OuterDst
	}
	q.Frame, q.Time, q.Iface, q.Src, q.Dst = p.Frame, p.Time, p.Iface, p.Src, p.Dst
	q.SrcMAC = p.SrcMAC
	q.SrcPort, q.DstPort, q.TTL, q.IPID, q.HasIPID, q.DF = p.SrcPort, p.DstPort, p.TTL, p.IPID, p.HasIPID, p.DF
	q.Encap, q.OuterTTL = p.Encap, p.OuterTTL
	q.Flags, q.Seq, q.Ack, q.Window, q.Options = p.Flags, p.Seq, p.Ack, p.Window, p.Options
	q.PayloadLen, q.HeadN = p.PayloadLen, p.HeadN
	copy(q.Head[:], p.Head[:p.HeadN])
}
