package rstanalysis

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Confidences of the joint judgements: a packet seen leaving its sender, or
// missing from a capture that covers the moment, is proof; a connection
// that never reached the far capture nearly so; a TTL that does not fit the
// hops is strong evidence, not proof (a stack may use another TTL for its
// RSTs).
const (
	proofConfidence = 0.99
	// nearHostConfidence: seen leaving at a capture 0 hops from the
	// sender that was not said to be on its host (--vantage).
	nearHostConfidence = 0.9
	unseenConfidence   = 0.95
	// unalignedConfidence is connUnseen's when the clocks could not be
	// aligned and the times were compared as recorded.
	unalignedConfidence = 0.8
	hopsConfidence      = 0.75
)

// kind is a joint judgement in terms of the claimed sender.
type kind uint8

const (
	kindUnknown kind = iota
	kindSender
	kindMiddlebox
)

// kindOf is what v's single-capture origin says.
func kindOf(v *Verdict) kind {
	switch v.Origin {
	case OriginMiddlebox:
		return kindMiddlebox
	case OriginUnknown:
		return kindUnknown
	}
	return kindSender
}

// originFor is the origin of judgement k for a verdict claimed from v.From.
func originFor(k kind, v *Verdict) Origin {
	switch k {
	case kindSender:
		return OriginOf(v.From)
	case kindMiddlebox:
		return OriginMiddlebox
	}
	return OriginUnknown
}

// judgement is what judge decides for one RST packet.
type judgement struct {
	k      kind
	conf   float64
	fs     []Finding
	cover  int // the input nearer the sender that covers the moment; -1: none
	proven bool
}

// judge decides RST packet g once, with every input's evidence, and
// writes the decision into every sighting's verdict.
func (j *joint) judge(g *rstGroup) {
	if g.jc == nil {
		for _, s := range g.sights {
			s.v.Sightings = []Sighting{{File: s.v.File, Frame: s.v.Frame}}
		}
		return
	}
	jd := judgement{cover: -1}
	j.seenLeaving(g, &jd)
	if jd.k == kindUnknown {
		j.absent(g, &jd)
	}
	if jd.k == kindUnknown {
		j.connUnseen(g, &jd)
	}
	j.hopsMismatch(g, &jd)
	j.lost(g, &jd)
	base := j.base(g, jd.k)
	if !jd.proven {
		switch bk := kindOf(base.v); {
		case jd.k == kindMiddlebox && bk != kindMiddlebox:
			jd.conf = hopsConfidence
		case jd.k == kindMiddlebox || jd.k == kindUnknown:
			jd.k, jd.conf = bk, base.v.Confidence
		}
	}
	cause := j.cause(g, jd, base)
	fs := slices.Clone(jd.fs)
	carried := base.v.Findings
	prefix := "[" + j.name(base.in) + "] "
	for _, f := range carried {
		if !strings.HasPrefix(f.Text, "[") {
			f.Text = prefix + f.Text
		}
		fs = append(fs, f)
	}
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmpAbs(b.Weight, a.Weight) })
	sights := make([]Sighting, len(g.sights))
	for i, s := range g.sights {
		sights[i] = Sighting{File: s.v.File, Frame: s.v.Frame}
	}
	for _, s := range g.sights {
		v := s.v
		v.Origin = originFor(jd.k, v)
		v.Confidence = jd.conf
		if jd.k == kindUnknown {
			v.Confidence = 0
		}
		v.Cause = cause
		v.Findings = fs
		v.Sightings = sights
		v.Conn = g.jc.id
	}
}

