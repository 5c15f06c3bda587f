package report

import (
	"cmp"
	"hash/maphash"
	"slices"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// A reset event is the first RST of a connection and the RSTs that follow
// from it (rstanalysis.Verdict.Event): the unit the people formats list and
// count. A first RST that only answers a segment that arrived after its
// connection had ended (late_segment) begins no event: it and its chain
// count apart, as late-segment replies (startsEvent). The book keeps a small record of every event, for the counts, the
// timeline and the first and last time per cause, and the full first RST
// only of the events it may list: per origin and cause the first, the
// latest and a sample spread over the capture (sampler), the event whose
// ladder represents each cause, and the frames asked for by
// Options.Ladders.

// eventRec is what the book keeps of every event: 40 bytes.
type eventRec struct {
	first, last int64 // Unix nanoseconds of the first and the latest RST
	lastFrame   uint64
	rsts        uint32
	origin      rstanalysis.Origin
	cause       rstanalysis.Cause
	confidence  float32
}

// event is a listed (or listable) event: its first RST, copied, and its
// rendering.
type event struct {
	v   rstanalysis.Verdict
	r   row
	rec int // index in book.recs
}

// book gathers the events of a run.
type book struct {
	seed    maphash.Seed
	recs    []eventRec
	index   map[uint64]int32 // event key → recs index
	follow  map[cellKey]int  // follow-up RSTs, by their own origin and cause
	replies map[cellKey]int  // late-segment replies and their chains, by their own origin and cause
	cells   map[cellKey]*sampler
	best    map[rstanalysis.Cause]*event   // each cause's representative: most confident, then first
	asked   map[uint64]*event              // Options.Ladders: frame → its RST
	limit   int                            // Options.maxRows: sample size per cell; -1 keeps all
	frames  map[uint64]map[string][]uint64 // joint reads: event key → input → frames
}

func newBook(opts Options) *book {
	b := &book{seed: maphash.MakeSeed(), index: map[uint64]int32{}, follow: map[cellKey]int{}, replies: map[cellKey]int{},
		cells: map[cellKey]*sampler{}, best: map[rstanalysis.Cause]*event{}, limit: opts.maxRows()}
	if len(opts.Ladders) > 0 {
		b.asked = map[uint64]*event{}
		for _, f := range opts.Ladders {
			b.asked[f] = nil
		}
	}
	return b
}

// eventKey names v's event across inputs.
func (b *book) eventKey(v *rstanalysis.Verdict) uint64 {
	ev, file := v.Event, v.File
	if ev == 0 {
		ev = v.Frame
	}
	if isJoint(v) { // one event across the inputs
		file = ""
	}
	return maphash.Comparable(b.seed, struct {
		file  string
		frame uint64
	}{file, ev})
}

// add takes the next verdict, in capture order, and returns the origin
// and cause of its event (its own for a late-segment reply), and whether
// it begins an event.
func (b *book) add(v *rstanalysis.Verdict) (ev cellKey, starts bool) {
	if want, ok := b.asked[v.Frame]; ok && want == nil {
		b.asked[v.Frame] = newEvent(v, -1)
	}
	k := b.eventKey(v)
	t := v.Time.UnixNano()
	own := cellKey{originOf(v), v.Cause}
	if isJoint(v) {
		b.noteFrame(k, v)
		if i, ok := b.index[k]; ok && repeatSighting(v) { // counted at its first sighting
			if i >= 0 {
				return cellKey{b.recs[i].origin, b.recs[i].cause}, false
			}
			return own, false
		}
	}
	if i, ok := b.index[k]; ok && (isFollower(v) || isJoint(v)) {
		if i < 0 { // a late-segment reply's chain
			b.replies[own]++
			return own, false
		}
		r := &b.recs[i]
		r.rsts++
		r.last, r.lastFrame = max(r.last, t), max(r.lastFrame, v.Frame)
		b.follow[own]++
		return cellKey{r.origin, r.cause}, false
	}
	if !startsEvent(v) {
		b.index[k] = -1
		b.replies[own]++
		if b.best[v.Cause] == nil {
			b.best[v.Cause] = newEvent(v, -1)
		}
		return own, false
	}
	i := len(b.recs)
	b.index[k] = int32(i)
	b.recs = append(b.recs, eventRec{first: t, last: t, lastFrame: v.Frame, rsts: 1, origin: own.origin,
		cause: v.Cause, confidence: float32(confidence(v.Confidence))})
	e := newEvent(v, i)
	s := b.cells[own]
	if s == nil {
		s = newSampler(b.limit)
		b.cells[own] = s
	}
	s.offer(e)
	if cur := b.best[v.Cause]; cur == nil || confidence(v.Confidence) > confidence(cur.v.Confidence) {
		b.best[v.Cause] = e
	}
	return own, true
}

func newEvent(v *rstanalysis.Verdict, rec int) *event {
	e := &event{v: copyVerdict(v), rec: rec}
	e.r = newRow(&e.v)
	return e
}

// copyVerdict copies v deeply enough that the caller may reuse v, its
// findings and its ladder.
func copyVerdict(v *rstanalysis.Verdict) rstanalysis.Verdict {
	c := *v
	c.Findings = make([]rstanalysis.Finding, len(v.Findings))
	for i, f := range v.Findings {
		f.Frames = slices.Clone(f.Frames)
		c.Findings[i] = f
	}
	if v.Ladder != nil {
		l := *v.Ladder
		l.Segments = slices.Clone(v.Ladder.Segments)
		c.Ladder = &l
	}
	return c
}

func originOf(v *rstanalysis.Verdict) rstanalysis.Origin {
	if int(v.Origin) >= len(originOrder) {
		return rstanalysis.OriginUnknown
	}
	return v.Origin
}

// events returns the number of events, of follow-up RSTs and of
// late-segment replies.
func (b *book) events() (events, followUps, replies int) {
	for _, n := range b.follow {
		followUps += n
	}
	for _, n := range b.replies {
		replies += n
	}
	return len(b.recs), followUps, replies
}

// listed returns the events to list, at most limit of them (no cap below
// 0), in capture order: per origin and cause the first, then the latest,
// then spread in time, taking one cell at a time.
func (b *book) listed(limit int) []*event {
	var cands [][]*event
	for _, o := range originOrder {
		for _, c := range rstanalysis.Causes() {
			if s := b.cells[cellKey{o, c}]; s != nil {
				cands = append(cands, s.candidates())
			}
		}
	}
	var out []*event
	chosen := map[*event]bool{}
	full := func() bool { return limit >= 0 && len(out) >= limit }
	for round := 0; !full(); round++ {
		more := false
		for _, cs := range cands {
			if round >= len(cs) {
				continue
			}
			more = true
			if e := cs[round]; !chosen[e] && !full() {
				chosen[e] = true
				out = append(out, e)
			}
		}
		if !more {
			break
		}
	}
	slices.SortFunc(out, func(a, b *event) int { return cmp.Compare(a.rec, b.rec) }) // capture order
	return out
}

// representatives returns each cause's representative event, in the order
// of the causes' first events, then a late-segment reply if any.
func (b *book) representatives() []*event {
	var out []*event
	for _, e := range b.best {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y *event) int {
		if (x.rec < 0) != (y.rec < 0) {
			return cmp.Compare(y.rec, x.rec) // the replies, rec -1, last
		}
		return cmp.Compare(x.rec, y.rec)
	})
	return out
}

