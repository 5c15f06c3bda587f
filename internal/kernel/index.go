package kernel

import (
	"net/netip"
	"slices"
	"time"
)

// entry is one event held for joining, used once it is joined with a RST.
type entry struct {
	ev   Event
	used bool
}

type tuple struct{ src, dst netip.AddrPort }

// index holds the recent events, by the keys a RST is joined on: its
// 4-tuple; a listener's port (the kernel records a listener's RST with the
// listener's addresses, Dst 0.0.0.0:0); the destination alone, for a RST
// whose source a NAT on this host rewrote (a container's port published
// with DNAT). Each key holds few events, so a lookup scans a short slice.
type index struct {
	fifo     []*entry // oldest first, from head
	head     int
	byTuple  map[tuple][]*entry
	byListen map[uint16][]*entry
	byDst    map[netip.AddrPort][]*entry
	recv     map[tuple][]*entry
}

func newIndex() index {
	return index{byTuple: make(map[tuple][]*entry), byListen: make(map[uint16][]*entry),
		byDst: make(map[netip.AddrPort][]*entry), recv: make(map[tuple][]*entry)}
}

// Len is the number of events held.
func (x *index) Len() int { return len(x.fifo) - x.head }

// add holds ev.
func (x *index) add(ev *Event) {
	e := &entry{ev: *ev}
	x.fifo = append(x.fifo, e)
	x.file(e, true)
}

// oldest is the timestamp of the oldest event held.
func (x *index) oldest() (time.Duration, bool) {
	if x.Len() == 0 {
		return 0, false
	}
	return x.fifo[x.head].ev.Mono, true
}

// dropOldest forgets the oldest event and returns its timestamp.
func (x *index) dropOldest() time.Duration {
	e := x.fifo[x.head]
	x.fifo[x.head] = nil
	x.head++
	x.file(e, false)
	if x.head > 1024 && x.head*2 > len(x.fifo) {
		x.fifo = append(x.fifo[:0], x.fifo[x.head:]...)
		x.head = 0
	}
	return e.ev.Mono
}

// file adds e to the maps it belongs in, or removes it from them.
func (x *index) file(e *entry, add bool) {
	ev := &e.ev
	t := tuple{ev.Src, ev.Dst}
	switch {
	case ev.Kind == KindReceive:
		update(x.recv, t, e, add)
	case ev.Dst.Port() == 0 && ev.Dst.Addr().IsUnspecified():
		update(x.byListen, ev.Src.Port(), e, add)
	default:
		update(x.byTuple, t, e, add)
		update(x.byDst, ev.Dst, e, add)
	}
}

// update adds e to m[k], or removes it.
func update[K comparable](m map[K][]*entry, k K, e *entry, add bool) {
	s := m[k]
	if add {
		m[k] = append(s, e)
		return
	}
	if i := slices.Index(s, e); i >= 0 {
		s = slices.Delete(s, i, i+1)
	}
	if len(s) == 0 {
		delete(m, k)
	} else {
		m[k] = s
	}
}

// nearest returns the unused entry of es whose event is nearest to mono,
// within window, and accepted by ok (nil: any).
func nearest(es []*entry, mono, window time.Duration, ok func(*Event) bool) *entry {
	var best *entry
	var bestD time.Duration
	for _, e := range es {
		if e.used || (ok != nil && !ok(&e.ev)) {
			continue
		}
		d := e.ev.Mono - mono
		if d < 0 {
			d = -d
		}
		if d <= window && (best == nil || d < bestD) {
			best, bestD = e, d
		}
	}
	return best
}
