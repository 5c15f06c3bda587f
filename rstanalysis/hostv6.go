package rstanalysis

// v6Table holds what Hosts knows of each IPv6 address: 40-byte records
// (the address and its hostPart), stored in the order the addresses came
// in chunks of v6Chunk, under an index of 8-byte slots (a power of two of
// them, at most 3/4 full; linear probing). A table of whole 48-byte slots
// doubled every record's room at each growth and kept a quarter to a half
// of it empty; here only the index does, at 8 bytes a slot, and the
// records never move. Nothing here but the chunks' slice holds a pointer.
//
// Entries are only added, updated and cleared all at once (Hosts' fresh
// start past maxHosts), as for hosts4's host parts.
type v6Table struct {
	index []v6Slot  // len a power of two, or 0
	recs  [][]v6Rec // chunks of v6Chunk records; kept across clear
	n     int       // records in use: recs' first n
}

// v6Slot is an index slot: 32 bits of the address's hash (v6Hash), which
// also give its home slot, and its record's reference.
type v6Slot struct {
	tag uint32
	ref uint32 // 1 + the record's place; 0: an empty slot
}

// v6Rec is an IPv6 address's record.
type v6Rec struct {
	addr [16]byte
	host hostPart
}

// Sizes of the IPv6 table.
const (
	v6ChunkBits = 10
	v6Chunk     = 1 << v6ChunkBits // records per chunk (40 bytes each)
	v6MinSlots  = 1 << 8           // the index's first size
)

// v6Tag is the index tag of a: the top half of its v6Hash.
func v6Tag(a *[16]byte) uint32 { return uint32(v6Hash(a) >> 32) }

// at returns the record of reference r (not 0).
func (t *v6Table) at(r uint32) *v6Rec {
	i := int(r) - 1
	return &t.recs[i>>v6ChunkBits][i&(v6Chunk-1)]
}

// slot returns the place of a's index slot, a's tag being tag: its own,
// or the empty one where it would go. The index must not be empty.
func (t *v6Table) slot(a *[16]byte, tag uint32) int {
	mask := len(t.index) - 1
	i := int(tag) & mask
	for s := t.index[i]; s.ref != 0; s = t.index[i] {
		if s.tag == tag && t.at(s.ref).addr == *a {
			break
		}
		i = (i + 1) & mask
	}
	return i
}

// get returns a's entry; ok is false for none.
func (t *v6Table) get(a *[16]byte) (hostPart, bool) {
	if t.n == 0 {
		return hostPart{}, false
	}
	if s := t.index[t.slot(a, v6Tag(a))]; s.ref != 0 {
		return t.at(s.ref).host, true
	}
	return hostPart{}, false
}

// put sets a's entry to hp, adding a if it is new.
func (t *v6Table) put(a *[16]byte, hp hostPart) {
	tag := v6Tag(a)
	if t.n > 0 {
		if s := t.index[t.slot(a, tag)]; s.ref != 0 {
			t.at(s.ref).host = hp
			return
		}
	}
	if 4*(t.n+1) > 3*len(t.index) {
		t.grow()
	}
	if t.n>>v6ChunkBits == len(t.recs) {
		t.recs = append(t.recs, make([]v6Rec, v6Chunk))
	}
	t.n++
	*t.at(uint32(t.n)) = v6Rec{addr: *a, host: hp}
	t.index[t.slot(a, tag)] = v6Slot{tag: tag, ref: uint32(t.n)}
}

// grow doubles the index (to v6MinSlots at first).
func (t *v6Table) grow() {
	old := t.index
	t.index = make([]v6Slot, max(v6MinSlots, 2*len(old)))
	mask := len(t.index) - 1
	for _, s := range old {
		if s.ref != 0 {
			i := int(s.tag) & mask
			for t.index[i].ref != 0 {
				i = (i + 1) & mask
			}
			t.index[i] = s
		}
	}
}

// clear removes every entry; the index and the chunks stay for the next.
func (t *v6Table) clear() {
	clear(t.index)
	t.n = 0
}
