package pipeline

import (
	"context"
	"fmt"
	"time"
)

// StopWithin is how long an interrupted run (its context cancelled,
// without Options.CancelEnds) spends deciding and writing the verdicts
// still pending when the read stopped: a dense burst of RSTs can leave
// hundreds of thousands pending, which take seconds to decide. Those not
// written by then are left out, counted in the summary's warnings. With
// the read's own stop (checkEvery) and the exit of a process that may hold
// gigabytes, it keeps the stop under a second.
const StopWithin = 400 * time.Millisecond

// stopClock is the time now (tests replace it).
var stopClock = time.Now

// flush decides the pending verdicts of the current input at its end: all
// of them, or for an interrupted run those StopWithin allows.
func (r *runner) flush(ctx context.Context) {
	if r.outer == nil || r.outer.Err() == nil || r.opts.CancelEnds || ctx.Err() == nil {
		r.an.Flush()
		return
	}
	deadline := stopClock().Add(StopWithin)
	cut := r.an.FlushBy(func() bool { return !stopClock().Before(deadline) })
	if cut.Undecided > 0 {
		msg := fmt.Sprintf("the stop left %d RSTs undecided, from frame %d on: the report ends before them",
			cut.Undecided, cut.Frame)
		r.logf("warning: %s", msg)
		r.sum.warn(msg)
	}
}
