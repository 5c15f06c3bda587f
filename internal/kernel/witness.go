package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Roots are the tracefs mount points to try; nil means Roots.
	Roots []string
	// Retain is how long events are held to be joined with the RSTs of
	// the capture: longer than a verdict waits (--grace) plus the
	// capture's lag. Zero means 30 seconds.
	Retain time.Duration
	// Local lists this host's addresses; nil means the addresses of the
	// network namespace's interfaces, read again as they change.
	Local []netip.Addr
}

// Joining. An event and its RST's frame are microseconds apart (the
// tracepoint fires as the stack sends the RST, the capture sees it leave);
// window bounds that gap generously. A RST is said to have no event only
// once every event up to slack after it has been read, and only if events
// were recorded from lead before it.
const (
	window      = 250 * time.Millisecond
	slack       = 50 * time.Millisecond
	lead        = 10 * time.Millisecond
	syncTimeout = 500 * time.Millisecond
	maxEvents   = 1 << 18 // held at most: about 40 MiB at 150 bytes each
	gather      = 5 * time.Millisecond
)

// Witness is the kernel's testimony about the RSTs of a live capture on
// this host: it reads tcp:tcp_send_reset and tcp:tcp_receive_reset through
// a tracefs instance of its own and joins each RST of the capture with the
// event that made it (an rstanalysis.Witness). Its methods are safe for
// concurrent use.
type Witness struct {
	in     *instance // nil in tests
	local  *localAddrs
	retain time.Duration

	mu      sync.Mutex
	idx     index
	caught  time.Duration // every event committed before this was read
	started time.Duration // events were recorded from this time on
	horizon time.Duration // events before this were forgotten
	lost    []span        // when the ring buffer lost events
	failed  error         // the reader's error, once it stopped
	stats   Stats

	stop atomic.Bool
	done chan struct{}
}

// span is an interval of the trace clock.
type span struct{ from, to time.Duration }

// Stats counts what the Witness read and joined.
type Stats struct {
	// Sent counts tcp_send_reset events from this host's addresses, by
	// reason.
	Sent map[string]uint64
	// Received counts tcp_receive_reset events on this host's sockets.
	Received uint64
	// Lost counts events the ring buffer overwrote before they were read.
	Lost uint64
	// Joined counts the RSTs of the capture joined with a tcp_send_reset;
	// NoEvent those from this host that none made.
	Joined, NoEvent uint64
}

// Open starts reading the kernel's reset events. Its errors wrap
// ErrUnavailable when the host cannot give them (no tracefs, a kernel
// before 6.10, no privilege), saying why in one line.
func Open(opts Options) (*Witness, error) {
	roots := opts.Roots
	if roots == nil {
		roots = Roots
	}
	root, err := findRoot(roots)
	if err != nil {
		return nil, err
	}
	in, err := openInstance(root)
	if err != nil {
		return nil, err
	}
	w := newWitness(opts)
	w.in = in
	w.started = monoNow()
	w.caught = w.started
	go w.read()
	return w, nil
}

func newWitness(opts Options) *Witness {
	if opts.Retain <= 0 {
		opts.Retain = 30 * time.Second
	}
	return &Witness{local: newLocalAddrs(opts.Local), retain: opts.Retain, idx: newIndex(),
		stats: Stats{Sent: make(map[string]uint64)}, done: make(chan struct{})}
}

// String says what is read, and where: for the line rstscope prints.
func (w *Witness) String() string {
	events := "tcp:tcp_send_reset"
	if w.in != nil && w.in.recv {
		events += " and tcp:tcp_receive_reset"
	}
	dir := ""
	if w.in != nil {
		dir = " (tracefs instance " + w.in.dir + ")"
	}
	return events + dir
}

// Close stops reading and removes the tracefs instance.
func (w *Witness) Close() error {
	if w == nil || w.in == nil || w.stop.Swap(true) {
		return nil
	}
	_ = w.in.mark("rstscope-stop") // wakes the reader
	<-w.done
	return w.in.close()
}

// Stats returns the counters so far.
func (w *Witness) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Sent = make(map[string]uint64, len(w.stats.Sent))
	for k, v := range w.stats.Sent {
		s.Sent[k] = v
	}
	return s
}

// Err is why the reader stopped, nil while it runs.
func (w *Witness) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// read is the reader goroutine: it drains trace_pipe, and when it finds
// it empty notes that every event until then was read, then waits in poll
// (a marker written by Sync or Close wakes it).
func (w *Witness) read() {
	defer close(w.done)
	buf := make([]byte, 256<<10)
	var partial []byte
	fds := []unix.PollFd{{Fd: int32(w.in.pipe), Events: unix.POLLIN}}
	for !w.stop.Load() {
		t0 := monoNow()
		n, err := unix.Read(w.in.pipe, buf)
		switch {
		case n > 0:
			partial = w.ingest(append(partial, buf[:n]...), t0)
		case err == nil || errors.Is(err, unix.EAGAIN):
			w.mu.Lock()
			w.caught = max(w.caught, t0)
			w.mu.Unlock()
			if n, _ := unix.Poll(fds, 1000); n > 0 {
				// Let a burst gather: one read of many events costs far
				// less than a wake-up and a read for each.
				time.Sleep(gather)
			}
		case errors.Is(err, unix.EINTR):
		default:
			w.mu.Lock()
			w.failed = fmt.Errorf("reading %s/trace_pipe: %w", w.in.dir, err)
			w.mu.Unlock()
			return
		}
	}
}

// ingest parses the complete lines of data, read at t (trace clock), holds
// their events and returns what is left of an unfinished line.
func (w *Witness) ingest(data []byte, t time.Duration) []byte {
	var evs []Event
	var ev Event
	rest := data
	for {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		if ParseLine(rest[:nl], &ev) {
			evs = append(evs, ev)
		}
		rest = rest[nl+1:]
	}
	local := make([]bool, len(evs)) // looked up outside the lock: it may read the interfaces
	for i := range evs {
		switch evs[i].Kind {
		case KindSend:
			local[i] = w.local.has(evs[i].Src.Addr())
		case KindReceive:
			local[i] = w.local.has(evs[i].Dst.Addr())
		}
	}
	w.mu.Lock()
	for i := range evs {
		w.hold(&evs[i], local[i], t)
	}
	w.prune()
	w.mu.Unlock()
	return append(data[:0], rest...)
}

// hold takes one event read at t; local tells whether it concerns one of
// this host's addresses. w.mu is held.
func (w *Witness) hold(ev *Event, local bool, t time.Duration) {
	switch ev.Kind {
	case KindLost:
		w.stats.Lost += ev.Lost
		w.lost = append(w.lost, span{w.caught, t})
		return
	case KindMarker:
		return
	case KindSend:
		if local {
			w.stats.Sent[ev.Reason]++
		}
	case KindReceive:
		if local {
			w.stats.Received++
		}
	}
	w.idx.add(ev)
}

// prune forgets the events older than retain before the newest read, or
// beyond maxEvents. w.mu is held.
func (w *Witness) prune() {
	cut := w.caught - w.retain
	for w.idx.Len() > 0 {
		old, _ := w.idx.oldest()
		if old >= cut && w.idx.Len() <= maxEvents {
			break
		}
		w.horizon = max(w.horizon, w.idx.dropOldest())
	}
	for len(w.lost) > 0 && w.lost[0].to < cut {
		w.lost = w.lost[1:]
	}
}
