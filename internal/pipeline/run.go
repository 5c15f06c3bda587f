package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// runner is one Run. Everything it holds (the current Analyzer, the Sink,
// the Saver, the status line, the summary) is used from the loop's
// goroutine only, so none of it needs a lock.
type runner struct {
	opts     *Options
	analysis Analysis
	sink     Sink
	log      io.Writer
	start    time.Time

	an      Analyzer // the current input's
	status  *statusLine
	counts  counts
	watch   *ifaceWatch
	sum     summaryBuilder
	werr    error           // first error writing the report
	saveErr error           // first error saving frames
	cut     bool            // the run's context ended a read, or kept an input from being read
	joint   *jointStage     // Options.Joint with several inputs, else nil
	outer   context.Context // Run's ctx: cancelled, it interrupts the run (see flush)
}

func newRunner(analysis Analysis, sink Sink, opts *Options) *runner {
	r := &runner{opts: opts, analysis: analysis, sink: sink, log: opts.Log, start: time.Now()}
	if r.log == nil {
		r.log = io.Discard
	}
	if opts.Status && opts.Log != nil {
		r.status = &statusLine{w: opts.Log, width: opts.StatusWidth}
	}
	if opts.Watch != "" {
		r.watch = newIfaceWatch(opts.Watch)
	}
	return r
}

// input reads one opened Source to its end (or until ctx is done) through
// a fresh Analyzer, and adds it to the summary. The error is why the Source
// failed, already reported.
func (r *runner) input(ctx context.Context, in Input, src Source, several bool) error {
	defer src.Close()
	file := ""
	if several {
		file = in.Name
	}
	r.an = r.analysis(file, r.emit)
	if r.joint != nil {
		r.joint.start(in.Name, file)
	}
	f := r.newFeed(ctx, in.Name, src)
	var err error
	for {
		it, ferr := f.next()
		if ferr == nil {
			r.packet(it)
			continue
		}
		switch {
		case errors.Is(ferr, io.EOF):
		case errors.Is(ferr, errStopped) || ctx.Err() != nil: // the error of a read ctx cut short
			r.cut = r.cut || ctx.Err() != nil
		default:
			err = ferr
		}
		break
	}
	f.close() // Next is no longer called: the Source's counters are final
	r.flush()
	if r.joint != nil {
		r.joint.end(src.Stats())
	}
	r.status.clear()
	if r.opts.Observer != nil {
		st, ts := src.Stats(), r.an.Stats()
		r.counts.frames, r.counts.dropped = st.Frames, st.Dropped+st.IfDropped
		r.counts.open, r.counts.evicted, r.counts.expired, r.counts.pending = ts.Open, ts.Evicted, ts.Expired, 0
		r.observe()
	}
	for _, w := range r.sum.add(in.Name, src.Stats(), r.an.Stats(), r.an.Resets()) {
		r.logf("warning: %s", w)
	}
	if err != nil {
		msg := describe(in, err)
		r.logf("warning: %s", msg)
		r.sum.warn(msg + ": results cover the packets read so far")
	}
	return err
}

// packet hands one segment to the Saver and the Analyzer.
func (r *runner) packet(it *item) {
	if it.hasStats {
		r.counts.frames, r.counts.dropped = it.stats.Frames, it.stats.Dropped+it.stats.IfDropped
	} else if it.p.Frame > r.counts.frames {
		r.counts.frames = it.p.Frame
	}
	r.counts.tcp++
	if r.opts.Save != nil && r.saveErr == nil && it.frame != nil {
		if err := r.opts.Save.Add(&it.p, it.frame, it.ci); err != nil {
			r.saveErr = err
			r.logf("warning: %v; no more frames will be saved", err)
		}
	}
	if r.joint != nil {
		r.joint.cur.Packet(&it.p)
	}
	r.an.Packet(&it.p)
}

// emit writes a verdict as the Analyzer makes it final, or holds it for
// the joint judgement.
func (r *runner) emit(v *rstanalysis.Verdict) {
	if r.joint != nil {
		r.joint.hold(v)
		return
	}
	r.write(v)
}

