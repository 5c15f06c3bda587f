package report

import (
	"bufio"
	"errors"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// the output, for live capture: the table format then prints one aligned
	// line per RST instead of a buffered table, and JSON/CSV flush every line
	// so `| jq` works live. The summary tables still come at Close.
	Stream bool
	// Verbose adds a details section to the table and markdown formats:
	// every evidence line and the RST's TTL, seq, ack, RTT and vantage.
	Verbose bool
	// Width is the terminal width, in columns, the table format fits its
	// rows into by shortening evidence; 0 means 160.
	Width int
	// TopServers caps the rows of the by-server summary; 0 means 20 and a
	// negative value means no cap.
	TopServers int
	// MaxRows caps the RSTs the table and markdown formats list in their
	// RST table (and details), the first in capture order, so that their
	// memory and output stay bounded on a capture with a hundred thousand
	// resets; the summaries still count every RST, and a line says how many
	// were left out. 0 means 1000 and a negative value means no cap. Stream
	// mode prints every RST as it comes and holds none.
	MaxRows int
	// Summary asks the JSON format for a final line {"summary":{...}} at
	// Close. The table and markdown formats always print their summary; CSV
	// never does, to stay one rectangular table.
	Summary bool
}

const (
	defaultWidth      = 160
	defaultTopServers = 20
	defaultMaxRows    = 1000
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
}

// NewWriter returns a Writer that renders verdicts in format f to w.
// For an unknown f every call of the returned Writer fails with a
// *FormatError.
func NewWriter(f Format, w io.Writer, opts Options) Writer {
	switch f {
	case FormatTable:
		return newTableWriter(w, opts, false)
	case FormatMarkdown:
		return newTableWriter(w, opts, true)
	case FormatCSV:
		return newCSVWriter(w, opts)
	case FormatJSON:
		return newJSONWriter(w, opts)
	}
	return errWriter{&FormatError{Name: f.String()}}
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

// --- field rendering shared by the formats ---

// tsLayout is RFC 3339 in UTC with exactly nine fraction digits
// (DESIGN.md §4), so timestamps sort as strings.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func timestamp(t time.Time) string { return t.UTC().Format(tsLayout) }

// endpoint renders ip:port with IPv6 in brackets; "" for a missing endpoint.
func endpoint(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// confidence clamps c into [0, 1] and rounds it to two decimals; NaN is 0.
func confidence(c float64) float64 {
	switch {
	case math.IsNaN(c) || c <= 0:
		return 0
	case c >= 1:
		return 1
	}
	return math.Round(c*100) / 100
}

func confText(c float64) string { return strconv.FormatFloat(confidence(c), 'f', 2, 64) }

// rttMillis is the RTT in milliseconds, rounded to the microsecond.
func rttMillis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func rttText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatFloat(rttMillis(d), 'f', -1, 64) + "ms"
}

// isFollower reports whether v is a later RST of an event that began at an
// earlier frame.
func isFollower(v *rstanalysis.Verdict) bool { return v.Event != 0 && v.Event != v.Frame }

// clean makes text from the wire safe for a terminal or document: control
// characters (an ANSI escape in a Host header) and invalid UTF-8 become
// \xNN or \uNNNN escapes.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case unicode.IsControl(r) && r < 0x100:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case !unicode.IsPrint(r) && r != ' ':
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// vantage is v.Vantage, "unknown" when the analysis left it empty.
func vantage(v *rstanalysis.Verdict) string {
	if v.Vantage == "" {
		return "unknown"
	}
	return v.Vantage
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
