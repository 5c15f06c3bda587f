package rstanalysis

import "time"

// Cut is what a flush with a deadline (FlushBy) left out: the RSTs whose
// verdicts it did not emit. The zero Cut means none: the flush emitted
// every verdict, as Flush does.
type Cut struct {
	// Undecided is the number of RSTs whose verdicts were not emitted.
	Undecided int
	// Frame is the frame of the first of them: every verdict emitted is of
	// an earlier frame, every one left out of this frame or a later one.
	Frame uint64
}

// add takes in the Cut of a part of the analysis (a worker's).
func (c *Cut) add(o Cut) {
	if o.Undecided == 0 {
		return
	}
	if c.Undecided == 0 || o.Frame < c.Frame {
		c.Frame = o.Frame
	}
	c.Undecided += o.Undecided
}

// FlushBy is Flush for a run being stopped, with a deadline: it decides
// and emits the pending verdicts in capture order, each with its
// connection as it now is, and asks expired before each one. Once expired
// reports true it stops: the verdicts not yet emitted are dropped without
// being decided, and the Cut says how many and from which frame. The work
// after the deadline does not grow with the verdicts dropped. While expired
// reports false, the verdicts are those Flush emits. expired must be safe
// for concurrent use (Sharded's workers call it too).
func (a *Analyzer) FlushBy(expired func() bool) Cut {
	a.stepAhead()
	cut := a.releaseBy(expired)
	if cut.Undecided == 0 {
		a.Flush() // nothing is pending: this ends the connections
		return cut
	}
	if a.hs != nil { // the verdicts before the cut held for hindsight: at most maxHeld
		a.hs.advance(time.Time{}, 0)
	}
	return cut
}

// releaseBy decides and emits the verdicts of the queue in capture order
// until expired reports true.
func (a *Analyzer) releaseBy(expired func() bool) Cut {
	for a.head < len(a.queue) {
		if expired() {
			return Cut{Undecided: len(a.queue) - a.head, Frame: a.queue[a.head].v.Frame}
		}
		pd := a.queue[a.head]
		if !pd.final {
			c := pd.conn
			if c.Gen() != pd.gen {
				c = nil
			}
			pd.finalize(c, a.cfg.Hindsight > 0, a.cfg.Witness)
		}
		a.queue[a.head] = nil
		a.head++
		a.hand(pd)
	}
	a.queue, a.head = a.queue[:0], 0
	return Cut{}
}

// FlushBy is Analyzer.FlushBy for the workers: each decides its pending
// verdicts in capture order until expired reports true, and the verdicts
// are merged and emitted in capture order until then; the Cut counts every
// RST whose verdict was not emitted, from the earliest frame any part of
// the analysis left out (none of a later frame is emitted).
func (s *Sharded) FlushBy(expired func() bool) Cut {
	s.expired = expired // read by the workers after their channel is closed
	s.Flush()
	for i, q := range s.queued { // what the merge held back past the cut
		for j, chunk := range q {
			from := 0
			if j == 0 {
				from = s.next[i]
			}
			s.cut.add(Cut{Undecided: len(chunk) - from, Frame: chunk[from].Frame})
		}
		s.queued[i], s.next[i] = nil, 0
	}
	return s.cut
}

// flushWorker flushes worker a at the end of the input, with the deadline
// of FlushBy if any.
func (s *Sharded) flushWorker(a *Analyzer) Cut {
	if s.expired == nil {
		a.Flush()
		return Cut{}
	}
	return a.FlushBy(s.expired)
}

// flushLocal flushes local, the caller's goroutine's share, with the
// deadline of FlushBy if any. While it decides against a deadline it
// merges, every flushChunk verdicts, what it and the workers have decided
// so far, so that the report moves on in capture order from the start
// instead of waiting for local's whole share.
func (s *Sharded) flushLocal() Cut {
	if s.expired == nil {
		s.local.Flush()
		return Cut{}
	}
	n := 0
	return s.local.FlushBy(func() bool {
		if n++; n%flushChunk == 0 {
			s.mergeLocal(false, Cut{})
			for len(s.results) > 0 {
				s.merge(<-s.results) // only this goroutine receives
			}
		}
		return s.expired()
	})
}

// stopMerge reports whether the merge must emit nothing from frame f on:
// FlushBy's cut, or its deadline now passed.
func (s *Sharded) stopMerge(f uint64) bool {
	if s.cut.Undecided > 0 && f >= s.cut.Frame || s.stopped {
		return true
	}
	if s.expired != nil && s.expired() {
		s.stopped = true
		return true
	}
	return false
}

// shardOut gathers a worker's verdicts. In the final flush it sends them
// on in chunks of flushChunk, so that the merge writes them while the
// worker decides the rest, instead of growing one slice of them all.
type shardOut struct {
	s        *Sharded
	worker   int
	v        []Verdict
	flushing bool
	lend     bool // Config.Lend: the verdicts' Findings and Ladders are copied into the chunk's memory (keep)
}

// flushChunk is how many verdicts a worker sends at once in its final flush
// (48 KiB of them). The merge hands the chunks back through spare; with
// 1,024 a chunk and the copies it grew through took 768 KiB, and the peak
// RSS of a flush of some 6,000 waiting verdicts rose 6-7 MiB instead of 4.
const flushChunk = 128

func (o *shardOut) add(v *Verdict) {
	if o.flushing && cap(o.v) < flushChunk {
		// Room for a whole chunk at once, not a chain of ever larger copies.
		o.v = append(make([]Verdict, 0, flushChunk), o.v...)
	}
	o.v = keep(o.v, v, o.lend)
	if o.flushing && len(o.v) >= flushChunk { // the flush emits in capture order
		o.s.results <- result{worker: o.worker, verdicts: o.v, watermark: v.Frame + 1}
		o.v = nil
		select {
		case o.v = <-o.s.spare:
		default:
		}
	}
}
