package pipeline

import (
	"fmt"
	"sync"
	"time"
)

// StopWithin is how long an interrupted run (its context cancelled,
// without Options.CancelEnds) spends deciding and writing the verdicts
// still pending, from the cancel or from the read's end if later: a dense
// burst of RSTs can leave hundreds of thousands pending, which take
// seconds to decide. Those not written by then are left out, counted in
// the summary's warnings. With the read's own stop (checkEvery) and the
// exit of a process that may hold gigabytes, it keeps the stop under a
// second, whether the signal comes during the read or during the final
// decisions.
const StopWithin = 400 * time.Millisecond

// stopClock is the time now (tests replace it).
var stopClock = time.Now

// flush decides the pending verdicts of the current input at its end: all
// of them, unless Run's context is or gets cancelled (without
// Options.CancelEnds): then those StopWithin allows, and the run counts as
// interrupted.
func (r *runner) flush() {
	if r.outer == nil || r.opts.CancelEnds {
		r.an.Flush()
		return
	}
	done := r.outer.Done()
	var once sync.Once
	var deadline time.Time
	cut := r.an.FlushBy(func() bool { // called from the workers too
		select {
		case <-done:
		default:
			return false
		}
		once.Do(func() { deadline = stopClock().Add(StopWithin) })
		return !stopClock().Before(deadline)
	})
	if cut.Undecided > 0 {
		r.cut = true
		msg := fmt.Sprintf("the stop left %d RSTs undecided, from frame %d on: the report ends before them",
			cut.Undecided, cut.Frame)
		r.logf("warning: %s", msg)
		r.sum.warn(msg)
	}
}
