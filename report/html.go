package report

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// htmlWriter renders one self-contained HTML page: inline style, SVG
// charts, no script and no request at view time, so that the file can be
// attached to a ticket and opened anywhere. Everything from the wire is
// escaped. It is written at Close, whatever Options.Stream says.
type htmlWriter struct {
	sheet
}

func newHTMLWriter(w io.Writer, opts Options) *htmlWriter {
	opts.Stream = false
	return &htmlWriter{sheet: newSheet(w, opts)}
}

func (h *htmlWriter) Write(v *rstanalysis.Verdict) error {
	if err := h.check(); err != nil {
		return err
	}
	h.take(v)
	return nil
}

// esc escapes text for HTML, after cleaning control characters off it.
func esc(s string) string { return html.EscapeString(clean(s)) }

const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1em}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f6f6;padding:6px;overflow-x:auto;white-space:pre-wrap}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dt{font-weight:bold}dd{margin:0}.middlebox{color:#b00}.server{color:#235}.client{color:#a50}.unknown{color:#666}
svg{max-width:100%;height:auto;background:#fff}div.wide{overflow-x:auto}td{white-space:nowrap}td.w{white-space:normal;min-width:16em}`

func (h *htmlWriter) Close(s Summary) error {
	if err := h.check(); err != nil {
		return err
	}
	h.closed = true
	d := h.digest(s, 0)
	h.str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>TCP resets")
	if len(s.Inputs) > 0 {
		h.str(": " + esc(strings.Join(s.Inputs, ", ")))
	}
	h.str("</title>\n<style>\n" + htmlStyle + "\n</style>\n</head>\n<body>\n<h1>TCP resets</h1>\n")
	h.str(htmlPairs("summary", headlines(d)))
	if h.tally.total == 0 {
		h.str("<p>No TCP resets.</p>\n")
	} else {
		h.body(d)
	}
	h.str("<h2 id=\"capture\">Capture</h2>\n" + htmlPairs("capture", captureLines(s, d)))
	h.str("</body>\n</html>\n")
	return h.flush()
}

func (h *htmlWriter) body(d *digest) {
	h.str("<h2 id=\"timeline\">Timeline</h2>\n" + d.tline.svg() + "\n")
	if h.opts.RSTs {
		h.str("<h2 id=\"events\">RSTs</h2>\n")
		h.str(htmlTable(htmlRSTHeader(d), htmlRSTRows(d), map[int]bool{0: true, 7: true}))
	} else {
		h.str("<h2 id=\"events\">Reset events</h2>\n")
		if len(d.listed) == 0 {
			h.str("<p>" + esc(noEventsNote) + "</p>\n")
		}
		for _, g := range eventsByFile(d.listed) {
			if g[0].r.fileText != "" {
				h.str("<h3>" + esc(g[0].r.fileText) + "</h3>\n")
			}
			h.str(htmlTable(htmlEventHeader(d), htmlEventRows(d, g), map[int]bool{0: true, 7: true, 10: true}))
		}
	}
	if n := moreNote(d); n != "" {
		h.str("<p>" + esc(n) + "</p>\n")
	}
	h.str("<h2 id=\"causes\">By origin and cause</h2>\n")
	head, rows, foot := causeTable(d, true)
	h.str(htmlTable(head, escRows(append(rows, foot)), map[int]bool{2: true, 3: true, 4: true, 5: true}))
	if n := followNote(d); n != "" {
		h.str("<p>" + esc(n) + "</p>\n")
	}
	h.str("<h2 id=\"next\">What to check next</h2>\n<ul>\n")
	for _, e := range d.bk.representatives() {
		when := inLoc(e.v.Time, d.loc).Format("15:04:05")
		h.str(fmt.Sprintf("<li><b>%s</b> (frame %d): %s</li>\n", esc(e.v.Cause.String()), e.v.Frame, esc(nextStep(&e.v, when))))
	}
	h.str("</ul>\n<h2 id=\"ladders\">Ladders</h2>\n<p>The packets around a RST, one event per cause: seq and ack relative, as Wireshark shows them; red arrows are RSTs, the thick one the RST the ladder explains.</p>\n")
	for _, e := range d.ladders {
		h.str("<h3>" + esc(ladderTitle(&e.v)) + "</h3>\n")
		if svg := ladderSVG(&e.v, d.loc); svg != "" {
			h.str(svg + "\n")
		} else {
			h.str("<p>No packets of this connection around the RST.</p>\n")
		}
		h.str("<p>Wireshark display filter:</p>\n<pre><code>" + esc(framesFilter(e.r.filter, e.v.Frame, d.rec(e).lastFrame)) + "</code></pre>\n")
	}
	h.str("<h2 id=\"servers\">By server</h2>\n")
	head, rows, rest := serverTable(d, true)
	h.str(htmlTable(head, escRows(rows), map[int]bool{1: true, 2: true, 3: true}))
	if rest != "" {
		h.str("<p>" + esc(rest) + "</p>\n")
	}
	if h.opts.Verbose {
		h.str("<h2 id=\"details\">Details</h2>\n")
		for _, r := range detailRows(d) {
			h.str("<pre>" + esc(details(&r, "", d.loc)) + "</pre>\n")
		}
	}
}

// htmlPairs renders label and value pairs as a definition list.
func htmlPairs(class string, ls [][2]string) string {
	var b strings.Builder
	b.WriteString("<dl class=\"" + class + "\">\n")
	for _, l := range ls {
		b.WriteString("<dt>" + esc(l[0]) + "</dt><dd>" + esc(l[1]) + "</dd>\n")
	}
	b.WriteString("</dl>\n")
	return b.String()
}

// htmlTable renders a table whose cells are already HTML; the columns in
// num are right-aligned.
func htmlTable(head []string, rows [][]string, num map[int]bool) string {
	var b strings.Builder
	b.WriteString("<div class=\"wide\"><table>\n<thead><tr>")
	for _, c := range head {
		b.WriteString("<th>" + esc(c) + "</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for i, c := range r {
			switch {
			case num[i]:
				b.WriteString("<td class=\"n\">" + c + "</td>")
			case len(c) > 40:
				b.WriteString("<td class=\"w\">" + c + "</td>")
			default:
				b.WriteString("<td>" + c + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table></div>\n")
	return b.String()
}

func escRows(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, c := range r {
			out[i][j] = esc(c)
		}
	}
	return out
}

func htmlEventHeader(d *digest) []string {
	return []string{"Frame", "Time (" + d.zone() + ")", "Client", "Server", "First RST by", "Origin", "Phase", "Conf.",
		"Cause", "Request → response", "RSTs", "Why", "Zeek", "Wireshark filter"}
}

func htmlEventRows(d *digest, es []*event) [][]string {
	var rows [][]string
	for _, e := range es {
		r, rec := &e.r, d.rec(e)
		rows = append(rows, []string{esc(r.frame), esc(mdTime(r, d)), esc(r.client), esc(r.server), esc(r.from),
			`<span class="` + esc(r.origin) + `">` + esc(r.origin) + `</span>`, esc(r.phaseNote), esc(r.conf), esc(r.cause),
			esc(exchange(r)), esc(rstsCell(e, rec)), esc(orDash(r.why)), esc(zeekCell(r)),
			"<code>" + esc(r.filter) + "</code>"})
	}
	return rows
}

func htmlRSTHeader(d *digest) []string {
	return []string{"Frame", "Time (" + d.zone() + ")", "Client", "Server", "Flags", "From", "Origin", "Conf.",
		"Phase", "Cause", "Request", "Response", "Evidence", "Wireshark filter"}
}

func htmlRSTRows(d *digest) [][]string {
	var rows [][]string
	for i := range d.rows {
		r := &d.rows[i]
		ev := make([]string, 0, len(r.evidence))
		for _, l := range r.eventAndTexts() {
			ev = append(ev, esc(l))
		}
		rows = append(rows, []string{esc(r.frame), esc(mdTime(r, d)), esc(r.client), esc(r.server), esc(r.flags), esc(r.from),
			`<span class="` + esc(r.origin) + `">` + esc(r.origin) + `</span>`, esc(r.conf), esc(r.phaseNote), esc(r.cause),
			esc(r.request), esc(r.response), orDash(strings.Join(ev, "<br>")), "<code>" + esc(r.filter) + "</code>"})
	}
	return rows
}
