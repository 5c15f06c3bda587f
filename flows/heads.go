package flows

import (
	"runtime"
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

// stores maps a Conn's store tag (Conn.store) to its table's headStore,
// so that the Conn's methods find its bytes without holding a pointer
// (which would make the garbage collector scan every Conn). A table takes
// a tag when it is made or first used after Flush and gives it back at
// Flush, when it holds no connection, or when it is collected. A tag is
// an index into the entries and a sequence number, so that a Conn of a
// table that is gone finds nothing rather than another table's bytes.
var stores struct {
	mu     sync.Mutex
	chunks atomic.Pointer[[]*storeChunk] // replaced when it grows, never changed
	free   []uint32                      // indexes given back
	n      uint32                        // indexes handed out
	seq    uint32
}

const (
	storeIndexBits = 20 // a million tables at once
	storeIndex     = 1<<storeIndexBits - 1
	storeChunkLen  = 1024
)

type storeChunk [storeChunkLen]atomic.Pointer[storeEntry]

type storeEntry struct {
	s   *headStore
	tag uint32
}

// registerStore gives s a tag, and its table t gives it back when collected.
func registerStore(t *Table, s *headStore) uint32 {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	var idx uint32
	if n := len(stores.free); n > 0 {
		idx, stores.free = stores.free[n-1], stores.free[:n-1]
	} else {
		if stores.n > storeIndex {
			panic("flows: more than a million tables at once")
		}
		idx = stores.n
		stores.n++
	}
	var chunks []*storeChunk
	if p := stores.chunks.Load(); p != nil {
		chunks = *p
	}
	if int(idx/storeChunkLen) == len(chunks) {
		chunks = append(chunks[:len(chunks):len(chunks)], new(storeChunk))
		stores.chunks.Store(&chunks)
	}
	if stores.seq++; stores.seq&(1<<(32-storeIndexBits)-1) == 0 {
		stores.seq++ // a tag is never 0
	}
	tag := idx | stores.seq<<storeIndexBits
	chunks[idx/storeChunkLen][idx%storeChunkLen].Store(&storeEntry{s: s, tag: tag})
	runtime.AddCleanup(t, releaseStore, tag)
	return tag
}

// entry returns the entry of tag's index, nil if none.
func entry(tag uint32) *atomic.Pointer[storeEntry] {
	p, idx := stores.chunks.Load(), tag&storeIndex
	if p == nil || int(idx/storeChunkLen) >= len(*p) {
		return nil
	}
	return &(*p)[idx/storeChunkLen][idx%storeChunkLen]
}

// releaseStore gives back tag, if it is still taken.
func releaseStore(tag uint32) {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	if e := entry(tag); e != nil {
		if cur := e.Load(); cur != nil && cur.tag == tag {
			e.Store(nil)
			stores.free = append(stores.free, tag&storeIndex)
		}
	}
}

// storeOf returns the headStore with tag, or nil.
func storeOf(tag uint32) *headStore {
	if e := entry(tag); e != nil {
		if cur := e.Load(); cur != nil && cur.tag == tag {
			return cur.s
		}
	}
	return nil
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

// headStore returns the table's head store, taking a tag for it if the
// table has none (new, or flushed).
func (t *Table) headStore() *headStore {
	if t.heads == nil {
		t.heads = new(headStore)
		t.storeTag = registerStore(t, t.heads)
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
