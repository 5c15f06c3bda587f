package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/rstscope/rstscope/rstanalysis"
)

// tableWriter renders the table and markdown formats: the RST table (buffered
// until Close, or one line per RST in stream mode), then the summaries.
type tableWriter struct {
	out
	opts  Options
	md    bool
	tally *tally
	rows  []rstanalysis.Verdict // buffered verdicts, without Options.Stream
	// unlisted counts the verdicts past Options.MaxRows: tallied, not kept.
	unlisted int

	// stream state
	started  bool
	file     string // File of the last streamed verdict
	day      string // UTC date of the last streamed verdict
	abridged bool   // some evidence was shortened or left out
}

func newTableWriter(w io.Writer, opts Options, md bool) *tableWriter {
	return &tableWriter{out: newOut(w), opts: opts, md: md, tally: newTally()}
}

func (t *tableWriter) Write(v *rstanalysis.Verdict) error {
	if err := t.check(); err != nil {
		return err
	}
	t.tally.add(v)
	if !t.opts.Stream {
		if m := t.opts.maxRows(); m >= 0 && len(t.rows) >= m {
			t.unlisted++
			return nil
		}
		c := *v
		c.Evidence = append([]string(nil), v.Evidence...)
		t.rows = append(t.rows, c)
		return nil
	}
	if t.md {
		t.streamMarkdown(v)
	} else {
		t.streamText(v)
	}
	return t.flush()
}

func (t *tableWriter) Close(s Summary) error {
	if err := t.check(); err != nil {
		return err
	}
	t.closed = true
	if t.md {
		t.closeMarkdown(s)
	} else {
		t.closeText(s)
	}
	return t.flush()
}

// --- text ---

const (
	exchangeWidth    = 28 // widest request or response line in the table
	minEvidenceWidth = 30 // evidence is never shortened below this
)

