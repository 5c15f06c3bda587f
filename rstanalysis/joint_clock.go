package rstanalysis

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// pathKey names the path of one connection from the vantage of input from
// to that of input to.
type pathKey struct {
	jc       *jconn
	from, to int
}

// pathStat is what the packets that went from one vantage point to another
// showed of the path: the least difference of their timestamps (the
// one-way delay plus the clocks' offset) and the TTL they lost on the way.
type pathStat struct {
	minD time.Duration
	hops int
}

// bounds on the offset of one input's clock from another's.
type bounds struct {
	lo, hi       time.Duration
	hasLo, hasHi bool
}

// nearer reports whether, on jc, input a is nearer the client than input
// b (1), nearer the server (-1), or cannot be told (0): from the given
// roles, then the TTL of each side's first packet at both (a TTL falls hop
// by hop), then the timing of the packets both captured (each side's
// packets reach the capture nearer it first), then the inferred roles.
func (j *joint) nearer(jc *jconn, a, b int) int {
	if a > b {
		return -j.nearer(jc, b, a)
	}
	k := pathKey{jc, a, b}
	if n, ok := j.order[k]; ok {
		return n
	}
	n := j.orderOf(jc, a, b)
	j.order[k] = n
	return n
}

// orderOf is nearer, uncached.
func (j *joint) orderOf(jc *jconn, a, b int) int {
	ra, rb := roleRank(j.roles[a]), roleRank(j.roles[b])
	if j.given[a] && j.given[b] && ra != rb {
		return sign(rb - ra)
	}
	ca, cb := jc.c[a], jc.c[b]
	if ca == nil || cb == nil {
		return 0
	}
	if ca.hasTTL[Client] && cb.hasTTL[Client] && ca.ttl[Client] != cb.ttl[Client] {
		return sign(int(ca.ttl[Client]) - int(cb.ttl[Client]))
	}
	if ca.hasTTL[Server] && cb.hasTTL[Server] && ca.ttl[Server] != cb.ttl[Server] {
		return sign(int(cb.ttl[Server]) - int(ca.ttl[Server]))
	}
	if n := j.timingOrder(jc, a, b); n != 0 {
		return n
	}
	if ra >= 0 && rb >= 0 && ra != rb {
		return sign(rb - ra)
	}
	return 0
}

// timingOrder tells which of inputs a and b is nearer the client from the
// timestamps of the packets both captured, whatever their clocks' offset:
// with a nearer, b's timestamp minus a's is larger for every client packet
// than for any server packet. 0 when the packets do not go both ways or
// do not tell. It also keeps one such difference (anyD) for sameRST.
func (j *joint) timingOrder(jc *jconn, a, b int) int {
	var minC, maxC, minS, maxS time.Duration
	var nc, ns int
	pairSegs(jc.c[a], jc.c[b], func(sa, sb *traceSeg) {
		d := time.Duration(sb.t - sa.t)
		if _, ok := j.anyD[pathKey{jc, a, b}]; !ok {
			j.anyD[pathKey{jc, a, b}] = d
		}
		if sa.dir == Client {
			minC, maxC = minDur(minC, d, nc > 0), maxDur(maxC, d, nc > 0)
			nc++
		} else {
			minS, maxS = minDur(minS, d, ns > 0), maxDur(maxS, d, ns > 0)
			ns++
		}
	})
	if nc == 0 || ns == 0 {
		return 0
	}
	aFirst, bFirst := minC >= maxS, maxC <= minS
	switch {
	case aFirst && !bFirst:
		return 1
	case bFirst && !aFirst:
		return -1
	}
	return 0
}

