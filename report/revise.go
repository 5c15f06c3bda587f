package report

import (
	"hash/maphash"
	"net/netip"
	"strconv"

	"github.com/rstscope/rstscope/rstanalysis"
)

// A revision (rstanalysis.Verdict.Revision above 0) issues again, in a live
// capture, a verdict already written, which evidence learnt later settled:
// the summaries count its RST once, by its latest verdict, and the events
// listed show it. Which event a RST begins or belongs to stays as its first
// issue made it.

// revise updates the book for revision v of a verdict it took before: the
// event's record and its listed copy when v is an event's first RST, the
// counts of follow-ups and late-segment replies otherwise. It returns the
// origin and cause v's event was counted under before and now, and its
// RSTs, when v begins an event (moves is then true); ok is false when the
// book never saw v's event.
func (b *book) revise(v *rstanalysis.Verdict) (was, now cellKey, rsts int, moves, ok bool) {
	i, ok := b.index[b.eventKey(v)]
	if !ok {
		return was, now, 0, false, false
	}
	wasOwn, own := cellKey{clampOrigin(v.Was.Origin), v.Was.Cause}, cellKey{originOf(v), v.Cause}
	switch {
	case i < 0:
		moveCount(b.replies, wasOwn, own)
		return was, now, 0, false, true
	case isFollower(v):
		moveCount(b.follow, wasOwn, own)
		return was, now, 0, false, true
	}
	r := &b.recs[i]
	was = cellKey{r.origin, r.cause}
	r.origin, r.cause, r.confidence = own.origin, own.cause, float32(confidence(v.Confidence))
	if e := b.eventOf(int(i)); e != nil {
		e.v = copyVerdict(v)
		e.r = newRow(&e.v)
		if was.cause != own.cause && b.best[was.cause] == e {
			delete(b.best, was.cause)
		}
		if cur := b.best[v.Cause]; cur == nil || confidence(v.Confidence) > confidence(cur.v.Confidence) {
			b.best[v.Cause] = e
		}
	}
	if e := b.asked[v.Frame]; e != nil && e.rec < 0 && e.v.File == v.File {
		*e = *newEvent(v, -1)
	}
	return was, own, int(r.rsts), true, true
}

// eventOf returns the listable event of record i, nil when the book did
// not keep it.
func (b *book) eventOf(i int) *event {
	for _, s := range b.cells {
		if s.first.rec == i {
			return s.first
		}
		if s.latest.rec == i {
			return s.latest
		}
		for _, e := range s.spread {
			if e.rec == i {
				return e
			}
		}
	}
	for _, e := range b.best {
		if e.rec == i {
			return e
		}
	}
	return nil
}

// moveCount moves one from m[from] to m[to], deleting a count that falls
// to 0.
func moveCount[K comparable, N int | int32](m map[K]N, from, to K) {
	if from == to {
		return
	}
	if m[from]--; m[from] <= 0 {
		delete(m, from)
	}
	m[to]++
}

// decCount takes one from m[k], deleting a count that falls to 0.
func decCount[K comparable](m map[K]int32, k K) {
	if m[k]--; m[k] <= 0 {
		delete(m, k)
	}
}

// connKey is the hash of v's connection in the tally's sets.
func (t *tally) connKey(v *rstanalysis.Verdict) uint64 {
	return maphash.Comparable(t.seed, connKeyOf(v))
}

// clampOrigin is o, or unknown for a value out of range.
func clampOrigin(o rstanalysis.Origin) rstanalysis.Origin {
	if int(o) >= len(originOrder) {
		return rstanalysis.OriginUnknown
	}
	return o
}

// revise counts revision v instead of its earlier issue; was and now are
// the origin and cause its event was counted under, rsts the event's RSTs,
// and moves says whether v begins the event (book.revise).
func (t *tally) revise(v *rstanalysis.Verdict, was, now cellKey, rsts int, moves bool) {
	t.byOrigin[clampOrigin(v.Was.Origin)]--
	t.byOrigin[originOf(v)]++
	moveCount(t.byCause, v.Was.Cause, v.Cause)
	if !moves || was == now {
		return
	}
	ck := t.connKey(v)
	if c := t.cells[was]; c != nil {
		c.events--
		c.rsts -= rsts
		decCount(c.conns, ck)
		decCount(c.servers, v.Server)
		if c.events <= 0 {
			delete(t.cells, was)
		}
	}
	c := t.cells[now]
	if c == nil {
		c = &cellTally{conns: make(map[uint64]int32), servers: make(map[netip.AddrPort]int32)}
		t.cells[now] = c
	}
	c.events++
	c.rsts += rsts
	c.conns[ck]++
	c.servers[v.Server]++
	if s := t.servers[v.Server]; s != nil {
		s.byOrigin[was.origin]--
		s.byOrigin[now.origin]++
		moveCount(s.byCause, was.cause, now.cause)
	}
}

// retake counts and books revision v (sheet.take); in stream mode it
// returns v's row for the caller to print now.
func (s *sheet) retake(v *rstanalysis.Verdict) (r row, now bool) {
	was, to, rsts, moves, ok := s.book.revise(v)
	if !ok {
		return row{}, false
	}
	s.tally.revise(v, was, to, rsts, moves)
	if s.opts.Stream {
		return newRow(v), true
	}
	frame := strconv.FormatUint(v.Frame, 10)
	for i := range s.rows {
		if s.rows[i].frame == frame && s.rows[i].file == v.File {
			s.rows[i] = newRow(v)
		}
	}
	return row{}, false
}

// revisedText is the line that shows revision v, r its row:
// "revised: frame 7 10.0.0.1:5000 → 10.0.0.2:80 now server 0.72 refused
// (was unknown): TTL 128 …".
func revisedText(v *rstanalysis.Verdict, r *row) string {
	head := "revised"
	if v.Revision > 1 {
		head += " (" + strconv.Itoa(v.Revision) + ")"
	}
	line := head + ": frame " + r.frame + " " + r.client + " → " + r.server + " now " + r.origin + " " + r.conf +
		" " + r.cause + " (was " + clampOrigin(v.Was.Origin).String()
	if v.Was.Cause != v.Cause {
		line += " " + v.Was.Cause.String()
	}
	line += ")"
	if len(r.texts) > 0 {
		line += ": " + r.texts[0]
	}
	return line
}