func (t *tableWriter) closeText(s Summary) {
	if t.tally.total == 0 {
		t.str("No TCP resets.\n\n")
	} else {
		if !t.opts.Stream {
			t.str("Vantage point: " + t.tally.vantageNote() + "\n\n")
			for _, group := range byFile(t.rows) {
				if group[0].File != "" {
					t.str(clean(group[0].File) + "\n")
				}
				t.str(t.rstTable(group))
				t.str("\n")
			}
			if n := t.unlistedNote(); n != "" {
				t.str(n + "\n\n")
			}
		} else {
			t.str("\nVantage point: " + t.tally.vantageNote() + "\n\n")
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
		t.summaryTables()
	}
	t.str(captureText(s, t.tally))
}

// unlistedNote says how many RSTs the table left out, or "" when none.
func (t *tableWriter) unlistedNote() string {
	if t.unlisted == 0 {
		return ""
	}
	return fmt.Sprintf("%d more RSTs are not listed: the table stops at the first %d (--rows). "+
		"The summaries below count every RST; -o json or -o csv lists each one.", t.unlisted, len(t.rows))
}

// byFile splits vs into runs of the same input file.
func byFile(vs []rstanalysis.Verdict) [][]rstanalysis.Verdict {
	var groups [][]rstanalysis.Verdict
	start := 0
	for i := 1; i <= len(vs); i++ {
		if i == len(vs) || vs[i].File != vs[start].File {
			groups = append(groups, vs[start:i])
			start = i
		}
	}
	return groups
}

// rstTable renders one row of two lines per verdict:
//
//	FRAME  TIME (UTC)  CLIENT  FROM   ORIGIN  PHASE  REQUEST   EVIDENCE (strongest)
//	       date        SERVER  FLAGS  CONF    CAUSE  RESPONSE  EVIDENCE (next, or the event)
//
// The evidence column takes what is left of Options.Width.
func (t *tableWriter) rstTable(vs []rstanalysis.Verdict) string {
	header := []string{"FRAME", "TIME (UTC)", "CLIENT\nSERVER", "FROM\nFLAGS", "ORIGIN\nCONF",
		"PHASE\nCAUSE", "REQUEST\nRESPONSE", "EVIDENCE"}
	rows := make([][]string, len(vs))
	day := ""
	for i := range vs {
		v := &vs[i]
		ts := v.Time.UTC().Format("15:04:05.000000")
		if d := v.Time.UTC().Format(time.DateOnly); d != day {
			ts += "\n" + d
			day = d
		}
		rows[i] = []string{
			strconv.FormatUint(v.Frame, 10),
			ts,
			endpoint(v.Client) + "\n" + endpoint(v.Server),
			v.From.String() + "\n" + orDash(clean(v.Flags)),
			v.Origin.String() + "\n" + confText(v.Confidence),
			v.Phase.String() + "\n" + v.Cause.String(),
			truncate(orDash(clean(v.Request)), exchangeWidth) + "\n" + truncate(orDash(clean(v.Response)), exchangeWidth),
			"", // evidence, once the other widths are known
		}
	}
	// Each column costs its content plus one space each side.
	used := 0
	for c := 0; c < len(header)-1; c++ {
		w := cellWidth(header[c])
		for _, r := range rows {
			w = max(w, cellWidth(r[c]))
		}
		used += w + 2
	}
	budget := max(t.opts.width()-used-2, minEvidenceWidth)
	for i := range vs {
		var cut bool
		rows[i][len(header)-1], cut = evidenceCell(&vs[i], budget)
		t.abridged = t.abridged || cut
	}
	return renderTable(false, header, rows, nil, []tw.Align{tw.AlignRight})
}

const midstreamNote = "client and server guessed: the capture began mid-connection"

// phaseText is the phase, marked when the capture began mid-connection and
// the phase does not already say so.
func phaseText(v *rstanalysis.Verdict) string {
	if v.Midstream && v.Phase != rstanalysis.PhaseMidstream {
		return v.Phase.String() + " (midstream)"
	}
	return v.Phase.String()
}

// evidenceCell is the strongest evidence line, then the next one or, for a
// later RST of an event, the event it belongs to; cut reports whether
// anything was shortened or left out.
func evidenceCell(v *rstanalysis.Verdict, width int) (cell string, cut bool) {
	var lines []string
	if isFollower(v) {
		lines = append(lines, eventText(v))
	}
	for _, e := range v.Evidence {
		lines = append(lines, clean(e))
	}
	if v.Midstream && v.Phase != rstanalysis.PhaseMidstream {
		lines = append(lines, midstreamNote)
	}
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

// eventText says which event a later RST belongs to and how.
func eventText(v *rstanalysis.Verdict) string {
	s := "↳ event #" + strconv.FormatUint(v.Event, 10)
	if v.Relation != "" {
		s += ": " + clean(v.Relation)
	}
	return s
}

// details lists everything about one verdict, indented by indent.
func details(v *rstanalysis.Verdict, indent string) string {
	var b strings.Builder
	name := "#" + strconv.FormatUint(v.Frame, 10)
	if v.File != "" {
		name = clean(v.File) + " " + name
	}
	fmt.Fprintf(&b, "%s%s  %s  %s → %s\n", indent, name, timestamp(v.Time), endpoint(v.Client), endpoint(v.Server))
	in := indent + "    "
	kv := func(k, v string) { fmt.Fprintf(&b, "%s%-9s %s\n", in, k, v) }
	kv("verdict", fmt.Sprintf("from %s, origin %s (confidence %s), phase %s, cause %s",
		v.From, v.Origin, confText(v.Confidence), phaseText(v), v.Cause))
	pkt := fmt.Sprintf("flags %s  ttl %d  seq %d  ack %d", orDash(clean(v.Flags)), v.TTL, v.Seq, v.Ack)
	if r := rttText(v.RTT); r != "" {
		pkt += "  rtt " + r
	}
	kv("packet", pkt)
	kv("vantage", clean(vantage(v)))
	kv("request", orDash(clean(v.Request)))
	kv("response", orDash(clean(v.Response)))
	if isFollower(v) {
		kv("event", strings.TrimPrefix(eventText(v), "↳ event "))
	}
	if len(v.Evidence) == 0 {
		kv("evidence", "none")
	}
	for i, e := range v.Evidence {
		k := ""
		if i == 0 {
			k = "evidence"
		}
		kv(k, fmt.Sprintf("%d. %s", i+1, clean(e)))
	}
	return b.String()
}

// Stream mode prints one aligned line per RST as it comes; the widths are
// fixed because the rows to come are unknown.
const streamFormat = "%6s  %-15s  %-40s  %-5s  %-6s  %-9s  %-4s  %-13s  %-16s  %-24s  %s\n"

func (t *tableWriter) streamText(v *rstanalysis.Verdict) {
	if !t.started {
		t.started = true
		t.str(strings.TrimRight(fmt.Sprintf(streamFormat, "FRAME", "TIME (UTC)", "CLIENT → SERVER",
			"FLAGS", "FROM", "ORIGIN", "CONF", "PHASE", "CAUSE", "REQUEST", "EVIDENCE"), " \n") + "\n")
	}
	if v.File != t.file {
		t.file = v.File
		t.str("== " + clean(v.File) + "\n")
	}
	if d := v.Time.UTC().Format(time.DateOnly); d != t.day {
		t.day = d
		t.str("-- " + d + "\n")
	}
	var evs []string
	if isFollower(v) {
		evs = append(evs, eventText(v))
	}
	if len(v.Evidence) > 0 {
		evs = append(evs, clean(v.Evidence[0]))
	}
	if v.Midstream && v.Phase != rstanalysis.PhaseMidstream {
		evs = append(evs, midstreamNote)
	}
	ev := orDash(strings.Join(evs, "; "))
	line := fmt.Sprintf(streamFormat, strconv.FormatUint(v.Frame, 10), v.Time.UTC().Format("15:04:05.000000"),
		endpoint(v.Client)+" → "+endpoint(v.Server), orDash(clean(v.Flags)), v.From, v.Origin,
		confText(v.Confidence), v.Phase, v.Cause, truncate(orDash(clean(v.Request)), 24), ev)
	t.str(strings.TrimRight(line, " \n") + "\n")
	if t.opts.Verbose {
		for _, e := range v.Evidence[min(1, len(v.Evidence)):] {
			t.str("        " + clean(e) + "\n")
		}
	} else if len(v.Evidence) > 1 {
		t.abridged = true
	}
}

// summaryTables prints the origin × cause and by-server summaries.
func (t *tableWriter) summaryTables() {
	title := func(s string) {
		if t.md {
			t.str("### " + s + "\n\n")
		} else {
			t.str(s + "\n")
		}
	}
	num := strconv.Itoa
	tl := t.tally

	title("RSTs by origin and cause")
	var rows [][]string
	for _, r := range tl.causeRows() {
		rows = append(rows, []string{r.origin.String(), r.cause.String(), num(r.rsts), percent(r.share),
			num(r.conns), num(r.servers)})
	}
	total := []string{"total", "", num(tl.total), percent(1), num(len(tl.conns)), num(len(tl.servers))}
	right := []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight}
	t.str(renderTable(t.md, t.headers("Origin", "Cause", "RSTs", "Share", "Connections", "Servers"), rows, total, right))
	t.str("\n")

	title("RSTs by server")
	rows = rows[:0]
	srv := tl.serverRows()
	limit := min(len(srv), t.opts.topServers())
	for _, r := range srv[:limit] {
		rows = append(rows, []string{endpoint(r.server), num(r.rsts), num(r.conns), r.origins, r.causes})
	}
	t.str(renderTable(t.md, t.headers("Server", "RSTs", "Connections", "Origins", "Top causes"), rows, nil,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}))
	if rest := srv[limit:]; len(rest) > 0 {
		n := 0
		for _, r := range rest {
			n += r.rsts
		}
		t.str(fmt.Sprintf("\n… and %s more with %s.\n", plural(len(rest), "server"), plural(n, "RST")))
	}
	t.str("\n")
}

