package report

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/rstscope/rstscope/rstanalysis"
)

// textWriter renders the table format for a terminal: the headline, the
// reset events (or with Options.RSTs the RSTs; in stream mode one line per
// RST as it comes), the timeline, the summaries, what to check next, the
// ladders, and what was read. Every line fits Options.Width.
type textWriter struct {
	sheet
	stream layout // the stream lines' layout, fixed at the first line
	day    string // the date of the last stream line
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
	if v.Revision > 0 {
		t.str(strings.Join(wrap(revisedText(v, &r), t.opts.width(), "    "), "\n") + "\n")
		return t.flush()
	}
	t.streamLine(&r)
	return t.flush()
}

func (t *textWriter) Close(s Summary) error {
	if err := t.check(); err != nil {
		return err
	}
	t.closed = true
	width := t.opts.width()
	d := t.digest(s, width)
	if t.started {
		t.str("\n")
	}
	t.str(pairsText("", headlines(d), width))
	t.str("\n")
	if t.tally.total == 0 {
		t.str("No TCP resets.\n\n")
	} else {
		t.body(d)
	}
	t.str(pairsText("Capture", captureLines(s, d), width))
	return t.flush()
}

// body is everything between the headline and the capture block.
func (t *textWriter) body(d *digest) {
	w := d.width
	if !t.opts.Stream {
		switch {
		case t.opts.RSTs:
			t.str(rstTable(d.rows, d) + "\n")
		case len(d.listed) > 0:
			t.str(eventTable(d.listed, d) + "\n")
		default:
			t.str(strings.Join(wrap(noEventsNote, w, ""), "\n") + "\n\n")
		}
		if n := moreNote(d); n != "" {
			t.str(strings.Join(wrap(n, w, ""), "\n") + "\n\n")
		}
	}
	t.str(d.tline.text(w) + "\n")
	t.str("By origin and cause\n")
	head, rows, foot := causeTable(d, false)
	t.str(textTable(tableColumns(head, rows, foot, causeAligns), []step{{5, stepDrop}, {4, stepDrop}, {6, stepDrop}}, w))
	if n := followNote(d); n != "" {
		t.str(strings.Join(wrap(n, w, ""), "\n") + "\n")
	}
	t.str("\nWhat to check next\n")
	for _, e := range d.bk.representatives() {
		when := inLoc(e.v.Time, d.loc).Format("15:04:05")
		line := "  " + e.v.Cause.String() + ": " + clean(nextStep(&e.v, when))
		t.str(strings.Join(wrap(line, w, "    "), "\n") + "\n")
	}
	t.str("\nLadders: the packets around a RST, one event per cause\n")
	for _, e := range d.ladders {
		t.str("\n" + strings.Join(wrap(ladderTitle(&e.v), w, "  "), "\n") + "\n")
		t.str(truncateLines(ladderText(&e.v, d.loc, w), w))
		t.str(filterText(framesFilter(e.r.filter, e.v.Frame, d.rec(e).lastFrame), w))
	}
	t.str("\nBy server\n")
	head, rows, rest := serverTable(d, false)
	t.str(textTable(tableColumns(head, rows, nil, serverAligns),
		[]step{{5, stepTrim}, {4, stepTrim}, {3, stepDrop}, {5, stepDrop}}, w))
	if rest != "" {
		t.str(rest + "\n")
	}
	t.str("\n")
	if t.opts.Verbose {
		t.details(d)
	}
}

// fileTitles names, before the first row of each input's run, the input,
// when the rows come from more than one.
func fileTitles(files []string) map[int]string {
	titles := map[int]string{}
	for i, f := range files {
		if f != "" && (i == 0 || f != files[i-1]) {
			titles[i] = "== " + f
		}
	}
	if len(titles) < 2 && (len(files) == 0 || files[0] == "" || files[0] == files[len(files)-1]) {
		return nil
	}
	return titles
}

// details lists every evidence line of each listed event's first RST.
func (t *textWriter) details(d *digest) {
	t.str("Details\n\n")
	var rs []row
	if t.opts.RSTs {
		rs = d.rows
	} else {
		for _, e := range d.listed {
			rs = append(rs, e.r)
		}
	}
	for i := range rs {
		t.str(truncateLines(details(&rs[i], "  ", d.loc), d.width))
		t.str("\n")
	}
}

// tableColumns turns a header, rows and a footer into columns with the
// given alignments; the last two may be cut down to 12 columns.
func tableColumns(head []string, rows [][]string, foot []string, aligns []tw.Align) []column {
	cols := make([]column, len(head))
	for i := range cols {
		cols[i].head = head[i]
		cols[i].right = i < len(aligns) && aligns[i] == tw.AlignRight
		cols[i].cells = make([]string, len(rows))
		if i >= len(head)-2 {
			cols[i].min = 12
		}
		if foot != nil {
			cols[i].foot = foot[i]
		}
	}
	for r, row := range rows {
		for i := range cols {
			cols[i].cells[r] = row[i]
		}
	}
	return cols
}

