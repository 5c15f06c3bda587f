package report

import (
	"bytes"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

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
