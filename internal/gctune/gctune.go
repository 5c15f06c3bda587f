package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// scanned names the runtime/metrics values, in bytes, that GOGC is a
// percentage of: the heap the last collection marked live, and the
// goroutine stacks and globals it scans (Go 1.21+). Since Go 1.18 the heap
// target is live + (live + stacks + globals)·GOGC/100 (runtime/mgcpacer.go).
var scanned = [...]string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// heapMinimum is the runtime's smallest heap target at GOGC=100, in bytes.
const heapMinimum = 4 << 20

// Tuner adjusts GOGC after every garbage collection. Create one with Floor.
type Tuner struct {
	floor   uint64 // bytes of headroom the heap target keeps above the live heap
	percent int    // the lowest GOGC it sets

	mu      sync.Mutex // guards the fields below; cleanups run on one goroutine, Stop and Percent on any
	stopped bool
	sample  [len(scanned)]metrics.Sample
	last    int    // GOGC set after the latest collection
	tuned   uint64 // collections tuned after
}

// Floor sets GOGC to percent and then, after every collection, raises it
// just enough that the next heap target is at least floor bytes above the
// heap that collection found live: GOGC = max(percent, 100·floor/scanned),
// where scanned is the live heap plus the stacks and globals the collector
// scans, which GOGC is a percentage of. The heap therefore peaks at about
// max(live·(1+percent/100), live+floor), or at about floor while scanned
// is under 4 MiB (the runtime's minimum heap target, scaled by GOGC), and
// the collector runs about once per floor bytes allocated while the live
// heap is small, instead of once per percent of it.
//
// It hooks the end of each collection with runtime.AddCleanup on an
// unreachable sentinel, re-armed every cycle, and reads the live heap from
// runtime/metrics; debug.SetGCPercent recomputes the current heap target at
// once. Call Stop to hand GOGC back. Floor panics if floor is 0 or percent
// is not positive.
func Floor(floor uint64, percent int) *Tuner {
	if floor == 0 || percent <= 0 {
		panic("gctune: Floor needs a positive floor and percent")
	}
	t := &Tuner{floor: floor, percent: percent, last: percent}
	for i, name := range scanned {
		t.sample[i].Name = name
	}
	debug.SetGCPercent(percent)
	t.arm()
	return t
}

// sentinel is what the tuner's cleanup hangs on. The pointer field keeps it
// out of the tiny allocator, whose 16-byte blocks are freed only when all
// of their objects are, which would delay the cleanup by cycles.
type sentinel struct {
	_ *byte
	_ [8]byte
}

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(*Tuner) { t.tune() }, t)
}

// tune runs on the runtime's cleanup goroutine after a collection.
func (t *Tuner) tune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	metrics.Read(t.sample[:])
	p := t.percent
	var base uint64
	for _, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			base += s.Value.Uint64()
		}
	}
	// The runtime's heap target is never below 4 MiB·GOGC/100 (heapMinimum
	// in runtime/mgcpacer.go), so a base under 4 MiB counts as 4 MiB: the
	// target is then the floor itself.
	if q := t.floor * 100 / max(base, heapMinimum); q > uint64(p) {
		p = int(min(q, 1<<20))
	}
	if p != t.last {
		debug.SetGCPercent(p)
		t.last = p
	}
	t.tuned++
	t.arm()
}

// Percent returns the GOGC the tuner set last, and how many collections it
// has tuned after.
func (t *Tuner) Percent() (gogc int, cycles uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.tuned
}

// Stop stops tuning and sets GOGC back to the tuner's lowest percent. The
// pending cleanup still runs after the next collection, and does nothing.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.percent)
	t.last = t.percent
}