// pairSegs calls fn for each ordinary (not RST) segment that ca and cb
// both recorded, identical repeats paired in order.
func pairSegs(ca, cb *traceConn, fn func(sa, sb *traceSeg)) {
	used := make([]bool, len(cb.segs))
	for i := range ca.segs {
		sa := &ca.segs[i]
		if sa.flags&capture.RST != 0 {
			continue
		}
		for k := range cb.segs {
			if sb := &cb.segs[k]; !used[k] && sameSeg(sa, sb) {
				used[k] = true
				fn(sa, sb)
				break
			}
		}
	}
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// travels returns the inputs a packet of side d passes first and second,
// of a and b on jc; ok is false when their order is unknown.
func (j *joint) travels(jc *jconn, a, b int, d Side) (from, to int, ok bool) {
	n := j.nearer(jc, a, b)
	if n == 0 {
		return 0, 0, false
	}
	if (d == Client) == (n > 0) {
		return a, b, true
	}
	return b, a, true
}

// clocks measures the paths between the inputs from the ordinary packets
// two of them captured, bounds each pair's clock offset, and sets each
// input's offset from the first input's.
func (j *joint) clocks() {
	n := len(j.traces)
	pb := make([][]bounds, n)
	for i := range pb {
		pb[i] = make([]bounds, n)
	}
	for _, jc := range j.jconns {
		for a := range n {
			for b := a + 1; b < n; b++ {
				if jc.c[a] != nil && jc.c[b] != nil {
					j.measure(jc, a, b, &pb[a][b])
				}
			}
		}
	}
	j.offsets(pb)
}

// measure pairs the ordinary segments inputs a and b captured of jc,
// records the path each took, and narrows bo, the bounds on b's offset
// from a's.
func (j *joint) measure(jc *jconn, a, b int, bo *bounds) {
	pairSegs(jc.c[a], jc.c[b], func(sa, sb *traceSeg) {
		from, _, ok := j.travels(jc, a, b, sa.dir)
		if !ok {
			return
		}
		d := time.Duration(sb.t - sa.t) // b's timestamp minus a's
		if from == a {                  // offset(b-a) <= d
			bo.hi, bo.hasHi = minDur(bo.hi, d, bo.hasHi), true
			j.path(jc, a, b, d, int(sa.ttl)-int(sb.ttl))
		} else { // offset(b-a) >= d
			bo.lo, bo.hasLo = maxDur(bo.lo, d, bo.hasLo), true
			j.path(jc, b, a, -d, int(sb.ttl)-int(sa.ttl))
		}
	})
}

// path records one packet from input from to input to on jc: d its
// timestamp at to minus at from, hops the TTL it lost.
func (j *joint) path(jc *jconn, from, to int, d time.Duration, hops int) {
	k := pathKey{jc, from, to}
	p := j.paths[k]
	if p == nil {
		j.paths[k] = &pathStat{minD: d, hops: hops}
		return
	}
	p.minD = min(p.minD, d)
}

func minDur(cur, d time.Duration, has bool) time.Duration {
	if !has {
		return d
	}
	return min(cur, d)
}

func maxDur(cur, d time.Duration, has bool) time.Duration {
	if !has {
		return d
	}
	return max(cur, d)
}

// offsets sets each input's offset from the first, walking from the first
// input over pairs with bounds (breadth first); an input no path reaches
// keeps its own clock, with a warning.
func (j *joint) offsets(pb [][]bounds) {
	n := len(j.traces)
	j.off, j.unc, j.align = make([]time.Duration, n), make([]time.Duration, n), make([]bool, n)
	seen := make([]bool, n)
	seen[0], j.align[0] = true, true
	queue := []int{0}
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		for b := range n {
			if seen[b] {
				continue
			}
			bo, neg := pb[min(a, b)][max(a, b)], b < a
			if !bo.hasLo && !bo.hasHi {
				continue
			}
			est, unc, ok := bo.estimate()
			if neg {
				est = -est
			}
			if bo.hasLo && bo.hasHi && bo.lo > bo.hi {
				j.warn(fmt.Sprintf("%s: the packets it shares with %s bound its clock inconsistently (a clock step, or a "+
					"vantage point misplaced: see --vantage); offset taken as the middle", j.name(b), j.name(a)))
			}
			seen[b] = true
			j.off[b], j.unc[b], j.align[b] = j.off[a]+est, j.unc[a]+unc, j.align[a] && ok
			queue = append(queue, b)
		}
	}
	for b := range n {
		if !seen[b] {
			j.warn(fmt.Sprintf("%s: no packet in common with %s to align its clock: its times are compared as recorded",
				j.name(b), j.name(0)))
		} else if !j.align[b] {
			j.warn(fmt.Sprintf("%s: its clock is bounded from one side only: offset %s is a bound, not an estimate",
				j.name(b), j.off[b]))
		}
	}
}

// estimate is the middle of the bounds and half their width; ok is false
// with a bound on one side only (the estimate is then that bound).
func (bo bounds) estimate() (est, unc time.Duration, ok bool) {
	switch {
	case bo.hasLo && bo.hasHi:
		mid := bo.lo + (bo.hi-bo.lo)/2
		unc := (bo.hi - bo.lo) / 2
		if unc < 0 {
			unc = -unc
		}
		return mid, unc, true
	case bo.hasLo:
		return bo.lo, unknownOffset, false
	}
	return bo.hi, unknownOffset, false
}

// unknownOffset is the uncertainty of an offset bounded on one side only.
const unknownOffset = 24 * time.Hour

// at is time t of input i on the first input's clock.
func (j *joint) at(i int, t time.Time) time.Time { return t.Add(-j.off[i]) }

func (j *joint) warn(s string) { j.res.Warnings = append(j.res.Warnings, s) }
