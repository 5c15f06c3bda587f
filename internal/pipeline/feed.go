package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/rstscope/rstscope/capture"
)

// item carries one segment from a feed to the loop.
type item struct {
	p        capture.Packet
	frame    []byte // the raw frame, with Options.Save
	ci       gopacket.CaptureInfo
	stats    capture.Stats // the Source's counters, when hasStats
	hasStats bool
	err      error // the Source ended: io.EOF, or why it failed
}

// feed hands the loop the segments of one Source. next returns io.EOF at
// the end of the input, errStopped when the run stops (its context is done
// or the report cannot be written), or why the Source failed;
// the item is the loop's until the next call. After close the Source is
// no longer read: its counters are final.
type feed interface {
	next() (*item, error)
	close()
}

// errStopped ends a feed that the run stopped before its Source's end.
var errStopped = errors.New("stopped")

const (
	// checkEvery is how many packets a direct feed reads between looks at
	// the context, the sink and the progress bar: rarely enough to cost
	// nothing per packet, often enough that a cancel stops even a dense
	// RST flood (some 20 to 40 µs a RST) within a few hundredths of a
	// second, leaving the rest of a second to StopWithin.
	checkEvery = 1 << 10
	// statsEvery is how often, in capture time, the capture goroutine
	// samples the Source's counters for the status line (pcap_stats is a
	// system call).
	statsEvery = 500 * time.Millisecond
)

func (r *runner) newFeed(ctx context.Context, name string, src Source) feed {
	var frames capture.FrameSource
	if r.opts.Save != nil {
		frames, _ = src.(capture.FrameSource)
	}
	if r.opts.ReadAhead > 0 {
		return r.newReadAhead(ctx, src, frames)
	}
	return &direct{r: r, ctx: ctx, src: src, frames: frames, bar: newBar(r, src, name)}
}

// direct reads the Source on the loop's goroutine: for files, which never
// make Next wait.
type direct struct {
	r      *runner
	ctx    context.Context
	src    Source
	frames capture.FrameSource // nil: no frames to save
	bar    *bar
	n      uint64
	it     item
}

func (d *direct) next() (*item, error) {
	if c := d.r.opts.Count; c > 0 && d.n == c {
		return nil, io.EOF
	}
	if d.n%checkEvery == 0 {
		if d.ctx.Err() != nil || d.r.werr != nil {
			return nil, errStopped
		}
		if d.bar != nil {
			d.bar.update(d.n, d.src.Stats().Bytes)
		}
	}
	if err := d.src.Next(&d.it.p); err != nil {
		return nil, err
	}
	d.n++
	if d.frames != nil {
		d.it.frame, d.it.ci, _ = d.frames.LastFrame() // lent until the next Next: the loop is done with it by then
	}
	return &d.it, nil
}

func (d *direct) close() { d.bar.finish() }

// readAhead reads the Source on a goroutine of its own into a fixed pool
// of items (free → capture goroutine → full → loop → free), so that the
// loop can wake for ticks, the context and a failing sink while Next waits
// on a quiet interface, and nothing is allocated per packet.
type readAhead struct {
	r          *runner
	src        Source
	free, full chan *item
	last       *item // lent to the loop
	ticker     *time.Ticker
	tick       <-chan time.Time // nil without Options.Tick
	done       <-chan struct{}  // nil once the Source was closed for it
	err        error            // why the loop ended the capture
	ended      bool             // the capture goroutine has returned
}

func (r *runner) newReadAhead(ctx context.Context, src Source, frames capture.FrameSource) *readAhead {
	n := r.opts.ReadAhead
	f := &readAhead{r: r, src: src, free: make(chan *item, n), full: make(chan *item, n), done: ctx.Done()}
	for range n {
		f.free <- new(item)
	}
	if r.opts.Tick > 0 {
		f.ticker = time.NewTicker(r.opts.Tick)
		f.tick = f.ticker.C
	}
	go readSource(src, frames, r.opts.Count, f.free, f.full)
	return f
}

func (f *readAhead) next() (*item, error) {
	if f.last != nil {
		f.free <- f.last
		f.last = nil
	}
	for {
		select {
		case it := <-f.full:
			if it.err != nil {
				f.ended = true
				err := it.err
				f.free <- it
				if f.err != nil {
					return nil, f.err
				}
				return nil, err
			}
			f.last = it
			return it, nil
		case now := <-f.tick:
			if f.r.tick(now, len(f.full) > 0) && f.err == nil {
				f.err = fmt.Errorf("capture on %s: %w", f.r.opts.Watch, ErrInterfaceDown)
				f.src.Close()
			}
		case <-f.done: // Close makes a pending Next return io.EOF
			f.done = nil
			if f.err == nil {
				f.err = errStopped
			}
			f.src.Close()
		}
		if f.r.werr != nil { // the report cannot be written: stop
			f.src.Close()
		}
	}
}

func (f *readAhead) close() {
	if f.ticker != nil {
		f.ticker.Stop()
	}
	if f.last != nil {
		f.free <- f.last
		f.last = nil
	}
	f.src.Close()
	for !f.ended { // wait for the capture goroutine's last item
		it := <-f.full
		f.ended = it.err != nil
		f.free <- it
	}
}

// readSource is the capture goroutine: it reads segments from src into
// items taken from free and hands them over on full, until src ends (Close
// makes Next return io.EOF) or fails, or count segments were read; its
// last item carries the error. With frames it copies each raw frame, which
// the Source lends only until the next read.
func readSource(src Source, frames capture.FrameSource, count uint64, free <-chan *item, full chan<- *item) {
	var n uint64
	var sampled time.Time
	for {
		it := <-free
		it.hasStats = false
		if count > 0 && n == count {
			it.err = io.EOF
			full <- it
			return
		}
		if it.err = src.Next(&it.p); it.err != nil {
			full <- it
			return
		}
		n++
		if frames != nil {
			data, ci, _ := frames.LastFrame()
			it.frame = append(it.frame[:0], data...)
			it.ci = ci
		}
		if it.p.Time.Sub(sampled) >= statsEvery || n == 1 {
			sampled = it.p.Time
			it.stats, it.hasStats = src.Stats(), true
		}
		full <- it
	}
}
