package pipeline

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// Source yields the TCP segments of one input in capture order, as
// capture.Source does (*capture.File and *capture.Live are Sources): Next
// fills p and returns nil, io.EOF at the end, or a final error.
type Source interface {
	Next(p *capture.Packet) error
	Stats() capture.Stats
	Close() error
}

// Analyzer takes the segments of one input in capture order and emits a
// verdict per RST: *rstanalysis.Analyzer and *rstanalysis.Sharded.
type Analyzer interface {
	Packet(p *capture.Packet)
	// Flush decides every pending verdict, at the end of the input.
	Flush()
	// FlushBy is Flush for an interrupted run: it stops deciding once
	// expired reports true, and says what it left out.
	FlushBy(expired func() bool) rstanalysis.Cut
	Stats() rstanalysis.Stats
	// Resets is the number of RST segments seen.
	Resets() uint64
}

// Ticker is an Analyzer that can release verdicts by wall-clock time
// (*rstanalysis.Analyzer): with Options.Tick the loop calls Tick with the
// time now, and shows Pending on the status line.
type Ticker interface {
	Tick(now time.Time)
	Pending() int
}

// Sink receives the verdicts and, once, the summary: a report.Writer.
// Write may keep a copy of v, never v itself, nor its Findings or Ladder:
// they are lent until Write returns (rstanalysis.Config.Lend).
type Sink interface {
	Write(v *rstanalysis.Verdict) error
	Close(s report.Summary) error
}

// Saver receives the raw frame of every TCP segment the loop reads (a
// *KeepFile). frame is lent until Add returns. After Add or Close fails
// the loop stops calling Add.
type Saver interface {
	Add(p *capture.Packet, frame []byte, ci gopacket.CaptureInfo) error
	Close() error
}

// Input is one source of packets, opened when its turn comes.
type Input struct {
	// Name names the input in the summary, in warnings and, when there are
	// several inputs, in every verdict's File: a file name, "-" for
	// standard input, "interface eth0".
	Name string
	// Open opens the Source; Run closes it. ctx is Run's, with
	// Options.Duration: an Open that may wait (a FIFO, standard input)
	// should stop waiting when it is done, as OpenFile does.
	Open func(ctx context.Context) (Source, error)
	// ErrorsNamed tells that the errors of Open and of the Source name the
	// input in their own words (a live capture's say "capture on eth0");
	// otherwise Run writes "Name: " before a message that does not begin
	// with Name, and shortens "open x.pcap: ..." to "x.pcap: ...".
	ErrorsNamed bool
}

// Analysis returns a fresh Analyzer for one input that reports to emit;
// file is the name to copy into each verdict's File ("" with one input).
type Analysis func(file string, emit func(*rstanalysis.Verdict)) Analyzer

// NewAnalysis is the Analysis of package rstanalysis with cfg: one
// Analyzer on the loop's goroutine, or with shards > 0 a Sharded analysis
// over that many goroutines (the verdicts are the same either way).
func NewAnalysis(cfg rstanalysis.Config, shards int) Analysis {
	return func(file string, emit func(*rstanalysis.Verdict)) Analyzer {
		c := cfg
		c.File, c.Lend = file, true // the Sink copies what it keeps
		if shards > 0 {
			return rstanalysis.NewSharded(c, shards, emit)
		}
		return rstanalysis.New(c, emit)
	}
}

// Options set what a run does beside the loop itself. The zero value reads
// files to their end, quietly.
type Options struct {
	// Log receives, prefixed "rstscope: ", the errors of inputs and
	// warnings as they happen, and draws the progress bar and the status
	// line (standard error). Nil discards them.
	Log io.Writer
	// Progress draws a progress bar on Log for each input of known size
	// (a Source with a Size() int64 method, such as a *capture.File).
	Progress bool

	// ReadAhead, when positive, reads each Source on a goroutine of its
	// own, up to ReadAhead packets ahead of the analysis, so that the loop
	// also wakes for Tick, for Duration and when ctx is cancelled while
	// Next waits on a quiet interface; the Source's Close must then make a
	// pending Next return io.EOF (*capture.Live). Tick, Status and Watch
	// act only with ReadAhead.
	ReadAhead int
	// Tick, when positive, is how often the Analyzer (a Ticker) is given
	// the wall-clock time, to release verdicts whose grace period has
	// passed on a quiet interface, and the status line is redrawn. Only
	// for live captures: their timestamps are on the wall clock's scale.
	Tick time.Duration
	// Status draws a one-line status of counters on Log at every Tick.
	Status bool
	// StatusWidth is the terminal's width in columns for the status line
	// (0: unknown); the line is cut to fit, never wrapped.
	StatusWidth int
	// Watch is an interface whose being taken down (IFF_UP cleared) ends
	// the run with ErrInterfaceDown, checked at most every 2 seconds at the
	// ticks; "" and "any" are not watched.
	Watch string

	// Count ends each input after this many TCP segments (0: no limit).
	Count uint64
	// Duration ends the run after this much wall-clock time (0: no limit);
	// without ReadAhead it is checked every 1,024 packets.
	Duration time.Duration
	// CancelEnds makes a cancelled ctx end the run like Duration does, as
	// Ctrl-C stops a live capture; otherwise the summary notes that the run
	// was interrupted and covers what was read so far.
	CancelEnds bool

	// Save, if set, receives the raw frame of every TCP segment of a
	// Source that is a capture.FrameSource. Run closes it at the end,
	// in every case, and reports its errors as warnings.
	Save Saver

	// Observer, if set, is told of every verdict and of the counters (see
	// Observer).
	Observer Observer
	// Joint reads several file inputs as captures of one incident
	// (rstanalysis.Joint): the verdicts are held until the last input has
	// been read, each RST packet is judged once with every input's
	// evidence, and the summary's Joint says how the inputs line up. It
	// does nothing with a single input, and only holds the verdicts back
	// when the inputs share no packets (rstanalysis.Related: files a
	// rotating capture wrote one after another, unrelated captures).
	// Holding costs memory: the verdicts and about 1 KB per connection.
	Joint bool
	// Roles overrides, by input name, where a joint input was captured
	// (rstanalysis.RoleClient, RoleRouter, RoleServer).
	Roles map[string]string

	// Notes, if set, is called once at the end of the run: each line it
	// returns is added to the summary's warnings (the kernel's trace
	// having lost events, say).
	Notes func() []string
}

