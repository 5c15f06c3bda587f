package flows

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// index maps Keys to connections: an open-addressing hash table with
// linear probing and backward-shift deletion (no tombstones). Each 8-byte
// slot holds 32 bits of the key's hash (its tag) next to the connection's
// handle, so a probe compares 4 bytes and reads the 36-byte key from the
// record only on a tag match,
// where the caller is about to read the record anyway (Table.find). It
// replaced a map[Key]*Conn whose hashing and key comparisons were a third
// of the per-packet cost of the table at 50k open connections. The slots
// hold no pointer, so the collector does not scan them.
//
// The hash is seeded (Hasher).
type index struct {
	slots []slot // len is a power of two; nil until the first put
	n     int    // occupied slots
	// mapped is the memory of slots when mapped in huge pages by mem, nil
	// when they are in the Go heap.
	mapped []byte
	mem    *hugeMem
	Hasher
}

// Hasher hashes connection keys for a Table's index. Tables given the same
// Hasher (Config.Hasher) agree on every key's hash, so that a pipeline can
// hash a packet's key once, pick a worker by it and hand it to that
// worker's table (LookupHashed). The zero value is not usable: call
// NewHasher.
type Hasher struct{ seed [4]uint64 }

// NewHasher returns a Hasher with a random seed, so that a capture crafted
// to collide on one run does not collide on the next.
func NewHasher() Hasher {
	return Hasher{seed: [4]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}}
}

type slot struct {
	h uint32 // the tag: bits 7 to 38 of the key's hash (tagOf); its home slot is h & mask
	x handle // 0 = empty
}

// tagOf returns the tag of hash h. The index uses bits 7 and up of the
// hash: Sharded picks a worker by bits 40 and up.
func tagOf(h uint64) uint32 { return uint32(h >> 7) }

// handle names a connection's record in its table: the record's kind in
// the top two bits (a full Conn, a half-open or a closed connection's
// compact record) and its ref in that kind's slab below.
type handle uint32

const (
	kindConn  handle = 0 << 30
	kindSYN   handle = 1 << 30 // half-open: a SYN and nothing back (syn.go)
	kindShut  handle = 2 << 30 // closed, shrunk to what late packets need (shut.go)
	kindMask  handle = 3 << 30
	handleRef handle = 1<<30 - 1
)

func (x handle) kind() handle { return x & kindMask }
func (x handle) ref() uint32  { return uint32(x & handleRef) }

// minSlots is the initial table size; it doubles at 3/4 load.
const minSlots = 1024

func newIndex(h Hasher) index { return index{Hasher: h} }

// Hash mixes the 36 bytes of k with the seed (multiply and fold, after
// wyhash's mum step). The low bit is always set.
func (x Hasher) Hash(k *Key) uint64 {
	a := binary.LittleEndian.Uint64(k.LoAddr[:8]) ^ x.seed[0]
	b := binary.LittleEndian.Uint64(k.LoAddr[8:]) ^ x.seed[1]
	c := binary.LittleEndian.Uint64(k.HiAddr[:8]) ^ x.seed[2]
	d := binary.LittleEndian.Uint64(k.HiAddr[8:]) ^ x.seed[3]
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d^(uint64(k.LoPort)<<16|uint64(k.HiPort))<<32)
	hi, lo := bits.Mul64(h1^l1^0x9e3779b97f4a7c15, h2^l2^0xbf58476d1ce4e5b9)
	return (hi ^ lo) | 1
}

// equal reports whether k and o are the same key: k == o in four 8-byte
// and one 4-byte comparison, where == on the struct calls memequal.
func (k *Key) equal(o *Key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.LoAddr[:8]) == le.Uint64(o.LoAddr[:8]) && le.Uint64(k.LoAddr[8:]) == le.Uint64(o.LoAddr[8:]) &&
		le.Uint64(k.HiAddr[:8]) == le.Uint64(o.HiAddr[:8]) && le.Uint64(k.HiAddr[8:]) == le.Uint64(o.HiAddr[8:]) &&
		k.LoPort == o.LoPort && k.HiPort == o.HiPort
}

// tagged returns the first slot of hash h's probe sequence that holds a
// record with h's tag, where a lookup will compare the key (past the home
// slot when others took it first: linear probing), or nil when an empty
// slot comes first. It reads the slots only: Table.Touch and
// Table.Prefetch use it to fetch the record ahead.
func (x *index) tagged(h uint64) *slot {
	if x.slots == nil {
		return nil
	}
	mask, tag := uint64(len(x.slots)-1), tagOf(h)
	i := uint64(tag) & mask
	for x.slots[i].x != 0 && x.slots[i].h != tag {
		i = (i + 1) & mask
	}
	if x.slots[i].x == 0 {
		return nil
	}
	return &x.slots[i]
}

// put adds the record with handle c, whose key is not in the index, under
// hash h.
func (x *index) put(c handle, h uint64) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow()
	}
	x.putTag(c, tagOf(h))
}

// putTag adds c under tag (room is there).
func (x *index) putTag(c handle, tag uint32) {
	mask := uint64(len(x.slots) - 1)
	i := uint64(tag) & mask
	for x.slots[i].x != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot{h: tag, x: c}
	x.n++
}

// replace stores handle to instead of from, stored under hash h: the same
// connection in another record.
func (x *index) replace(from, to handle, h uint64) {
	mask := uint64(len(x.slots) - 1)
	for i := uint64(tagOf(h)) & mask; x.slots[i].x != 0; i = (i + 1) & mask {
		if x.slots[i].x == from {
			x.slots[i].x = to
			return
		}
	}
}

// del removes c, stored under hash h, shifting back the entries after it
// that probed past its slot (Knuth's algorithm R, TAOCP 6.4).
func (x *index) del(c handle, h uint64) {
	mask := uint64(len(x.slots) - 1)
	i := uint64(tagOf(h)) & mask
	for x.slots[i].x != c {
		if x.slots[i].x == 0 {
			return // not present
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s.x == 0 {
			break
		}
		// s may move to the hole at i unless its home lies cyclically in (i, j].
		if home := uint64(s.h) & mask; (j-home)&mask >= (j-i)&mask {
			x.slots[i] = s
			i = j
		}
	}
	x.slots[i] = slot{}
	x.n--
}

// grow doubles the slots. From hugeRegion bytes on they are mapped in huge
// pages (huge_linux.go), as every packet probes them at random.
func (x *index) grow() {
	old, oldMapped := x.slots, x.mapped
	n := max(minSlots, 2*len(old))
	x.slots, x.mapped = nil, nil
	if size := uintptr(n) * unsafe.Sizeof(slot{}); size >= hugeRegion && size%hugeRegion == 0 {
		if x.mem == nil {
			x.mem = newHugeMem()
		}
		if b := x.mem.mapBig(size); b != nil {
			x.slots, x.mapped = unsafe.Slice((*slot)(unsafe.Pointer(&b[0])), n), b
		}
	}
	if x.slots == nil {
		x.slots = make([]slot, n)
	}
	x.n = 0
	for _, s := range old {
		if s.x != 0 {
			x.putTag(s.x, s.h)
		}
	}
	if oldMapped != nil {
		x.mem.unmapBig(oldMapped)
	}
}

// each calls f for every record, in slot order.
func (x *index) each(f func(handle)) {
	for _, s := range x.slots {
		if s.x != 0 {
			f(s.x)
		}
	}
}