// span returns the time of the first and the last event; ok is false when
// there is none.
func (b *book) span() (first, last time.Time, ok bool) {
	if len(b.recs) == 0 {
		return time.Time{}, time.Time{}, false
	}
	lo, hi := b.recs[0].first, b.recs[0].first
	for _, r := range b.recs {
		lo, hi = min(lo, r.first), max(hi, r.first)
	}
	return time.Unix(0, lo).UTC(), time.Unix(0, hi).UTC(), true
}

// sampler keeps the events of one origin and cause the report may list: the
// first, the latest, and every stride-th one, the stride doubling whenever
// the sample would grow past its size, so that the sample stays spread
// over the whole run in bounded memory.
type sampler struct {
	n      int // events offered
	first  *event
	latest *event
	spread []*event
	stride int
	size   int // the most spread keeps; -1: every event
}

func newSampler(limit int) *sampler {
	return &sampler{stride: 1, size: limit}
}

func (s *sampler) offer(e *event) {
	if s.first == nil {
		s.first = e
	}
	s.latest = e
	if s.n%s.stride == 0 {
		s.spread = append(s.spread, e)
		if s.size >= 0 && len(s.spread) > max(s.size, 2) {
			kept := s.spread[:0]
			for i, x := range s.spread {
				if i%2 == 0 {
					kept = append(kept, x)
				}
			}
			clear(s.spread[len(kept):])
			s.spread = kept
			s.stride *= 2
		}
	}
	s.n++
}

// candidates are the events in the order the listing takes them: the
// first, the latest, then the sample by halving (the middle, the quarters,
// the eighths …).
func (s *sampler) candidates() []*event {
	out := []*event{s.first}
	if s.latest != s.first {
		out = append(out, s.latest)
	}
	type span struct{ lo, hi int }
	queue := []span{{0, len(s.spread) - 1}}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if r.lo > r.hi {
			continue
		}
		mid := (r.lo + r.hi) / 2
		if e := s.spread[mid]; e != s.first && e != s.latest {
			out = append(out, e)
		}
		queue = append(queue, span{r.lo, mid - 1}, span{mid + 1, r.hi})
	}
	return out
}
