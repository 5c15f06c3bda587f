package flows

import "encoding/binary"

// shutHead begins a closed connection's compact record (shut): what a
// half-open record's stubHead holds, with the key packed in 12 bytes
// (shutKey) instead of 36, which makes the record 104 bytes instead of 128.
type shutHead struct {
	key shutKey
	stubLinks
	bits uint32 // the endpoints (endBits) and the shut* flags
	last Nanos  // the connection's latest packet
	id   uint64 // Conn.ID
}

// shutKey is a closed connection's Key. For one between two IPv4
// addresses (a Key holds them IPv4-mapped, ::ffff:a.b.c.d) it is the two
// addresses and the ports; for any other, with shutKeyExt in the record's
// bits, lo is the ref of its whole Key in shutStore.keys (few closed
// connections of a busy capture: the IPv6 ones).
type shutKey struct {
	lo, hi         uint32 // the Key's IPv4 addresses (big-endian), or lo the ref of the Key
	loPort, hiPort uint16
}

// shutKeyExt marks a record whose Key is in shutStore.keys; the shut*
// flags end below it.
const shutKeyExt = 1 << 31

// v4Mapped returns the IPv4 address in a, if a is an IPv4-mapped address.
func v4Mapped(a *[16]byte) (uint32, bool) {
	le := binary.LittleEndian
	return binary.BigEndian.Uint32(a[12:]), le.Uint64(a[:8]) == 0 && le.Uint32(a[8:12]) == 0xffff0000
}

// putKey records k as s's key: packed when both its addresses are
// IPv4-mapped, else in st.keys. It must follow shut.from, which sets the
// record's bits.
func (st *shutStore) putKey(s *shut, k *Key) {
	lo, ok1 := v4Mapped(&k.LoAddr)
	hi, ok2 := v4Mapped(&k.HiAddr)
	if ok1 && ok2 {
		s.key = shutKey{lo: lo, hi: hi, loPort: k.LoPort, hiPort: k.HiPort}
		return
	}
	r, x := st.keys.alloc()
	*x = *k
	s.key = shutKey{lo: r}
	s.bits |= shutKeyExt
}

// key returns s's Key.
func (st *shutStore) key(s *shut) Key {
	if s.bits&shutKeyExt != 0 {
		return *st.keys.at(s.key.lo)
	}
	var k Key
	k.LoAddr[10], k.LoAddr[11], k.HiAddr[10], k.HiAddr[11] = 0xff, 0xff, 0xff, 0xff
	binary.BigEndian.PutUint32(k.LoAddr[12:], s.key.lo)
	binary.BigEndian.PutUint32(k.HiAddr[12:], s.key.hi)
	k.LoPort, k.HiPort = s.key.loPort, s.key.hiPort
	return k
}

// keyIs reports whether s's key is k.
func (st *shutStore) keyIs(s *shut, k *Key) bool {
	if s.bits&shutKeyExt != 0 {
		return st.keys.at(s.key.lo).equal(k)
	}
	lo, ok1 := v4Mapped(&k.LoAddr)
	hi, ok2 := v4Mapped(&k.HiAddr)
	return ok1 && ok2 && lo == s.key.lo && hi == s.key.hi && k.LoPort == s.key.loPort && k.HiPort == s.key.hiPort
}