// filterText prints a Wireshark filter under its label, broken before
// " && " where it does not fit width, so that each line stays whole.
func filterText(f string, width int) string {
	if width <= 0 || 2+len("Wireshark: ")+twwidth.Width(f) <= width {
		return "  Wireshark: " + f + "\n"
	}
	var b strings.Builder
	b.WriteString("  Wireshark:\n")
	line := "  "
	for i, term := range strings.Split(f, " && ") {
		if i > 0 {
			term = "&& " + term
		}
		if line != "  " && twwidth.Width(line)+1+twwidth.Width(term) > width {
			b.WriteString(line + "\n")
			line = "  "
		}
		if line != "  " {
			line += " "
		}
		line += term
	}
	b.WriteString(truncate(line, width) + "\n")
	return b.String()
}

// truncateLines cuts every line of s to width (0: no limit).
func truncateLines(s string, width int) string {
	if width <= 0 {
		return s
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(truncate(strings.TrimRight(line, "\n"), width) + "\n")
	}
	return b.String()
}

// timeCells are the TIME column's cells, full and short: the time of day
// with milliseconds and without, or with the date when the times span
// days.
func timeCells(ts []time.Time, loc *time.Location) (full, short []string, head string) {
	if len(ts) == 0 {
		return nil, nil, "TIME (" + zoneName(loc, time.Time{}) + ")"
	}
	days := false
	for _, t := range ts {
		days = days || inLoc(t, loc).YearDay() != inLoc(ts[0], loc).YearDay()
	}
	for _, t := range ts {
		lt := inLoc(t, loc)
		if days {
			full = append(full, lt.Format("01-02 15:04:05.000"))
			short = append(short, lt.Format("01-02 15:04:05"))
		} else {
			full = append(full, lt.Format("15:04:05.000"))
			short = append(short, lt.Format("15:04:05"))
		}
	}
	head = "TIME (" + zoneName(loc, ts[0]) + ")"
	return full, short, head
}

// eventTable lists events, one line each:
//
//	FRAME  TIME (UTC)  CLIENT →  SERVER  BY  ORIGIN  CONF  PHASE  CAUSE  RSTS  REQUEST  WHY
//
// At a narrow width the why column gives way first, then the request and
// the phase; then the time loses its milliseconds, the client its port,
// and the client, the claimed sender and the confidence go.
func eventTable(es []*event, d *digest) string {
	n := len(es)
	ts := make([]time.Time, n)
	for i, e := range es {
		ts[i] = e.v.Time
	}
	full, short, head := timeCells(ts, d.loc)
	cols := []column{
		{head: "FRAME", right: true}, {head: head, short: short}, {head: "CLIENT →"}, {head: "SERVER"},
		{head: "BY"}, {head: "ORIGIN"}, {head: "CONF", right: true}, {head: "PHASE"}, {head: "CAUSE"},
		{head: "RSTS", right: true}, {head: "REQUEST", min: 16}, {head: "WHY", min: 24},
	}
	cols[2].short = make([]string, 0, n)
	for i, e := range es {
		r, rec := &e.r, d.rec(e)
		cols[0].cells = append(cols[0].cells, r.frame)
		cols[1].cells = append(cols[1].cells, full[i])
		cols[2].cells = append(cols[2].cells, r.client+" →")
		cols[2].short = append(cols[2].short, e.v.Client.Addr().String()+" →")
		cols[3].cells = append(cols[3].cells, r.server)
		cols[4].cells = append(cols[4].cells, r.from)
		cols[5].cells = append(cols[5].cells, r.origin)
		cols[6].cells = append(cols[6].cells, r.conf)
		cols[7].cells = append(cols[7].cells, r.phaseNote)
		cols[8].cells = append(cols[8].cells, r.cause)
		cols[9].cells = append(cols[9].cells, strconv.Itoa(int(rec.rsts)))
		cols[10].cells = append(cols[10].cells, exchange(r))
		cols[11].cells = append(cols[11].cells, orDash(r.why))
	}
	steps := []step{{11, stepTrim}, {10, stepTrim}, {11, stepDrop}, {7, stepDrop}, {10, stepDrop},
		{1, stepShort}, {2, stepShort}, {2, stepDrop}, {4, stepDrop}, {6, stepDrop}}
	files := make([]string, n)
	for i, e := range es {
		files[i] = e.r.fileText
	}
	return renderTitled(cols, fitColumns(cols, steps, d.width), fileTitles(files))
}

