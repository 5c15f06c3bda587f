package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/tw"

	"github.com/rstscope/rstscope/rstanalysis"
)

// markdownWriter renders GitHub-flavoured Markdown to paste into an
// incident document: the headline, the reset events (or RSTs) with a
// Wireshark filter each, the timeline as a Mermaid xychart, the summaries,
// what to check next, a Mermaid sequence diagram per cause, and what was
// read. Text from the wire is escaped so that it cannot break a table.
type markdownWriter struct {
	sheet
}

func newMarkdownWriter(w io.Writer, opts Options) *markdownWriter {
	return &markdownWriter{sheet: newSheet(w, opts)}
}

func (m *markdownWriter) Write(v *rstanalysis.Verdict) error {
	if err := m.check(); err != nil {
		return err
	}
	r, now := m.take(v)
	if !now {
		return nil
	}
	m.streamRow(&r)
	return m.flush()
}

func (m *markdownWriter) Close(s Summary) error {
	if err := m.check(); err != nil {
		return err
	}
	m.closed = true
	d := m.digest(s, 0)
	if m.started {
		m.str("\n")
	} else {
		m.str("## TCP resets\n\n")
	}
	m.str(pairsMarkdown(headlines(d)) + "\n")
	if m.tally.total == 0 {
		m.str("No TCP resets.\n\n")
	} else {
		m.body(d)
	}
	m.str("### Capture\n\n" + pairsMarkdown(captureLines(s, d)))
	return m.flush()
}

func (m *markdownWriter) body(d *digest) {
	if !m.opts.Stream {
		m.lists(d)
	}
	m.str("### Timeline\n\n" + d.tline.mermaid())
	m.str("\nColours, from the top of each bar: " + legendWords() + ".\n\n")
	m.str("### By origin and cause\n\n")
	head, rows, foot := causeTable(d, true)
	m.str(renderTable(true, head, rows, foot, causeAligns))
	if n := followNote(d); n != "" {
		m.str("\n" + mdEscape(n) + "\n")
	}
	m.str("\n### What to check next\n\n")
	for _, e := range d.bk.representatives() {
		when := inLoc(e.v.Time, d.loc).Format("15:04:05")
		m.str(fmt.Sprintf("- **%s** (frame %d): %s\n", e.v.Cause, e.v.Frame, mdEscape(clean(nextStep(&e.v, when)))))
	}
	m.str("\n### Ladders\n\nThe packets around a RST, one event per cause: seq and ack relative, as Wireshark shows them; a cross marks a RST.\n")
	for _, e := range d.ladders {
		m.str("\n#### " + mdEscape(ladderTitle(&e.v)) + "\n\n")
		if l := ladderMermaid(&e.v, d.loc); l != "" {
			m.str(l)
		} else {
			m.str("No packets of this connection around the RST.\n")
		}
		m.str("\nWireshark: `" + framesFilter(e.r.filter, e.v.Frame, d.rec(e).lastFrame) + "`\n")
	}
	m.str("\n### By server\n\n")
	head, rows, rest := serverTable(d, true)
	for _, r := range rows {
		for i := range r {
			r[i] = mdEscape(r[i])
		}
	}
	m.str(renderTable(true, head, rows, nil, serverAligns))
	if rest != "" {
		m.str("\n" + mdEscape(rest) + "\n")
	}
	m.str("\n")
	if m.opts.Verbose {
		m.str("### Details\n\n")
		for _, r := range detailRows(d) {
			m.str("```\n" + details(&r, "", d.loc) + "```\n\n")
		}
	}
}

// lists writes the events (or RSTs) table, one per input file, and the
// note on what is not listed.
func (m *markdownWriter) lists(d *digest) {
	if m.opts.RSTs {
		m.str("### RSTs\n\n")
		for _, g := range byFile(d.rows) {
			m.fileHeading(g[0].fileText)
			cells := make([][]string, len(g))
			for i := range g {
				cells[i] = mdRSTRow(&g[i], d)
			}
			m.str(renderTable(true, mdRSTHeader(d), cells, nil, mdRSTAligns) + "\n")
		}
	} else {
		m.str("### Reset events\n\n")
		if len(d.listed) == 0 {
			m.str(noEventsNote + "\n\n")
		}
		for _, g := range eventsByFile(d.listed) {
			m.fileHeading(g[0].r.fileText)
			cells := make([][]string, len(g))
			for i, e := range g {
				cells[i] = mdEventRow(e, d)
			}
			m.str(renderTable(true, mdEventHeader(d), cells, nil, mdEventAligns) + "\n")
		}
	}
	if n := moreNote(d); n != "" {
		m.str(mdEscape(n) + "\n\n")
	}
}