// headers are upper case in a terminal table, as given in Markdown.
func (t *tableWriter) headers(names ...string) []string {
	if !t.md {
		for i, n := range names {
			names[i] = strings.ToUpper(n)
		}
	}
	return names
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// captureText is the closing block: what was read and how it went.
func captureText(s Summary, tl *tally) string {
	var b strings.Builder
	b.WriteString("Capture\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "  %-12s %s\n", k, v) }
	for _, l := range captureLines(s, tl) {
		kv(l[0], l[1])
	}
	return b.String()
}

// captureLines are the closing block's label and value pairs.
func captureLines(s Summary, tl *tally) [][2]string {
	var ls [][2]string
	add := func(k, v string) { ls = append(ls, [2]string{k, v}) }
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	inputs := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		inputs[i] = clean(in)
	}
	add("inputs", orDash(strings.Join(inputs, ", ")))
	add("frames", u(s.Frames)+" read, "+u(s.TCPPackets)+" TCP")
	conns := u(s.Connections) + " tracked, "
	if s.MaxOpen > 0 {
		conns += u(s.MaxOpen) + " at most at once, "
	}
	add("connections", conns+u(s.Evicted)+" evicted")
	rsts := plural(tl.total, "RST") + " attributed"
	if s.RSTs != uint64(tl.total) {
		rsts += " of " + u(s.RSTs) + " seen"
	}
	add("resets", rsts)
	if s.Dropped > 0 {
		add("dropped", u(s.Dropped)+" frames (the capture missed packets; verdicts may lack evidence)")
	}
	add("elapsed", s.Elapsed.Round(time.Millisecond).String())
	for i, w := range s.Warnings {
		k := ""
		if i == 0 {
			k = "warnings"
		}
		add(k, clean(w))
	}
	return ls
}

// --- markdown ---

func (t *tableWriter) closeMarkdown(s Summary) {
	if !t.started {
		t.str("## TCP resets\n\n")
	}
	if t.tally.total == 0 {
		t.str("No TCP resets.\n\n")
	} else {
		if !t.opts.Stream {
			t.str("**Vantage point:** " + mdEscape(t.tally.vantageNote()) + "\n\n")
			for _, group := range byFile(t.rows) {
				if group[0].File != "" {
					t.str("### " + mdEscape(clean(group[0].File)) + "\n\n")
				}
				header, rows := mdRSTRows(group)
				t.str(renderTable(true, header, rows, nil, mdRSTAligns))
				t.str("\n")
			}
			if n := t.unlistedNote(); n != "" {
				t.str(mdEscape(n) + "\n\n")
			}
		} else {
			t.str("\n**Vantage point:** " + mdEscape(t.tally.vantageNote()) + "\n\n")
		}
		if t.opts.Verbose && !t.opts.Stream {
			t.str("### Details\n\n")
			for i := range t.rows {
				t.str("```\n" + details(&t.rows[i], "") + "```\n\n")
			}
		}
		t.summaryTables()
	}
	t.str("### Capture\n\n")
	for _, l := range captureLines(s, t.tally) {
		if l[0] == "" {
			t.str("  - " + mdEscape(l[1]) + "\n")
			continue
		}
		t.str("- **" + l[0] + "**: " + mdEscape(l[1]) + "\n")
	}
}

var mdRSTHeader = []string{"Frame", "Time (UTC)", "Client", "Server", "Flags", "From", "Origin", "Conf.",
	"Phase", "Cause", "Request", "Response", "Evidence"}

var mdRSTAligns = []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft,
	tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft}

