package rstanalysis

// keep appends to vs a copy of v. When v's Findings and Ladder are lent
// (Config.Lend), the copy gets its own, in the memory that the slot past
// len(vs) held for an earlier verdict, if any: the chunks of verdicts
// Sharded's workers send to the merge come back to them (Sharded.spare),
// and that memory with them, once the merge has emitted their verdicts,
// lent in turn.
func keep(vs []Verdict, v *Verdict, lent bool) []Verdict {
	if !lent {
		return append(vs, *v)
	}
	n := len(vs)
	if n == cap(vs) { // keep the memory of every slot
		grown := make([]Verdict, n, max(2*n, 16))
		copy(grown, vs)
		vs = grown
	}
	vs = vs[:n+1]
	d := &vs[n]
	lad, fins := d.Ladder, d.Findings
	*d = *v
	ownLent(d, lad, fins)
	return vs
}

// ownLent points v's Ladder and Findings, lent, at copies of them in the
// memory of lad and fins (new memory where nil or too small), and returns
// that memory for the next verdict.
func ownLent(v *Verdict, lad *Ladder, fins []Finding) (*Ladder, []Finding) {
	if l := v.Ladder; l != nil {
		if lad == nil {
			lad = &Ladder{}
		}
		segs := append(lad.Segments[:0], l.Segments...)
		*lad = *l
		lad.Segments = segs
		v.Ladder = lad
	}
	if v.Findings != nil {
		if fins = append(fins[:0], v.Findings...); fins == nil {
			fins = []Finding{}
		}
		v.Findings = fins
	}
	return lad, fins
}

// spareChunk returns a chunk the merge is done with, with the memory of
// its verdicts' Findings and Ladders, or nil when none is at hand.
func (s *Sharded) spareChunk() []Verdict {
	select {
	case c := <-s.spare:
		return c
	default:
		return nil
	}
}
