package rstanalysis

import "github.com/rstscope/rstscope/flows"

// synTable holds the SYNs awaiting their SYN-ACK (Hosts.syns): an
// open-addressed table with linear probing of 16-byte slots, the 5-tuple's
// synHash and the SYN's time, a power of two of them at most 3/4 full
// (hosttab.go's tables take 24 bytes a slot for the same, a flag marking
// the full ones). The hash is the key, its low bits its home slot; a slot
// of hash 0 is empty, so a 5-tuple whose synHash is 0 is kept as 1.
type synTable struct {
	slots []synSlot // len a power of two, or 0
	n     int       // full slots
}

type synSlot struct {
	h uint64 // 0: empty
	t flows.Nanos
}

// synKey is the key of synHash h.
func synKey(h uint64) uint64 { return max(h, 1) }

// find returns the index of k's slot: its own, or the empty one where it
// would go. The table must not be empty.
func (s *synTable) find(k uint64) int {
	mask := len(s.slots) - 1
	i := int(k) & mask
	for s.slots[i].h != 0 && s.slots[i].h != k {
		i = (i + 1) & mask
	}
	return i
}

// put sets the time of the SYN of synHash h to t.
func (s *synTable) put(h uint64, t flows.Nanos) {
	k := synKey(h)
	if s.n > 0 {
		if e := &s.slots[s.find(k)]; e.h != 0 {
			e.t = t
			return
		}
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		old := s.slots
		s.slots = make([]synSlot, max(tabMinSlots, 2*len(old)))
		for _, e := range old {
			if e.h != 0 {
				s.slots[s.find(e.h)] = e
			}
		}
	}
	s.slots[s.find(k)] = synSlot{h: k, t: t}
	s.n++
}

// take removes the SYN of synHash h and returns its time; ok is false for
// none. The entries after it in its run move back (backward-shift
// deletion), so that a lookup needs no tombstones.
func (s *synTable) take(h uint64) (t flows.Nanos, ok bool) {
	if s.n == 0 {
		return 0, false
	}
	tab, mask := s.slots, len(s.slots)-1
	i := s.find(synKey(h))
	if tab[i].h == 0 {
		return 0, false
	}
	t = tab[i].t
	for j := (i + 1) & mask; tab[j].h != 0; j = (j + 1) & mask {
		// The entry at j may fill the hole at i when i lies between its
		// home slot and j.
		if home := int(tab[j].h) & mask; (j-home)&mask >= (j-i)&mask {
			tab[i] = tab[j]
			i = j
		}
	}
	tab[i] = synSlot{}
	s.n--
	return t, true
}

// clear empties the table, keeping its slots.
func (s *synTable) clear() {
	clear(s.slots)
	s.n = 0
}
