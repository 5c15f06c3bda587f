package report

import (
	"bufio"
	"io"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// WriteLadder writes the ladder of one RST on its own: its title, the
// sequence diagram (text in the table format, a Mermaid block in markdown,
// SVG in a self-contained HTML page), a Wireshark filter for its
// connection and the verdict's evidence, one finding a line. opts gives
// the width of the table format and the time zone; f must be table,
// markdown or HTML, else the error is a *FormatError.
func WriteLadder(w io.Writer, f Format, v *rstanalysis.Verdict, opts Options) error {
	r := newRow(v)
	filter := framesFilter(r.filter, v.Frame, v.Frame)
	loc := opts.loc()
	bw := bufio.NewWriter(w)
	switch f {
	case FormatTable:
		width := opts.width()
		bw.WriteString(strings.Join(wrap(ladderTitle(v), width, "  "), "\n") + "\n")
		bw.WriteString(truncateLines(ladderText(v, loc, width), width))
		bw.WriteString(filterText(filter, width))
		for i, t := range r.texts {
			bw.WriteString(strings.Join(wrap("  "+itoa(i+1)+". "+t, width, "     "), "\n") + "\n")
		}
	case FormatMarkdown:
		bw.WriteString("#### " + mdEscape(ladderTitle(v)) + "\n\n" + ladderMermaid(v, loc))
		bw.WriteString("\nWireshark: `" + filter + "`\n\n")
		for i, t := range r.texts {
			bw.WriteString(itoa(i+1) + ". " + mdEscape(t) + "\n")
		}
	case FormatHTML:
		bw.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(ladderTitle(v)) +
			"</title>\n<style>\n" + htmlStyle + "\n</style>\n</head>\n<body>\n<h1>" + esc(ladderTitle(v)) + "</h1>\n")
		bw.WriteString(ladderSVG(v, loc) + "\n<p>Wireshark display filter:</p>\n<pre><code>" + esc(filter) + "</code></pre>\n<ol>\n")
		for _, t := range r.texts {
			bw.WriteString("<li>" + esc(t) + "</li>\n")
		}
		bw.WriteString("</ol>\n</body>\n</html>\n")
	default:
		return &FormatError{Name: f.String()}
	}
	return bw.Flush()
}

func itoa(n int) string { return Group(uint64(n)) }
