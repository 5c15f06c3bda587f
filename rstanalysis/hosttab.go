package rstanalysis

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/rstscope/rstscope/flows"
)

// The host tables (Hosts.wanted, learnts; and paths) are open-addressed
// tables with linear probing: a slice over its whole capacity (a power of
// two, at most 3/4 full) whose length counts the entries.
// A slot holds no pointer, so the collector does not scan the tables, and a
// lookup hashes its key once with tabHash or synHash instead of a map's
// hash of the whole key.
type tabSlot[K comparable, V any] struct {
	key  K
	full bool
	val  V
}

// tabMinSlots is a table's first size.
const tabMinSlots = 1 << 8

// tabFind returns the index of k's slot in tab (len a power of two, h k's
// hash): its entry's, or the empty slot where it would go.
func tabFind[K comparable, V any](tab []tabSlot[K, V], k K, h uint64) int {
	mask := len(tab) - 1
	i := int(h) & mask
	for tab[i].full && tab[i].key != k {
		i = (i + 1) & mask
	}
	return i
}

// tabGet returns k's value; ok is false for none.
func tabGet[K comparable, V any](s []tabSlot[K, V], k K, h uint64) (v V, ok bool) {
	tab := s[:cap(s)]
	if len(tab) == 0 {
		return v, false
	}
	e := &tab[tabFind(tab, k, h)]
	return e.val, e.full
}

// tabHas reports whether k is in the table.
func tabHas[K comparable, V any](s []tabSlot[K, V], k K, h uint64) bool {
	_, ok := tabGet(s, k, h)
	return ok
}

// tabPut sets k's value to v, adding k if it is new; hash hashes a key.
func tabPut[K comparable, V any](s *[]tabSlot[K, V], k K, h uint64, v V, hash func(*K) uint64) {
	tab := (*s)[:cap(*s)]
	if len(tab) > 0 {
		if i := tabFind(tab, k, h); tab[i].full {
			tab[i].val = v
			return
		}
	}
	n := len(*s)
	if 4*(n+1) > 3*len(tab) {
		next := make([]tabSlot[K, V], max(tabMinSlots, 2*len(tab)))
		for i := range tab {
			if e := &tab[i]; e.full { // by pointer: a copy's &e.key would escape to hash
				next[tabFind(next, e.key, hash(&e.key))] = *e
			}
		}
		tab = next
	}
	tab[tabFind(tab, k, h)] = tabSlot[K, V]{key: k, full: true, val: v}
	*s = tab[:n+1]
}

// tabTake removes k and returns its value; ok is false for none. The
// entries after it in its run move back (backward-shift deletion), so that
// a lookup needs no tombstones.
func tabTake[K comparable, V any](s *[]tabSlot[K, V], k K, h uint64, hash func(*K) uint64) (v V, ok bool) {
	tab := (*s)[:cap(*s)]
	if len(*s) == 0 {
		return v, false
	}
	mask := len(tab) - 1
	i := tabFind(tab, k, h)
	if !tab[i].full {
		return v, false
	}
	v = tab[i].val
	for j := (i + 1) & mask; tab[j].full; j = (j + 1) & mask {
		// The entry at j may fill the hole at i when i lies between its
		// home slot and j.
		if home := int(hash(&tab[j].key)) & mask; (j-home)&mask >= (j-i)&mask {
			tab[i] = tab[j]
			i = j
		}
	}
	tab[i] = tabSlot[K, V]{}
	*s = tab[:len(*s)-1]
	return v, true
}

// tabClear empties a table, keeping its slots.
func tabClear[K comparable, V any](s *[]tabSlot[K, V]) {
	tab := (*s)[:cap(*s)]
	clear(tab)
	*s = tab[:0]
}

// tabMix finishes a hash (MurmurHash3's fmix64), so that its low bits,
// which pick the home slot, depend on every bit of the key.
func tabMix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

// tabHash hashes an address.
func tabHash(a *hostAddr) uint64 {
	lo := binary.LittleEndian.Uint64(a.a[:8])
	hi := binary.LittleEndian.Uint64(a.a[8:])
	return tabMix(lo*0x9e3779b97f4a7c15 ^ hi ^ uint64(a.bits)<<56)
}

// v6Hash hashes an IPv6 address.
func v6Hash(a *[16]byte) uint64 {
	lo := binary.LittleEndian.Uint64(a[:8])
	hi := binary.LittleEndian.Uint64(a[8:])
	return tabMix(lo*0x9e3779b97f4a7c15 ^ hi)
}

// v4Key is an IPv4 address as a key of Hosts.hosts4.
func v4Key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// synHash hashes a connection's key to 64 bits (wyhash's multiply-and-fold
// steps, then tabMix), so that two 5-tuples awaiting a SYN-ACK at once
// share one by a chance of about n²/2⁶⁵ among n.
func synHash(k *flows.Key) uint64 {
	le := binary.LittleEndian
	a := le.Uint64(k.LoAddr[:8]) ^ 0xa0761d6478bd642f
	b := le.Uint64(k.LoAddr[8:]) ^ 0xe7037ed1a0b428db
	c := le.Uint64(k.HiAddr[:8]) ^ 0x8ebc6af09c88c6e3
	d := le.Uint64(k.HiAddr[8:]) ^ 0x589965cc75374cc3 ^ uint64(k.LoPort)<<16 ^ uint64(k.HiPort)
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	hi, lo := bits.Mul64(h1^l1^0x1d8e4e27c47d124f, h2^l2^0x9e3779b97f4a7c15)
	return tabMix(hi ^ lo)
}