// write counts v and writes it to the Sink.
func (r *runner) write(v *rstanalysis.Verdict) {
	if int(v.Origin) < len(r.counts.byOrigin) {
		r.counts.byOrigin[v.Origin]++
	}
	if w := v.Was.Origin; v.Revision > 0 && int(w) < len(r.counts.byOrigin) {
		r.counts.byOrigin[w]-- // a revision: the RST counts once, by its latest verdict
	}
	if r.opts.Observer != nil {
		r.opts.Observer.Verdict(v)
	}
	if r.werr == nil {
		r.status.clear()
		r.werr = r.sink.Write(v)
	}
}

// tick releases verdicts by wall-clock time, when no packet read before now
// waits (its timestamp releases verdicts too, and comes first), redraws the
// status line and reports whether the watched interface went down.
func (r *runner) tick(now time.Time, queued bool) (down bool) {
	if t, ok := r.an.(Ticker); ok {
		if !queued {
			t.Tick(now)
		}
		r.counts.pending = t.Pending()
	}
	ts := r.an.Stats()
	r.counts.open, r.counts.evicted, r.counts.expired = ts.Open, ts.Evicted, ts.Expired
	r.observe()
	r.status.draw(&r.counts, time.Since(r.start))
	return r.watch.down(now)
}

// reportUnopened writes the errors of inputs that could not be opened.
func (r *runner) reportUnopened(errs []error) {
	for _, err := range errs {
		r.logf("%v", err)
		r.sum.warn(err.Error())
	}
}

// finish closes the Saver and the Sink, with the summary.
func (r *runner) finish(interrupted, failed bool) error {
	if r.opts.Save != nil {
		if err := r.opts.Save.Close(); err != nil && r.saveErr == nil {
			r.saveErr = err
			r.logf("warning: %v", err)
		}
		if r.saveErr != nil {
			r.sum.warn(r.saveErr.Error())
			failed = true
		}
	}
	if r.joint != nil {
		if res, related := r.joint.judge(r.write); related {
			r.sum.joint(res)
			for _, w := range res.Warnings {
				r.logf("warning: %s", w)
			}
		}
	}
	if interrupted && r.werr == nil {
		r.sum.warn(interruptedWarning)
		r.logf("%s", interruptedWarning)
	}
	if r.opts.Notes != nil {
		for _, n := range r.opts.Notes() {
			r.sum.warn(n)
		}
	}
	sum := r.sum.build(time.Since(r.start))
	for _, w := range sum.Warnings[len(r.sum.s.Warnings):] { // dropped frames, evicted connections
		r.logf("warning: %s", w)
	}
	if err := r.sink.Close(sum); err != nil && r.werr == nil {
		r.werr = err
	}
	switch {
	case r.werr != nil:
		return fmt.Errorf("writing the report: %w", r.werr)
	case interrupted:
		return ErrInterrupted
	case failed:
		return ErrIncomplete
	}
	return nil
}

// interruptedWarning ends the summary of a read that a cancelled context
// cut short.
const interruptedWarning = "interrupted: results cover the packets read so far"

// logf writes one line to Log, below the status line.
func (r *runner) logf(format string, args ...any) {
	r.status.clear()
	fmt.Fprintf(r.log, "rstscope: "+format+"\n", args...)
}

// inputError is an input's error, named.
type inputError struct {
	in  Input
	err error
}

func (e *inputError) Error() string { return describe(e.in, e.err) }
func (e *inputError) Unwrap() error { return e.err }

// describe renders err, of input in, so that it names the input once:
// "x.pcap: no such file or directory", "x.pcap: not a pcap or pcapng
// capture".
func describe(in Input, err error) string {
	msg := err.Error()
	if in.ErrorsNamed {
		return msg
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == in.Name { // not "open x.pcap: ..."
		msg = pe.Path + ": " + pe.Err.Error()
	}
	if !strings.HasPrefix(msg, in.Name) && in.Name != "-" {
		msg = in.Name + ": " + msg
	}
	return msg
}