// ErrIncomplete is Run's error when an input failed after the report was
// started: a capture damaged part-way, an interface that went down, an input
// that could not be opened beside others that could, frames that could not
// be saved. The report covers what was read; the failure was written to
// Options.Log and to the summary's warnings.
var ErrIncomplete = errors.New("an input could not be read to its end")

// ErrInterrupted is Run's error when ctx was cancelled (without
// Options.CancelEnds) before every input was read to its end: the report
// covers what was read, every pending verdict decided as far as its
// evidence goes, and its summary says that the read was interrupted. The
// pending verdicts are decided and written for at most StopWithin; those
// left then are counted in the summary, and the report stops before them.
var ErrInterrupted = errors.New("interrupted before every input was read to its end")

// ErrInterfaceDown ends a capture on an interface that is taken down
// (IFF_UP cleared, `ip link set IFACE down`): libpcap (since 1.10) reports
// only an interface that disappears; one that goes down simply delivers
// nothing more, so the loop watches the flag itself (Options.Watch).
var ErrInterfaceDown = errors.New("the interface went down")

// Run reads inputs in order through the analysis and writes every verdict
// to sink, then closes sink with the summary of the run.
//
// An input that cannot be opened is skipped with a warning, unless none
// can: then Run writes nothing, not even to Log, leaves sink open, and
// returns the inputs' errors (errors.Join; each names its input and wraps
// the cause, such as a *capture.FilterError). Otherwise it returns nil
// when every input was read to its end, or when the run was stopped by
// Count, Duration or (with Options.CancelEnds) ctx; ErrInterrupted when
// ctx stopped it otherwise; ErrIncomplete when an input failed; an error
// wrapping the sink's when the report could not be written.
//
// Cancelling ctx ends the read of the current input at the Source's next
// look at it (every 1,024 segments, and at every read of a file
// opened by OpenFile); what was read is then analysed to the end (each
// pending verdict decided, for at most StopWithin unless
// Options.CancelEnds) and reported, and no further input is opened.
func Run(ctx context.Context, inputs []Input, analysis Analysis, sink Sink, opts Options) error {
	r := newRunner(analysis, sink, &opts)
	r.outer = ctx
	if opts.Joint && len(inputs) > 1 {
		r.joint = newJointStage(opts.Roles)
	}
	stop := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		stop, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	var unopened []error // open errors not yet reported: reported once an input opens
	opened, failed := 0, false
	for i, in := range inputs {
		if stop.Err() != nil {
			r.cut = i < len(inputs)
			break
		}
		r.sum.input(in.Name)
		src, err := in.Open(stop)
		switch {
		case err != nil && stop.Err() != nil: // given up: not the input's fault
			r.cut = true
		case err != nil:
			unopened = append(unopened, &inputError{in: in, err: err})
			failed = true
		default:
			opened++
			r.reportUnopened(unopened)
			unopened = nil
			if err := r.input(stop, in, src, len(inputs) > 1); err != nil {
				failed = true
			}
		}
		if r.werr != nil {
			break
		}
	}
	if opened == 0 && len(unopened) > 0 && !r.cut {
		if opts.Save != nil {
			_ = opts.Save.Close() // nothing was saved: the open errors say why
		}
		return errors.Join(unopened...)
	}
	r.reportUnopened(unopened)
	return r.finish(r.cut && ctx.Err() != nil && !opts.CancelEnds, failed)
}