func mdRSTRow(v *rstanalysis.Verdict) []string {
	var ev []string
	if isFollower(v) {
		ev = append(ev, eventText(v))
	}
	for _, e := range v.Evidence {
		ev = append(ev, clean(e))
	}
	for i := range ev {
		ev[i] = mdEscape(ev[i])
	}
	ts := v.Time.UTC().Format(time.DateOnly + " 15:04:05.000000")
	return []string{strconv.FormatUint(v.Frame, 10), ts, endpoint(v.Client), endpoint(v.Server),
		mdEscape(orDash(clean(v.Flags))), v.From.String(), v.Origin.String(), confText(v.Confidence),
		phaseText(v), v.Cause.String(), mdEscape(orDash(clean(v.Request))),
		mdEscape(orDash(clean(v.Response))), orDash(strings.Join(ev, "<br>"))}
}

func mdRSTRows(vs []rstanalysis.Verdict) (header []string, rows [][]string) {
	rows = make([][]string, len(vs))
	for i := range vs {
		rows[i] = mdRSTRow(&vs[i])
	}
	return mdRSTHeader, rows
}

// streamMarkdown prints a table row per RST; GitHub renders rows of
// differing widths as one table, so no alignment is needed.
func (t *tableWriter) streamMarkdown(v *rstanalysis.Verdict) {
	if !t.started || v.File != t.file {
		if t.started {
			t.str("\n")
		} else {
			t.str("## TCP resets\n\n")
		}
		t.started = true
		t.file = v.File
		if v.File != "" {
			t.str("### " + mdEscape(clean(v.File)) + "\n\n")
		}
		t.str("| " + strings.Join(mdRSTHeader, " | ") + " |\n|")
		for _, a := range mdRSTAligns {
			if a == tw.AlignRight {
				t.str("---:|")
			} else {
				t.str(":---|")
			}
		}
		t.str("\n")
	}
	t.str("| " + strings.Join(mdRSTRow(v), " | ") + " |\n")
}

