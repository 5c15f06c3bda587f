package rstanalysis

import "time"

// Tick emits the verdicts whose grace period has passed at time now, as
// Packet does before it looks at a packet. A live capture calls it
// periodically with the wall-clock time, so that verdicts become final on a
// quiet interface too: Packet moves capture time on only when a packet
// arrives. Live capture timestamps come from the kernel's wall clock, so
// time.Now is on the same scale; a now before the newest packet's time
// emits nothing that Packet would not. A zero now does nothing (Flush
// decides everything).
func (a *Analyzer) Tick(now time.Time) {
	if now.IsZero() {
		return
	}
	a.release(now)
	if a.hs != nil {
		a.hs.advance(now, 0)
	}
}

// Pending is the number of RSTs seen whose verdict has not been emitted yet.
func (a *Analyzer) Pending() int {
	n := len(a.queue) - a.head
	if a.hs != nil {
		n += a.hs.waiting()
	}
	return n
}