func cmpAbs(a, b float64) int {
	a, b = max(a, -a), max(b, -b)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seenLeaving: a sighting in the claimed sender's own capture proves it
// sent the RST.
func (j *joint) seenLeaving(g *rstGroup, jd *judgement) {
	for _, s := range g.sights {
		if !j.atHost(g.jc, s.in, g.dir) {
			continue
		}
		if j.given[s.in] {
			jd.k, jd.conf, jd.proven = kindSender, proofConfidence, true
			jd.fs = append(jd.fs, Finding{Rule: RuleJointSeenLeaving, Weight: -decisive, Text: fmt.Sprintf(
				"proof: the %s host's own capture (%s) shows this RST leaving it at frame %d: the %s sent it",
				g.dir, j.name(s.in), s.v.Frame, g.dir)})
			return
		}
		// Inferred from the hops: 0 hops is the host or its link.
		jd.k, jd.conf = kindSender, nearHostConfidence
		jd.fs = append(jd.fs, Finding{Rule: RuleJointSeenLeaving, Weight: -strong, Text: fmt.Sprintf(
			"%s, where the %s's packets arrive unrouted (its host, or its link), shows this RST leaving "+
				"toward the other end at frame %d: the %s sent it, unless a device on its link did "+
				"(--vantage %s=%s makes this a proof)", j.name(s.in), g.dir, s.v.Frame, g.dir, j.name(s.in), g.dir)})
		return
	}
	for _, s := range g.sights {
		for _, r := range g.sights {
			if from, _, ok := j.travels(g.jc, s.in, r.in, g.dir); ok && from == s.in && s.in != r.in {
				jd.fs = append(jd.fs, Finding{Rule: RuleJointSeenPassing, Weight: -moderate, Text: fmt.Sprintf(
					"seen at %s (frame %d), nearer the %s than %s (frame %d): not made between those two captures",
					j.name(s.in), s.v.Frame, g.dir, j.name(r.in), r.v.Frame)})
				return
			}
		}
	}
}

// absent: a capture nearer the claimed sender than a sighting, that
// covers the moment the RST would have passed it and holds no such RST,
// proves it was made between the two.
func (j *joint) absent(g *rstGroup, jd *judgement) {
	for _, r := range g.sights {
		for f, cf := range g.jc.c {
			if cf == nil || g.has(f) {
				continue
			}
			if from, _, ok := j.travels(g.jc, f, r.in, g.dir); !ok || from != f {
				continue
			}
			hi, ok := j.passBy(g.jc, f, r.in, r.v.Time)
			tf := j.traces[f]
			if !ok || tf.Dropped > 0 || cf.start().After(hi) || tf.Last.Before(hi) {
				continue
			}
			who := fmt.Sprintf("the %s's side", g.dir)
			if j.atHost(g.jc, f, g.dir) {
				who = fmt.Sprintf("the %s host's own capture", g.dir)
			}
			text := fmt.Sprintf("proof: %s (%s) holds the connection and ran past the moment this RST would have "+
				"passed it, and holds no such RST: it was made between %s and %s", who, j.name(f), j.name(f), j.name(r.in))
			if cf.sends[g.dir].After(hi) {
				text += fmt.Sprintf(", and the %s kept sending after it", g.dir)
			}
			jd.k, jd.conf, jd.proven, jd.cover = kindMiddlebox, proofConfidence, true, f
			jd.fs = append(jd.fs, Finding{Rule: RuleJointAbsent, Weight: decisive, Text: text})
			return
		}
	}
}

// has reports whether input i sighted g.
func (g *rstGroup) has(i int) bool {
	for _, s := range g.sights {
		if s.in == i {
			return true
		}
	}
	return false
}

// connUnseen: the connection reached no capture on the claimed sender's
// side (its SYN never showed there) while that capture ran, on the aligned
// clock, around the RST: made between.
func (j *joint) connUnseen(g *rstGroup, jd *judgement) {
	if g.jc.inputs() != 1 {
		return
	}
	r := g.sights[0]
	for f, tf := range j.traces {
		if f == r.in || tf.Dropped > 0 || tf.First.IsZero() {
			continue
		}
		// f must be nearer the claimed sender than r.
		if n := j.inputNearer(r.in, f); n == 0 || g.dir == Server && n < 0 || g.dir == Client && n > 0 {
			continue
		}
		if !j.ranAcross(r.in, f, g.jc.c[r.in].start()) {
			continue
		}
		what := "connection"
		if c := g.jc.c[r.in]; c.hasISN[Client] {
			what = "client's SYN"
		}
		text := fmt.Sprintf("the %s never appears in %s, the %s-side capture, which ran from before this RST to "+
			"after it: the RST came from between", what, j.name(f), g.dir)
		conf := unseenConfidence
		if !j.align[f] || !j.align[r.in] {
			conf = unalignedConfidence
			text += " (if the clocks agree: no packet in common aligned them)"
		}
		jd.k, jd.conf, jd.proven, jd.cover = kindMiddlebox, conf, true, f
		jd.fs = append(jd.fs, Finding{Rule: RuleJointConnUnseen, Weight: decisive, Text: text})
		return
	}
}

// inputNearer says which of inputs a and b is nearer the client: > 0 a,
// < 0 b, 0 unknown. Their roles tell when their ranks differ; otherwise
// (two captures on the path, say) the connections both captured do, by
// a majority of nearer.
func (j *joint) inputNearer(a, b int) int {
	if ra, rb := roleRank(j.roles[a]), roleRank(j.roles[b]); ra >= 0 && rb >= 0 && ra != rb {
		return sign(rb - ra)
	}
	if a > b {
		return -j.inputNearer(b, a)
	}
	k := [2]int{a, b}
	if n, ok := j.inputOrder[k]; ok {
		return n
	}
	votes := 0
	for _, jc := range j.jconns {
		if jc.c[a] != nil && jc.c[b] != nil {
			votes += j.nearer(jc, a, b)
		}
	}
	if j.inputOrder == nil {
		j.inputOrder = map[[2]int]int{}
	}
	j.inputOrder[k] = sign(votes)
	return sign(votes)
}

// ranAcross reports whether input f's capture ran from before a packet
// that input r recorded at t (r's clock) could have reached it to well
// after: on the fastest path between the two that the matched connections
// showed, else on the aligned clocks (on the recorded times when they
// could not be aligned).
func (j *joint) ranAcross(r, f int, t time.Time) bool {
	tf := j.traces[f]
	if p, ok := j.fastest(r, f); ok {
		return !tf.First.After(t.Add(p.early)) && !tf.Last.Before(t.Add(p.fast+pathLag))
	}
	at := j.at(r, t)
	u := j.unc[f] + j.unc[r]
	return !j.at(f, tf.First).After(at.Add(-u)) && !j.at(f, tf.Last).Before(at.Add(u+pathLag))
}

// pairPath is what the paths of every connection from input r to input f
// showed together: the earliest arrival they allow and the fastest delay.
type pairPath struct {
	early, fast time.Duration
	found       bool
}

// fastest returns the pairPath from input r to input f, worked out once.
func (j *joint) fastest(r, f int) (pairPath, bool) {
	if j.pairs == nil {
		j.pairs = map[[2]int]pairPath{}
		for k, p := range j.paths {
			pp := j.pairs[[2]int{k.from, k.to}]
			e := p.minD - j.jitter(k.jc, k.from, k.to)
			pp.early, pp.fast = minDur(pp.early, e, pp.found), minDur(pp.fast, p.minD, pp.found)
			pp.found = true
			j.pairs[[2]int{k.from, k.to}] = pp
		}
	}
	p := j.pairs[[2]int{r, f}]
	return p, p.found
}

// hopsMismatch: a RST seen only at the receiver's side whose TTL is not
// the sender's TTL less the hops the path between the captures takes.
func (j *joint) hopsMismatch(g *rstGroup, jd *judgement) {
	if jd.k == kindSender {
		return
	}
	for _, r := range g.sights {
		for f, cf := range g.jc.c {
			if cf == nil || g.has(f) || !cf.hasTTL[g.dir] || r.seg == nil {
				continue
			}
			p := j.paths[pathKey{g.jc, f, r.in}]
			if p == nil {
				continue
			}
			want := int(cf.ttl[g.dir]) - p.hops
			if int(r.seg.ttl) == want {
				continue
			}
			if jd.k == kindUnknown {
				jd.k, jd.conf = kindMiddlebox, hopsConfidence
			}
			jd.fs = append(jd.fs, Finding{Rule: RuleJointHops, Weight: strong, Text: fmt.Sprintf(
				"TTL %d at %s, where the %s's packets leave %s with TTL %d and arrive %d hop(s) later at %s (TTL %d): "+
					"the RST did not come from the %s", r.seg.ttl, j.name(r.in), g.dir, j.name(f), cf.ttl[g.dir],
				p.hops, j.name(r.in), want, g.dir)})
			return
		}
	}
}

// lostAfter is how long after a RST should have reached a capture that
// capture must have run to prove it never arrived.
const lostAfter = 100 * time.Millisecond

// lost: seen at a capture nearer the sender, never at one nearer the
// receiver that ran past its arrival: lost on the path (a hang there).
func (j *joint) lost(g *rstGroup, jd *judgement) {
	for _, s := range g.sights {
		for r, cr := range g.jc.c {
			if cr == nil || g.has(r) {
				continue
			}
			from, _, ok := j.travels(g.jc, s.in, r, g.dir)
			p := j.paths[pathKey{g.jc, s.in, r}]
			tr := j.traces[r]
			if !ok || from != s.in || p == nil || tr.Dropped > 0 || tr.Last.Before(s.v.Time.Add(p.minD+pathLag+lostAfter)) {
				continue
			}
			jd.fs = append(jd.fs, Finding{Rule: RuleJointLost, Weight: 0, Text: fmt.Sprintf(
				"seen at %s (frame %d) but never at %s, which ran well past its arrival: lost on the path, "+
					"so the %s never got it (a hang there)", j.name(s.in), s.v.Frame, j.name(r), g.dir.Peer())})
			return
		}
	}
}

// base picks the sighting whose single-capture judgement the packet
// carries: one that agrees with the joint judgement k, nearest the claimed
// sender's host, else the most confident.
func (j *joint) base(g *rstGroup, k kind) sight {
	best := g.sights[0]
	score := func(s sight) float64 {
		x := s.v.Confidence
		if k != kindUnknown && kindOf(s.v) == k {
			x += 2
		}
		if j.atHost(g.jc, s.in, g.dir) {
			x++
		}
		return x
	}
	for _, s := range g.sights[1:] {
		if score(s) > score(best) {
			best = s
		}
	}
	return best
}
