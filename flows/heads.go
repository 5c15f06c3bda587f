package flows

import (
	"sync"
	"sync/atomic"
)

// The first bytes of each stream (Conn.Head) and the client's latest turn
// (Conn.ClientTurn) live out of the Conn, in its table's headStore, in
// blocks sized to what they hold: a Conn is 1 KiB instead of 1.6, and once
// a head names its request or response it is cut to the bytes AppOf reads
// (digest.go), 16 to 128 bytes for HTTP and TLS.

// blk names a block in a headStore: its size class in the top four bits,
// its ref in that class's slab below; 0 is none.
type blk uint32

const blkRef = 1<<28 - 1

// blkSizes are the classes' sizes: enough for an HTTP status line's 12
// bytes, a request line with its Host header, a TLS ClientHello to its SNI,
// a client turn (TurnCap) and a whole head (ClientHeadCap).
var blkSizes = [...]int{0, 16, 32, 64, 96, 128, 256, ClientHeadCap}

// headStore holds blocks of every class, each class a slab of its own.
type headStore struct {
	s16  slab[[16]byte]
	s32  slab[[32]byte]
	s64  slab[[64]byte]
	s96  slab[[96]byte]
	s128 slab[[128]byte]
	s256 slab[[256]byte]
	s384 slab[[ClientHeadCap]byte]
}

// classFor returns the smallest class holding n bytes (n ≤ ClientHeadCap).
func classFor(n int) blk {
	c := blk(1)
	for blkSizes[c] < n {
		c++
	}
	return c
}

// bytes returns block b, the whole of it; nil for 0 or a block the store
// never handed out (a Conn of a table that has since been flushed).
func (s *headStore) bytes(b blk) []byte {
	r := uint32(b & blkRef)
	switch b >> 28 {
	case 1:
		if s.s16.has(r) {
			return s.s16.at(r)[:]
		}
	case 2:
		if s.s32.has(r) {
			return s.s32.at(r)[:]
		}
	case 3:
		if s.s64.has(r) {
			return s.s64.at(r)[:]
		}
	case 4:
		if s.s96.has(r) {
			return s.s96.at(r)[:]
		}
	case 5:
		if s.s128.has(r) {
			return s.s128.at(r)[:]
		}
	case 6:
		if s.s256.has(r) {
			return s.s256.at(r)[:]
		}
	case 7:
		if s.s384.has(r) {
			return s.s384.at(r)[:]
		}
	}
	return nil
}

// get returns a zero block of at least n bytes.
func (s *headStore) get(n int) blk {
	c := classFor(n)
	var r uint32
	switch c {
	case 1:
		r, _ = s.s16.alloc()
	case 2:
		r, _ = s.s32.alloc()
	case 3:
		r, _ = s.s64.alloc()
	case 4:
		r, _ = s.s96.alloc()
	case 5:
		r, _ = s.s128.alloc()
	case 6:
		r, _ = s.s256.alloc()
	default:
		r, _ = s.s384.alloc()
	}
	return c<<28 | blk(r)
}

// put frees block b (0 is ignored).
func (s *headStore) put(b blk) {
	r := uint32(b & blkRef)
	switch b >> 28 {
	case 1:
		s.s16.release(r)
	case 2:
		s.s32.release(r)
	case 3:
		s.s64.release(r)
	case 4:
		s.s96.release(r)
	case 5:
		s.s128.release(r)
	case 6:
		s.s256.release(r)
	case 7:
		s.s384.release(r)
	}
}

// resize returns a block of at least n bytes holding the first keep bytes
// of b (which it frees if it is not the one returned): b itself when it is
// of n's class already, or when grow is set and b holds n.
func (s *headStore) resize(b blk, n, keep int, grow bool) blk {
	if c := classFor(n); b>>28 == c || grow && b != 0 && blkSizes[b>>28] >= n {
		return b
	}
	nb := s.get(n)
	copy(s.bytes(nb), s.bytes(b)[:keep])
	s.put(b)
	return nb
}

// stores maps a Conn's store number (Conn.store) to its table's headStore,
// so that the Conn's methods find its bytes without holding a pointer
// (which would make the garbage collector scan every Conn). A table takes
// a number when it is made or first used after Flush, and gives it back
// at Flush, when it holds no connection.
var stores struct {
	mu   sync.Mutex
	all  atomic.Pointer[[]*headStore] // by number - 1; replaced, never changed
	free []uint32
}

// registerStore gives s a number.
func registerStore(s *headStore) uint32 {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	var all []*headStore
	if p := stores.all.Load(); p != nil {
		all = append(all, *p...)
	}
	var id uint32
	if n := len(stores.free); n > 0 {
		id, stores.free = stores.free[n-1], stores.free[:n-1]
		all[id-1] = s
	} else {
		all = append(all, s)
		id = uint32(len(all))
	}
	stores.all.Store(&all)
	return id
}

// releaseStore gives back number id.
func releaseStore(id uint32) {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	all := append([]*headStore(nil), *stores.all.Load()...)
	all[id-1] = nil
	stores.all.Store(&all)
	stores.free = append(stores.free, id)
}

// storeOf returns the headStore with number id, or nil.
func storeOf(id uint32) *headStore {
	p := stores.all.Load()
	if p == nil || id == 0 || int(id) > len(*p) {
		return nil
	}
	return (*p)[id-1]
}

// block returns the bytes of c's block b, nil if none.
func (c *Conn) block(b blk) []byte {
	if b == 0 {
		return nil
	}
	if s := storeOf(c.store); s != nil {
		return s.bytes(b)
	}
	return nil
}

// heads returns the table's head store, taking a number for it if the
// table has none (new, or flushed).
func (t *Table) headStore() *headStore {
	if t.heads == nil {
		t.heads = new(headStore)
		t.storeID = registerStore(t.heads)
	}
	return t.heads
}

// freeHeads frees c's blocks.
func (t *Table) freeHeads(c *Conn) {
	if t.heads != nil {
		t.heads.put(c.hb[Client])
		t.heads.put(c.hb[Server])
		t.heads.put(c.turnB)
	}
	c.hb, c.turnB = [2]blk{}, 0
}