func (m *markdownWriter) fileHeading(name string) {
	if name != "" {
		m.str("#### " + mdEscape(name) + "\n\n")
	}
}

func mdEventHeader(d *digest) []string {
	return []string{"Frame", "Time (" + d.zone() + ")", "Client", "Server", "First RST by", "Origin",
		"Conf.", "Phase", "Cause", "RSTs", "Request → response", "Why", "Zeek", "Wireshark filter"}
}

var mdEventAligns = []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft,
	tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignRight}

// mdEventRow is e's cells under mdEventHeader.
func mdEventRow(e *event, d *digest) []string {
	r, rec := &e.r, d.rec(e)
	return []string{r.frame, mdTime(r, d), r.client, r.server, r.from, r.origin, r.conf, r.phaseNote, r.cause,
		rstsCell(e, rec), mdEscape(exchange(r)), mdEscape(orDash(r.why)), zeekCell(r), "`" + r.filter + "`"}
}

// rstsCell is the number of RSTs of an event, with their frames when
// more than one: "4 (57–60)".
func rstsCell(e *event, rec eventRec) string {
	n := strconv.Itoa(int(rec.rsts))
	if rec.rsts > 1 && !isJoint(&e.v) { // a joint read's frame cell lists them
		n += " (" + e.r.frame + "–" + strconv.FormatUint(rec.lastFrame, 10) + ")"
	}
	return n
}

// zeekCell is Zeek's conn_state and history, "-" when unknown.
func zeekCell(r *row) string {
	if r.connState == "-" {
		return "-"
	}
	return r.connState + " " + mdEscape(r.history)
}

// mdTime is the row's date and time in the report's zone, with
// milliseconds.
func mdTime(r *row, d *digest) string {
	return inLoc(r.t, d.loc).Format("2006-01-02 15:04:05.000")
}

func mdRSTHeader(d *digest) []string {
	return []string{"Frame", "Time (" + d.zone() + ")", "Client", "Server", "Flags", "From",
		"Origin", "Conf.", "Phase", "Cause", "Request", "Response", "Evidence", "Wireshark filter"}
}

var mdRSTAligns = []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft,
	tw.AlignLeft, tw.AlignLeft, tw.AlignRight}

// mdRSTRow is r's cells under mdRSTHeader. The phase column carries the
// midstream note, so the evidence cell lists the event and the findings.
func mdRSTRow(r *row, d *digest) []string {
	lines := r.eventAndTexts()
	ev := make([]string, len(lines))
	for i, l := range lines {
		ev[i] = mdEscape(l)
	}
	return []string{r.frame, mdTime(r, d), r.client, r.server, mdEscape(r.flags), r.from, r.origin,
		r.conf, r.phaseNote, r.cause, mdEscape(r.request), mdEscape(r.response), orDash(strings.Join(ev, "<br>")),
		"`" + r.filter + "`"}
}

// streamRow prints a table row per RST, after a heading and a table header
// for each input file; GitHub renders rows of differing widths as one
// table, so no alignment is needed.
func (m *markdownWriter) streamRow(r *row) {
	d := &digest{loc: m.opts.loc(), zoneAt: r.t}
	if !m.started || r.file != m.file {
		if m.started {
			m.str("\n")
		} else {
			m.str("## TCP resets\n\n")
		}
		m.started = true
		m.file = r.file
		m.fileHeading(r.fileText)
		m.str("| " + strings.Join(mdRSTHeader(d), " | ") + " |\n|")
		for i := range mdRSTHeader(d) {
			if i < len(mdRSTAligns) && mdRSTAligns[i] == tw.AlignRight {
				m.str("---:|")
			} else {
				m.str(":---|")
			}
		}
		m.str("\n")
	}
	m.str("| " + strings.Join(mdRSTRow(r, d), " | ") + " |\n")
}

// detailRows are the rows the details section lists: the RSTs listed, or
// each listed event's first RST.
func detailRows(d *digest) []row {
	if d.opts.RSTs {
		return d.rows
	}
	rs := make([]row, len(d.listed))
	for i, e := range d.listed {
		rs[i] = e.r
	}
	return rs
}
