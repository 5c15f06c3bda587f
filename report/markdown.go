package report

import (
	"io"
	"strings"

	"github.com/olekukonko/tablewriter/tw"

	"github.com/rstscope/rstscope/rstanalysis"
)

// markdownWriter renders GitHub Markdown: the RST table with every
// evidence line in its cell (buffered until Close, or a row per RST in
// stream mode), then the summaries.
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
	if !m.started {
		m.str("## TCP resets\n\n")
	}
	if m.tally.total == 0 {
		m.str("No TCP resets.\n\n")
	} else {
		m.body()
		m.str(summaryTables(true, m.tally, m.opts.topServers()))
	}
	m.str(captureMarkdown(s, m.tally))
	return m.flush()
}

// body is what comes before the summaries: the vantage point, the RST
// tables (one per input file) and the details.
func (m *markdownWriter) body() {
	if m.opts.Stream {
		m.str("\n**Vantage point:** " + mdEscape(m.tally.vantageNote()) + "\n\n")
		return
	}
	m.str("**Vantage point:** " + mdEscape(m.tally.vantageNote()) + "\n\n")
	for _, group := range byFile(m.rows) {
		if group[0].fileText != "" {
			m.str("### " + mdEscape(group[0].fileText) + "\n\n")
		}
		cells := make([][]string, len(group))
		for i := range group {
			cells[i] = mdRSTRow(&group[i])
		}
		m.str(renderTable(true, mdRSTHeader, cells, nil, mdRSTAligns))
		m.str("\n")
	}
	if n := unlistedNote(m.unlisted, len(m.rows)); n != "" {
		m.str(mdEscape(n) + "\n\n")
	}
	if m.opts.Verbose {
		m.str("### Details\n\n")
		for i := range m.rows {
			m.str("```\n" + details(&m.rows[i], "") + "```\n\n")
		}
	}
}

var mdRSTHeader = []string{"Frame", "Time (UTC)", "Client", "Server", "Flags", "From", "Origin", "Conf.",
	"Phase", "Cause", "Request", "Response", "Evidence"}

var mdRSTAligns = []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft,
	tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft}

// mdRSTRow is r's cells under mdRSTHeader. The phase column carries the
// midstream note, so the evidence cell lists the event and the findings.
func mdRSTRow(r *row) []string {
	lines := r.eventAndTexts()
	ev := make([]string, len(lines))
	for i, l := range lines {
		ev[i] = mdEscape(l)
	}
	return []string{r.frame, r.day + " " + r.clock, r.client, r.server, mdEscape(r.flags), r.from, r.origin,
		r.conf, r.phaseNote, r.cause, mdEscape(r.request), mdEscape(r.response), orDash(strings.Join(ev, "<br>"))}
}

// streamRow prints a table row per RST, after a heading and a table header
// for each input file; GitHub renders rows of differing widths as one
// table, so no alignment is needed.
func (m *markdownWriter) streamRow(r *row) {
	if !m.started || r.file != m.file {
		if m.started {
			m.str("\n")
		} else {
			m.str("## TCP resets\n\n")
		}
		m.started = true
		m.file = r.file
		if r.fileText != "" {
			m.str("### " + mdEscape(r.fileText) + "\n\n")
		}
		m.str("| " + strings.Join(mdRSTHeader, " | ") + " |\n|")
		for _, a := range mdRSTAligns {
			if a == tw.AlignRight {
				m.str("---:|")
			} else {
				m.str(":---|")
			}
		}
		m.str("\n")
	}
	m.str("| " + strings.Join(mdRSTRow(r), " | ") + " |\n")
}