// mdEscape keeps text from breaking a Markdown table or turning into
// markup: pipes, emphasis, code spans and HTML tags are escaped.
func mdEscape(s string) string {
	return mdReplacer.Replace(s)
}

var mdReplacer = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `*`, `\*`, "`", "\\`", `<`, `&lt;`)

// --- shared ---

// renderTable draws a table with tablewriter: borderless light lines for a
// terminal, or GitHub Markdown. A footer becomes a bold last row in
// Markdown. aligns gives per-column alignment (left by default), used for
// the header too. Trailing spaces are trimmed from every line.
func renderTable(md bool, header []string, rows [][]string, footer []string, aligns []tw.Align) string {
	var buf bytes.Buffer
	var r tw.Renderer
	if md {
		r = renderer.NewMarkdown()
		if footer != nil {
			f := make([]string, len(footer))
			for i, c := range footer {
				if c != "" {
					f[i] = "**" + c + "**"
				}
			}
			rows = append(rows[:len(rows):len(rows)], f)
			footer = nil
		}
	} else {
		r = renderer.NewBlueprint(tw.Rendition{
			Symbols: tw.NewSymbols(tw.StyleLight),
			Borders: tw.Border{Left: tw.Off, Right: tw.Off, Top: tw.Off, Bottom: tw.Off},
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On, ShowFooterLine: tw.On},
			},
		})
	}
	al := make([]tw.Align, len(header))
	for i := range al {
		al[i] = tw.AlignLeft
		if i < len(aligns) && aligns[i] != tw.AlignNone {
			al[i] = aligns[i]
		}
	}
	tb := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(r),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithFooterAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: al}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: al}),
		tablewriter.WithFooterAlignmentConfig(tw.CellAlignment{PerColumn: al}),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithFooterAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	tb.Header(header)
	err := tb.Bulk(rows)
	if footer != nil {
		tb.Footer(footer)
	}
	if err == nil {
		err = tb.Render()
	}
	if err != nil { // tablewriter rejects only malformed input, which rows are not
		return "(table not rendered: " + err.Error() + ")\n"
	}
	var b strings.Builder
	for line := range strings.Lines(buf.String()) {
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteByte('\n')
	}
	return b.String()
}

// cellWidth is the display width of the widest line of a cell.
func cellWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, twwidth.Width(line))
	}
	return w
}

// truncate shortens s to at most width display columns, ending in "…".
func truncate(s string, width int) string {
	if twwidth.Width(s) <= width {
		return s
	}
	if width <= 1 {
		return "…"
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		rw := twwidth.Width(string(r))
		if w+rw > width-1 {
			break
		}
		b.WriteRune(r)
		w += rw
	}
	return strings.TrimRight(b.String(), " ") + "…"
}
