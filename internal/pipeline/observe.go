package pipeline

import (
	"github.com/rstscope/rstscope/rstanalysis"
)

// Observer watches a run from the side, for metrics (package
// internal/metrics): Verdict is called with every verdict before the Sink
// gets it, Counters with the run's counters at every Tick and at the end of
// each input. Both are called from the loop's goroutine and must not keep
// v.
type Observer interface {
	Verdict(v *rstanalysis.Verdict)
	Counters(c Counters)
}

// Counters are what a run has read and tracked so far, in its current
// input: the status line's numbers.
type Counters struct {
	// Frames is the frames read, of every kind; TCP the TCP segments
	// analysed; Dropped the frames the kernel or the interface dropped
	// (pcap_stats).
	Frames, TCP, Dropped uint64
	// Open is the connections tracked now; Evicted and Expired those
	// dropped from the table because it was full, or after their idle
	// timeout.
	Open             int
	Evicted, Expired uint64
	// Pending is the RSTs whose verdict waits for its grace period.
	Pending int
}

// observe gives the counters to the Observer, if any.
func (r *runner) observe() {
	if r.opts.Observer == nil {
		return
	}
	c := &r.counts
	r.opts.Observer.Counters(Counters{Frames: c.frames, TCP: c.tcp, Dropped: c.dropped, Open: c.open,
		Evicted: c.evicted, Expired: c.expired, Pending: c.pending})
}
