package rstanalysis

import (
	"slices"
	"time"
)

// rstGroup is one RST packet: its sightings in the inputs, and the joint
// judgement of it.
type rstGroup struct {
	jc     *jconn // nil: the RST's connection was not traced
	dir    Side   // the claimed sender, in jc's sides
	sights []sight
	t      time.Time // the earliest sighting, on the first input's clock
}

// sight is one input's record of a RST packet.
type sight struct {
	in  int
	seg *traceSeg // nil when not traced
	v   *Verdict
}

// Tolerances of the path: how much sooner than the fastest packet on a
// path a packet may arrive (clock jitter, queues that emptied), and how
// much later (queues).
const (
	pathJitter = 2 * time.Millisecond
	pathLag    = time.Second
)

// sightings finds the records of each RST packet in every input: the same
// connection, direction, flags, seq and ack (and IPv4 ID), a TTL that lost
// the hops the path takes, and a time the path allows; identical repeated
// RSTs pair in order. It returns one group per packet, verdicts the
// traces do not hold each alone.
func (j *joint) sightings(verdicts [][]*Verdict) []*rstGroup {
	parent := map[rstNode]rstNode{}
	var find func(x rstNode) rstNode
	find = func(x rstNode) rstNode {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	j.pairRSTs(func(a, b rstNode) { parent[find(b)] = find(a) })
	var groups []*rstGroup
	byRoot := map[any]*rstGroup{}
	traced := make([]map[uint64]bool, len(j.traces))
	for _, jc := range j.jconns {
		for i, c := range jc.c {
			if c == nil {
				continue
			}
			if traced[i] == nil {
				traced[i] = map[uint64]bool{}
			}
			for k := range c.rsts {
				seg := &c.rsts[k]
				v := j.byFile[i][seg.frame]
				if v == nil {
					continue
				}
				traced[i][seg.frame] = true
				r := find(rstNode{i, k})
				key := struct {
					jc   *jconn
					root rstNode
				}{jc, r}
				g := byRoot[key]
				if g == nil {
					g = &rstGroup{jc: jc, dir: seg.dir}
					byRoot[key] = g
					groups = append(groups, g)
				}
				g.sights = append(g.sights, sight{in: i, seg: seg, v: v})
			}
		}
	}
	for i, vs := range verdicts {
		for _, v := range vs {
			if !traced[i][v.Frame] {
				groups = append(groups, &rstGroup{dir: v.From, sights: []sight{{in: i, v: v}}})
			}
		}
	}
	for _, g := range groups {
		slices.SortFunc(g.sights, func(x, y sight) int { return x.in - y.in })
		for _, s := range g.sights {
			if t := j.at(s.in, s.v.Time); g.t.IsZero() || t.Before(g.t) {
				g.t = t
			}
		}
	}
	return groups
}

// rstNode is the RST at index idx of its connection's trace in input in.
type rstNode struct {
	in, idx int
}

// pairRSTs calls union for each pair of RSTs two inputs recorded of one
// connection that are one packet, pairing identical repeats in order.
func (j *joint) pairRSTs(union func(a, b rstNode)) {
	for _, jc := range j.jconns {
		for a := range jc.c {
			for b := a + 1; b < len(jc.c); b++ {
				if jc.c[a] == nil || jc.c[b] == nil {
					continue
				}
				ca, cb := jc.c[a], jc.c[b]
				used := make([]bool, len(cb.rsts))
				for ia := range ca.rsts {
					for ib := range cb.rsts {
						if !used[ib] && j.sameRST(jc, a, b, &ca.rsts[ia], &cb.rsts[ib]) {
							used[ib] = true
							union(rstNode{a, ia}, rstNode{b, ib})
							break
						}
					}
				}
			}
		}
	}
}

// sameRST reports whether RSTs ra of input a and rb of input b, on jc, are
// one packet.
func (j *joint) sameRST(jc *jconn, a, b int, ra, rb *traceSeg) bool {
	if !sameRSTFields(ra, rb) {
		return false
	}
	if from, to, ok := j.travels(jc, a, b, ra.dir); ok {
		if p := j.paths[pathKey{jc, from, to}]; p != nil {
			sf, st := senderFirst(from == b, ra, rb)
			d := time.Duration(st.t - sf.t)
			return int(sf.ttl)-int(st.ttl) == p.hops && d >= p.minD-j.jitter(jc, from, to) && d <= p.minD+pathLag
		}
	}
	if !j.align[a] || !j.align[b] {
		// No clock: near a packet both saw, on its timestamps' offset.
		d0, ok := j.anyD[pathKey{jc, a, b}]
		d := time.Duration(rb.t-ra.t) - d0
		return ok && j.hopsFit(jc, a, b, ra, rb) && d >= -pathLag && d <= pathLag
	}
	dt := j.at(b, time.Unix(0, rb.t)).Sub(j.at(a, time.Unix(0, ra.t)))
	u := j.unc[a] + j.unc[b] + pathLag
	return dt >= -u && dt <= u
}

// hopsFit reports whether RSTs ra of input a and rb of input b, on jc,
// have TTLs one packet could have: equal (the two captures on one link),
// or, when the packets the other way showed the hops between the two
// vantage points, fewer by those hops at the capture farther from the
// sender (a path is most often as long both ways). It serves where no
// packet of the RST's own direction measured the path: a refusal, whose
// only packet from the server is the RST.
func (j *joint) hopsFit(jc *jconn, a, b int, ra, rb *traceSeg) bool {
	if ra.ttl == rb.ttl {
		return true
	}
	from, to, ok := j.travels(jc, a, b, ra.dir)
	if !ok {
		return false
	}
	back := j.paths[pathKey{jc, to, from}]
	if back == nil {
		return false
	}
	sf, st := senderFirst(from == b, ra, rb)
	return int(sf.ttl)-int(st.ttl) == back.hops
}

// sameRSTFields reports whether RSTs ra and rb carry the same direction,
// flags, seq, ack and (where both have one) IPv4 ID.
func sameRSTFields(ra, rb *traceSeg) bool {
	return ra.dir == rb.dir && ra.flags == rb.flags && ra.seq == rb.seq && ra.ack == rb.ack &&
		(!ra.hasIPID || !rb.hasIPID || ra.ipid == rb.ipid)
}

// senderFirst returns ra and rb in the order the packet passed them: rb
// first when swap (its capture is nearer the sender).
func senderFirst(swap bool, ra, rb *traceSeg) (first, then *traceSeg) {
	if swap {
		return rb, ra
	}
	return ra, rb
}

// jitter is how much sooner than the fastest packet from input from to
// input to on jc a packet may arrive: pathJitter and an eighth of the
// round trip between the two vantage points, which the clocks' offset
// does not change.
func (j *joint) jitter(jc *jconn, from, to int) time.Duration {
	there, back := j.paths[pathKey{jc, from, to}], j.paths[pathKey{jc, to, from}]
	if there == nil || back == nil {
		return pathJitter
	}
	return pathJitter + max(there.minD+back.minD, 0)/8
}

// passBy returns the latest time, on input f's clock, at which a packet
// of side d that input r recorded at t could have passed f on jc; ok is
// false when neither the path nor the clocks tell.
func (j *joint) passBy(jc *jconn, f, r int, t time.Time) (time.Time, bool) {
	if p := j.paths[pathKey{jc, f, r}]; p != nil {
		return t.Add(-p.minD + j.jitter(jc, f, r)), true
	}
	if j.align[f] && j.align[r] {
		return t.Add(-j.off[r] + j.off[f] + j.unc[f] + j.unc[r]), true
	}
	return time.Time{}, false
}
