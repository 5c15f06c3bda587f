package flows

import "unsafe"

// Prefetch is Touch without the wait: it reads the index slot of the
// connection with key k and hash h (by the Hasher in the table's Config)
// and asks the processor to fetch the lines of its record that Touch
// reads, with prefetch instructions, which retire at once where a load
// waits for its line; it returns a value of no meaning. A load that
// misses holds up every instruction after it once the processor's window
// is full, so a few dozen Touches overlap only a few misses at a time;
// prefetches let the packets stepped next run while the lines come.
// Where there is no prefetch instruction (prefetch_other.go) it loads them.
func (t *Table) Prefetch(k *Key, h uint64) uint64 {
	s := t.conns.tagged(h)
	if s == nil {
		return 0
	}
	switch r := s.x.ref(); s.x.kind() {
	case kindConn:
		// The lines an ordinary packet reads (see Conn): the first two,
		// and both Halves' first two (the sender is not known yet).
		c := t.full.at(r)
		h0, h1 := &c.Half[0], &c.Half[1]
		prefetch6(unsafe.Pointer(c), unsafe.Pointer(&c.Hist),
			unsafe.Pointer(&h0.Packets), unsafe.Pointer(&h0.LastPayloadTime),
			unsafe.Pointer(&h1.Packets), unsafe.Pointer(&h1.LastPayloadTime))
	case kindSYN:
		p := unsafe.Pointer(t.syns.at(r))
		prefetch6(p, p, p, p, p, p)
	case kindShut:
		// A record of 104 bytes: the lines of its first and last bytes.
		p := unsafe.Pointer(t.shuts.at(r))
		e := unsafe.Add(p, unsafe.Sizeof(shut{})-1)
		prefetch6(p, e, p, p, p, p)
	}
	return uint64(s.h)
}

// prefetchLines asks for the lines of the size bytes at p (a whole number
// of 64-byte lines), six to a prefetch6; the last call asks for the last
// line again where fewer than six remain.
func prefetchLines(p unsafe.Pointer, size uintptr) {
	last := size - 64
	for off := uintptr(0); off < size; off += 6 * 64 {
		prefetch6(unsafe.Add(p, off), unsafe.Add(p, min(off+64, last)), unsafe.Add(p, min(off+128, last)),
			unsafe.Add(p, min(off+192, last)), unsafe.Add(p, min(off+256, last)), unsafe.Add(p, min(off+320, last)))
	}
}