// exchange is the request and response in one cell: "GET a/b → HTTP 200".
func exchange(r *row) string {
	switch {
	case r.response == "-":
		return r.request
	case r.request == "-":
		return "→ " + r.response
	}
	return r.request + " → " + r.response
}

// rstTable lists RSTs, one line each, like eventTable with the RST's own
// flags and the event it belongs to, and the strongest evidence.
func rstTable(rs []row, d *digest) string {
	ts := make([]time.Time, len(rs))
	for i := range rs {
		ts[i] = rs[i].t
	}
	full, short, head := timeCells(ts, d.loc)
	cols := rstColumns(head)
	cols[1].short = short
	cols[2].short = make([]string, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		for c, v := range rstCells(r, full[i]) {
			cols[c].cells = append(cols[c].cells, v)
		}
		cols[2].short = append(cols[2].short, hostOf(r.client)+" →")
	}
	files := make([]string, len(rs))
	for i := range rs {
		files[i] = rs[i].fileText
	}
	return renderTitled(cols, fitColumns(cols, rstSteps, d.width), fileTitles(files))
}

func rstColumns(timeHead string) []column {
	return []column{
		{head: "FRAME", right: true}, {head: timeHead}, {head: "CLIENT →"}, {head: "SERVER"},
		{head: "FROM"}, {head: "FLAGS"}, {head: "ORIGIN"}, {head: "CONF", right: true}, {head: "PHASE"},
		{head: "CAUSE"}, {head: "EVENT", right: true}, {head: "REQUEST", min: 16}, {head: "EVIDENCE", min: 24},
	}
}

var rstSteps = []step{{12, stepTrim}, {11, stepTrim}, {12, stepDrop}, {5, stepDrop}, {8, stepDrop}, {11, stepDrop},
	{1, stepShort}, {2, stepShort}, {2, stepDrop}, {4, stepDrop}, {7, stepDrop}}

// rstCells are r's cells under rstColumns, the time given.
func rstCells(r *row, at string) []string {
	ev := ""
	if r.event != "" {
		ev = "↳ " + strings.TrimPrefix(strings.SplitN(r.event, ":", 2)[0], "↳ event ")
	}
	strongest := "-"
	if len(r.texts) > 0 {
		strongest = r.texts[0]
	} else if r.note != "" {
		strongest = r.note
	}
	return []string{r.frame, at, r.client + " →", r.server, r.from, r.flags, r.origin, r.conf, r.phaseNote, r.cause,
		ev, r.request, strongest}
}

// hostOf is an endpoint's address without its port.
func hostOf(ap string) string {
	if i := strings.LastIndexByte(ap, ':'); i > 0 {
		return strings.Trim(ap[:i], "[]")
	}
	return ap
}

// streamLine prints r as one line of the stream table, after its header,
// a "== file" line when the input changes and a "-- date" line when the
// date does. The columns are fixed at the first line (the rows to come
// are unknown), sized for IPv4 endpoints; the width is Options.Width.
func (t *textWriter) streamLine(r *row) {
	loc := t.opts.loc()
	if !t.started {
		t.started = true
		cols := rstColumns("TIME (" + zoneName(loc, r.t) + ")")
		sample := []string{"999999", "15:04:05.000", "255.255.255.255:65535 →", "255.255.255.255:65535",
			"server", "R.", "middlebox", "0.00", "tls_handshake", "stale_connection", "↳ 999999",
			strings.Repeat("x", 24), strings.Repeat("x", 40)}
		for i := range cols {
			cols[i].cells = []string{sample[i]}
		}
		cols[1].short, cols[2].short = []string{"15:04:05"}, []string{"255.255.255.255 →"}
		t.stream = fitColumns(cols, rstSteps, t.opts.width())
		for i := range cols {
			cols[i].cells = nil
		}
		t.str(renderColumns(cols, t.stream))
	}
	lt := inLoc(r.t, loc)
	if r.file != t.file {
		t.file = r.file
		t.str(truncate("== "+r.fileText, t.opts.width()) + "\n")
	}
	if day := lt.Format(time.DateOnly); day != t.day {
		t.day = day
		t.str("-- " + day + "\n")
	}
	cells := rstCells(r, lt.Format("15:04:05.000"))
	if t.stream.short[2] {
		cells[2] = hostOf(r.client) + " →"
	}
	if t.stream.short[1] {
		cells[1] = lt.Format(time.TimeOnly)
	}
	t.str(rowLine(cells, t.stream))
	if t.opts.Verbose {
		for _, e := range r.texts[min(1, len(r.texts)):] {
			t.str(truncate("        "+e, t.opts.width()) + "\n")
		}
	}
}
