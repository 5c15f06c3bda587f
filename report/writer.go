package report

import (
	"bufio"
	"errors"
	"io"
	"math"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("report writer already closed")

// Writer renders verdicts in one Format.
//
// Write takes the verdicts in capture order; it may keep a copy of v (the
// table formats buffer their rows unless Options.Stream is set), never v
// itself, so the caller may reuse v. Close writes what is left (buffered
// rows, the summary tables) and flushes; it does not close the underlying
// io.Writer. After the first error from the underlying io.Writer every call
// returns that error. Close must be called once; after it every call returns ErrClosed.
// A Writer is not safe for concurrent use.
type Writer interface {
	Write(v *rstanalysis.Verdict) error
	Close(s Summary) error
}

// Options tune a Writer. The zero value suits a capture file read to the end.
type Options struct {
	// Stream prints each verdict as soon as Write receives it and flushes
	// the output, for live capture: the table format then prints one line
	// per RST instead of a buffered table, and JSON/CSV flush every line
	// so `| jq` works live. The summaries still come at Close. HTML is a
	// document and is written at Close whatever Stream says.
	Stream bool
	// Verbose adds a details section to the table, markdown and HTML
	// formats: every evidence line of each listed event's first RST, and its
	// TTL, seq, ack, RTT and vantage.
	Verbose bool
	// Width is the terminal width, in columns, the table format fits every
	// line into; 0 means 160.
	Width int
	// TopServers caps the rows of the by-server summary; 0 means 20 and a
	// negative value means no cap.
	TopServers int
	// MaxRows caps the rows the table, markdown and HTML formats list:
	// reset events chosen to represent the run (per origin and cause the
	// first and the latest, then events spread in time), or with RSTs the
	// first RSTs in capture order. The summaries still count everything, and
	// a line says how many were left out. 0 means 50 and a negative value
	// means no cap (every event is then kept until Close). Stream mode
	// prints every RST as it comes.
	MaxRows int
	// Summary asks the JSON format for a final line {"summary":{...}} at
	// Close. The table, markdown and HTML formats always print their
	// summary; CSV never does, to stay one rectangular table.
	Summary bool
	// RSTs lists one row per RST in the table, markdown and HTML formats
	// instead of one per reset event.
	RSTs bool
	// Filter limits what every format reports to the events it matches;
	// the summaries say so.
	Filter Filter
	// Location is the time zone of the times the table, markdown and HTML
	// formats show; nil means UTC. CSV and JSON always use UTC.
	Location *time.Location
	// Ladders are frames of RSTs whose ladder (sequence diagram) the
	// table, markdown and HTML formats add to the one per cause.
	Ladders []uint64
}

const (
	defaultWidth      = 160
	defaultTopServers = 20
	defaultMaxRows    = 50
)

// maxRows is Options.MaxRows with its default; -1 for no cap.
func (o Options) maxRows() int {
	switch {
	case o.MaxRows == 0:
		return defaultMaxRows
	case o.MaxRows < 0:
		return -1
	}
	return o.MaxRows
}

func (o Options) width() int {
	if o.Width <= 0 {
		return defaultWidth
	}
	return o.Width
}

func (o Options) topServers() int {
	switch {
	case o.TopServers == 0:
		return defaultTopServers
	case o.TopServers < 0:
		return math.MaxInt
	}
	return o.TopServers
}

func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// Summary is what the run saw besides the verdicts, for the bottom of a
// report. The pipeline fills it in; report adds the per-origin, per-cause
// and per-server counts from the verdicts themselves.
type Summary struct {
	// Inputs names what was read: capture files, "-" for stdin, or the
	// interface of a live capture.
	Inputs []string
	// Frames is the number of frames read, of every kind.
	Frames uint64
	// TCPPackets is the number of frames decoded to a TCP segment.
	TCPPackets uint64
	// Connections is the number of connections tracked.
	Connections uint64
	// MaxOpen is the most connections tracked at once: what memory follows.
	// With several tables (rstanalysis.Sharded) it is the sum of their
	// peaks, which depends on how the connections were spread.
	MaxOpen uint64
	// Evicted is the number of connections dropped from the connection
	// table before they ended (idle expiry or the memory bound); a RST on an
	// evicted connection is judged without its history.
	Evicted uint64
	// RSTs is the number of RST segments seen; normally equal to the number
	// of verdicts written.
	RSTs uint64
	// Dropped is the number of frames the kernel or interface dropped
	// during a live capture.
	Dropped uint64
	// Warnings are one-line notes for the reader, such as
	// "capture.pcap: damaged after frame 1234: unexpected EOF".
	Warnings []string
	// Elapsed is the wall-clock time the run took.
	Elapsed time.Duration
	// First and Last are the timestamps of the first and the last packet
	// read (the capture's span); zero when unknown.
	First, Last time.Time
	// Filter says what Options.Filter left out; set by the Writer, ""
	// when nothing was filtered.
	Filter string
	// Joint is what reading several captures together found (each input's
	// clock offset from the first's, the connections matched); nil when
	// the inputs were read each on its own.
	Joint *rstanalysis.JointResult
}

// NewWriter returns a Writer that renders verdicts in format f to w.
// For an unknown f every call of the returned Writer fails with a
// *FormatError.
func NewWriter(f Format, w io.Writer, opts Options) Writer {
	var wr Writer
	switch f {
	case FormatTable:
		wr = newTextWriter(w, opts)
	case FormatMarkdown:
		wr = newMarkdownWriter(w, opts)
	case FormatHTML:
		wr = newHTMLWriter(w, opts)
	case FormatCSV:
		wr = newCSVWriter(w, opts)
	case FormatJSON:
		wr = newJSONWriter(w, opts)
	default:
		return errWriter{&FormatError{Name: f.String()}}
	}
	if !opts.Filter.IsZero() {
		return newFilterWriter(wr, opts.Filter)
	}
	return wr
}

type errWriter struct{ err error }

func (e errWriter) Write(*rstanalysis.Verdict) error { return e.err }
func (e errWriter) Close(Summary) error              { return e.err }

// out is the shared output end of every Writer: a bufio.Writer with a
// sticky error.
type out struct {
	bw     *bufio.Writer
	err    error
	closed bool
}

func newOut(w io.Writer) out { return out{bw: bufio.NewWriter(w)} }

func (o *out) str(s string) {
	if o.err == nil {
		_, o.err = o.bw.WriteString(s)
	}
}

func (o *out) flush() error {
	if o.err == nil {
		o.err = o.bw.Flush()
	}
	return o.err
}

// check reports why a writer can take no more input.
func (o *out) check() error {
	if o.err != nil {
		return o.err
	}
	if o.closed {
		return ErrClosed
	}
	return nil
}
