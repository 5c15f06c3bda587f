package rstanalysis

import (
	"time"
)

// v4Table holds what Hosts knows of each IPv4 address in one 56-byte
// record: its IP ID profile (hostipid.go) and its latest SYN or SYN-ACK
// (hostPart), so that a SYN's two updates touch one record and a RST's
// snapshot of its sender reads one. It is an index, an open-addressed
// table with linear probing of 8-byte slots (a power of two of them, at
// most 3/4 full; eight to a cache line), over the records, stored in the
// order their addresses came in chunks of v4Chunk: the records carry no
// slack for growth and never move when the table grows.
//
// A slot also marks a dead profile (v4Dead: one that can no longer call
// its host's IDs global or zero), so that a packet of such a host, most of
// a busy capture's, reads the index alone. Apart from the chunks' slice,
// nothing here holds a pointer.
type v4Table struct {
	index []v4Slot  // len a power of two, or 0
	recs  [][]v4Rec // chunks of v4Chunk records
	n     int       // records in use: recs' first n
	hosts int       // records with a host part (hostFull)
	ipids int       // records with a profile (ipid.n > 0)
	// rebuilds counts the fresh starts that moved the records (keep).
	rebuilds uint64
}

// v4Slot is an index slot: an address and its record's reference.
type v4Slot struct {
	addr uint32 // big-endian
	ref  uint32 // 1 + the record's place, | v4Dead; 0: an empty slot
}

// v4Rec is an IPv4 address's record: ipid.addr is the address (ipid.n is
// 0 while it has no profile) and host its SYN or SYN-ACK reference.
type v4Rec struct {
	ipid ipidInfo
	host hostPart
}

// hostPart is a hostInfo packed into 24 bytes: bits holds server, the
// second MAC and whether there is any (hostFull).
type hostPart struct {
	frame uint64
	rtt   time.Duration
	mac   [6]byte
	ttl   uint8
	bits  uint8
}

// hostPart.bits.
const (
	hostFull   = 1 << iota // the part holds a host's entry
	hostServer             // hostInfo.server
	hostMacs2              // hostInfo.macs == 2
)

// Sizes of the IPv4 table.
const (
	v4Dead      = 1 << 31 // v4Slot.ref: the record's profile is dead
	v4ChunkBits = 11
	v4Chunk     = 1 << v4ChunkBits // records per chunk (56 bytes each)
	v4MinSlots  = 1 << 10          // the index's first size
)

// packHost packs i, an entry of the host table.
func packHost(i *hostInfo) hostPart {
	b := uint8(hostFull)
	if i.server {
		b |= hostServer
	}
	if i.macs > 1 {
		b |= hostMacs2
	}
	return hostPart{frame: i.frame, rtt: i.rtt, mac: i.mac, ttl: i.ttl, bits: b}
}

// info unpacks the entry; ok is false for none.
func (hp *hostPart) info() (hostInfo, bool) {
	if hp.bits&hostFull == 0 {
		return hostInfo{}, false
	}
	macs := uint8(1)
	if hp.bits&hostMacs2 != 0 {
		macs = 2
	}
	return hostInfo{frame: hp.frame, rtt: hp.rtt, mac: hp.mac, ttl: hp.ttl, server: hp.bits&hostServer != 0, macs: macs}, true
}

// home is a's first slot (Fibonacci hashing: the product's top bits).
func (t *v4Table) home(a uint32) int {
	return int((uint64(a)*0x9e3779b97f4a7c15)>>32) & (len(t.index) - 1)
}

// slot returns the place of a's index slot: its own, or the empty one
// where it would go. The index must not be empty.
func (t *v4Table) slot(a uint32) int {
	mask := len(t.index) - 1
	i := t.home(a)
	for t.index[i].ref != 0 && t.index[i].addr != a {
		i = (i + 1) & mask
	}
	return i
}

// ref returns a's reference (with v4Dead if its profile is dead), 0 for
// none.
func (t *v4Table) ref(a uint32) uint32 {
	if len(t.index) == 0 {
		return 0
	}
	return t.index[t.slot(a)].ref
}

// at returns the record of reference r (not 0).
func (t *v4Table) at(r uint32) *v4Rec {
	i := int(r&^v4Dead) - 1
	return &t.recs[i>>v4ChunkBits][i&(v4Chunk-1)]
}

// get returns a's record, nil for none. It stays valid until the next
// clearHosts or clearIPIDs.
func (t *v4Table) get(a uint32) *v4Rec {
	if r := t.ref(a); r != 0 {
		return t.at(r)
	}
	return nil
}

// add returns a new, empty record for a, which must have none.
func (t *v4Table) add(a uint32) *v4Rec {
	if 4*(t.n+1) > 3*len(t.index) {
		t.grow()
	}
	if t.n>>v4ChunkBits == len(t.recs) {
		t.recs = append(t.recs, make([]v4Rec, v4Chunk))
	}
	t.n++
	t.index[t.slot(a)] = v4Slot{addr: a, ref: uint32(t.n)}
	r := t.at(uint32(t.n))
	*r = v4Rec{ipid: ipidInfo{addr: a}}
	return r
}

// markDead marks a's profile dead in the index.
func (t *v4Table) markDead(a uint32) {
	if len(t.index) > 0 {
		if s := &t.index[t.slot(a)]; s.ref != 0 {
			s.ref |= v4Dead
		}
	}
}

// grow doubles the index (to v4MinSlots at first).
func (t *v4Table) grow() {
	old := t.index
	t.index = make([]v4Slot, max(v4MinSlots, 2*len(old)))
	for _, s := range old {
		if s.ref != 0 {
			t.index[t.slot(s.addr)] = s
		}
	}
}

// clearHosts removes every host part: Hosts' fresh start past maxHosts
// hosts. Records left with no profile go.
func (t *v4Table) clearHosts() {
	for i := range t.n {
		t.at(uint32(i + 1)).host = hostPart{}
	}
	t.hosts = 0
	t.keep(func(r *v4Rec) bool { return r.ipid.n != 0 })
}

// clearIPIDs removes every profile: the profiles' fresh start past
// maxHosts hosts. Records left with no host part go.
func (t *v4Table) clearIPIDs() {
	for i := range t.n {
		r := t.at(uint32(i + 1))
		r.ipid = ipidInfo{addr: r.ipid.addr}
	}
	t.ipids = 0
	t.keep(func(r *v4Rec) bool { return r.host.bits&hostFull != 0 })
}

// keep keeps the records for which f is true, in their order, and
// rebuilds the index over them (its size unchanged). A rare event: every
// record moves.
func (t *v4Table) keep(f func(*v4Rec) bool) {
	n := 0
	for i := range t.n {
		if r := t.at(uint32(i + 1)); f(r) {
			n++
			*t.at(uint32(n)) = *r
		}
	}
	t.n = n
	t.rebuilds++
	clear(t.index)
	for i := range n {
		r := t.at(uint32(i + 1))
		ref := uint32(i + 1)
		if r.ipid.dead() {
			ref |= v4Dead
		}
		t.index[t.slot(r.ipid.addr)] = v4Slot{addr: r.ipid.addr, ref: ref}
	}
}

// putHost sets a's host part to hp; r is a's record, or nil to look it up.
func (t *v4Table) putHost(a uint32, r *v4Rec, hp hostPart) {
	if r == nil {
		r = t.get(a)
	}
	if r == nil {
		r = t.add(a)
	}
	if r.host.bits&hostFull == 0 {
		t.hosts++
	}
	r.host = hp
}
