package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/rstscope/rstscope/rstanalysis"
)

// textWriter renders the table format: the RST table (buffered until
// Close, or one line per RST in stream mode), then the summaries.
type textWriter struct {
	sheet
	day      string // UTC date of the last streamed row
	abridged bool   // some evidence was shortened or left out
}

func newTextWriter(w io.Writer, opts Options) *textWriter {
	return &textWriter{sheet: newSheet(w, opts)}
}

func (t *textWriter) Write(v *rstanalysis.Verdict) error {
	if err := t.check(); err != nil {
		return err
	}
	r, now := t.take(v)
	if !now {
		return nil
	}
	t.streamLine(&r)
	return t.flush()
}

func (t *textWriter) Close(s Summary) error {
	if err := t.check(); err != nil {
		return err
	}
	t.closed = true
	if t.tally.total == 0 {
		t.str("No TCP resets.\n\n")
	} else {
		t.body()
		t.str(summaryTables(false, t.tally, t.opts.topServers()))
	}
	t.str(captureText(s, t.tally))
	return t.flush()
}

// body is what comes before the summaries: the vantage point, the RST
// tables (one per input file) and the details.
func (t *textWriter) body() {
	if t.opts.Stream {
		t.str("\nVantage point: " + t.tally.vantageNote() + "\n\n")
	} else {
		t.str("Vantage point: " + t.tally.vantageNote() + "\n\n")
		for _, group := range byFile(t.rows) {
			if group[0].fileText != "" {
				t.str(group[0].fileText + "\n")
			}
			t.str(t.rstTable(group))
			t.str("\n")
		}
		if n := unlistedNote(t.unlisted, len(t.rows)); n != "" {
			t.str(n + "\n\n")
		}
	}
	if t.abridged {
		t.str("Evidence is abridged to fit; the verbose report lists all of it.\n\n")
	}
	if t.opts.Verbose && !t.opts.Stream {
		t.str("Details\n\n")
		for i := range t.rows {
			t.str(details(&t.rows[i], "  "))
			t.str("\n")
		}
	}
}

const (
	exchangeWidth    = 28 // widest request or response line in the table
	minEvidenceWidth = 30 // evidence is never shortened below this
)

// rstTable renders one row of two lines per verdict:
//
//	FRAME  TIME (UTC)  CLIENT  FROM   ORIGIN  PHASE  REQUEST   EVIDENCE (strongest)
//	       date        SERVER  FLAGS  CONF    CAUSE  RESPONSE  EVIDENCE (next, or the event)
//
// The evidence column takes what is left of Options.Width.
func (t *textWriter) rstTable(rs []row) string {
	header := []string{"FRAME", "TIME (UTC)", "CLIENT\nSERVER", "FROM\nFLAGS", "ORIGIN\nCONF",
		"PHASE\nCAUSE", "REQUEST\nRESPONSE", "EVIDENCE"}
	cells := make([][]string, len(rs))
	day := ""
	for i := range rs {
		r := &rs[i]
		ts := r.clock
		if r.day != day {
			ts += "\n" + r.day
			day = r.day
		}
		cells[i] = []string{
			r.frame,
			ts,
			r.client + "\n" + r.server,
			r.from + "\n" + r.flags,
			r.origin + "\n" + r.conf,
			r.phase + "\n" + r.cause,
			truncate(r.request, exchangeWidth) + "\n" + truncate(r.response, exchangeWidth),
			"", // evidence, once the other widths are known
		}
	}
	// Each column costs its content plus one space each side.
	used := 0
	for c := 0; c < len(header)-1; c++ {
		w := cellWidth(header[c])
		for _, cs := range cells {
			w = max(w, cellWidth(cs[c]))
		}
		used += w + 2
	}
	budget := max(t.opts.width()-used-2, minEvidenceWidth)
	for i := range rs {
		var cut bool
		cells[i][len(header)-1], cut = evidenceCell(rs[i].evidence, budget)
		t.abridged = t.abridged || cut
	}
	return renderTable(false, header, cells, nil, []tw.Align{tw.AlignRight})
}

// evidenceCell is the first two evidence lines, the strongest evidence and
// the next or, for a later RST of an event, the event it belongs to, each
// shortened to width; cut reports whether anything was shortened or left
// out.
func evidenceCell(lines []string, width int) (cell string, cut bool) {
	if len(lines) == 0 {
		return "-", false
	}
	shown := lines[:min(2, len(lines))]
	more := len(lines) - len(shown)
	out := make([]string, len(shown))
	for i, l := range shown {
		suffix := ""
		if i == len(shown)-1 && more > 0 {
			suffix = fmt.Sprintf(" (+%d more)", more)
		}
		out[i] = truncate(l, width-twwidth.Width(suffix)) + suffix
		cut = cut || out[i] != l+suffix
	}
	return strings.Join(out, "\n"), cut || more > 0
}

// Stream mode prints one aligned line per RST as it comes; the widths are
// fixed because the rows to come are unknown.
const streamFormat = "%6s  %-15s  %-40s  %-5s  %-6s  %-9s  %-4s  %-13s  %-16s  %-24s  %s\n"

// streamLine prints r as one line, after the header, a "== file" line
// when the input changes and a "-- date" line when the UTC date does. The
// line holds the event, the strongest evidence and the midstream note;
// Options.Verbose adds the rest of the evidence below it.
func (t *textWriter) streamLine(r *row) {
	if !t.started {
		t.started = true
		t.str(strings.TrimRight(fmt.Sprintf(streamFormat, "FRAME", "TIME (UTC)", "CLIENT → SERVER",
			"FLAGS", "FROM", "ORIGIN", "CONF", "PHASE", "CAUSE", "REQUEST", "EVIDENCE"), " \n") + "\n")
	}
	if r.file != t.file {
		t.file = r.file
		t.str("== " + r.fileText + "\n")
	}
	if r.day != t.day {
		t.day = r.day
		t.str("-- " + r.day + "\n")
	}
	var evs []string
	if r.event != "" {
		evs = append(evs, r.event)
	}
	if len(r.texts) > 0 {
		evs = append(evs, r.texts[0])
	}
	if r.note != "" {
		evs = append(evs, r.note)
	}
	line := fmt.Sprintf(streamFormat, r.frame, r.clock, r.client+" → "+r.server, r.flags, r.from, r.origin,
		r.conf, r.phase, r.cause, truncate(r.request, 24), orDash(strings.Join(evs, "; ")))
	t.str(strings.TrimRight(line, " \n") + "\n")
	if t.opts.Verbose {
		for _, e := range r.texts[min(1, len(r.texts)):] {
			t.str("        " + e + "\n")
		}
	} else if len(r.texts) > 1 {
		t.abridged = true
	}
}
