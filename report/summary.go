package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/tw"
)

// The blocks after the RST table, shared by the text and markdown formats:
// the note on unlisted RSTs, the origin × cause and by-server summaries and
// the capture block.

// unlistedNote says how many RSTs the table left out, or "" when none.
func unlistedNote(unlisted, listed int) string {
	if unlisted == 0 {
		return ""
	}
	return fmt.Sprintf("%d more RSTs are not listed: the table stops at the first %d (--rows). "+
		"The summaries below count every RST; -o json or -o csv lists each one.", unlisted, listed)
}

// summaryTables renders the origin × cause and by-server summaries, each
// under a title, as a terminal table or (md) GitHub Markdown; the
// by-server table lists at most topServers servers.
func summaryTables(md bool, tl *tally, topServers int) string {
	var b strings.Builder
	title := func(s string) {
		if md {
			b.WriteString("### " + s + "\n\n")
		} else {
			b.WriteString(s + "\n")
		}
	}
	num := strconv.Itoa

	title("RSTs by origin and cause")
	var rows [][]string
	for _, r := range tl.causeRows() {
		rows = append(rows, []string{r.origin.String(), r.cause.String(), num(r.rsts), percent(r.share),
			num(r.conns), num(r.servers)})
	}
	total := []string{"total", "", num(tl.total), percent(1), num(len(tl.conns)), num(len(tl.servers))}
	right := []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight}
	b.WriteString(renderTable(md, headers(md, "Origin", "Cause", "RSTs", "Share", "Connections", "Servers"), rows, total, right))
	b.WriteString("\n")

	title("RSTs by server")
	rows = rows[:0]
	srv := tl.serverRows()
	limit := min(len(srv), topServers)
	for _, r := range srv[:limit] {
		rows = append(rows, []string{endpoint(r.server), num(r.rsts), num(r.conns), r.origins, r.causes})
	}
	b.WriteString(renderTable(md, headers(md, "Server", "RSTs", "Connections", "Origins", "Top causes"), rows, nil,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}))
	if rest := srv[limit:]; len(rest) > 0 {
		n := 0
		for _, r := range rest {
			n += r.rsts
		}
		fmt.Fprintf(&b, "\n… and %s more with %s.\n", plural(len(rest), "server"), plural(n, "RST"))
	}
	b.WriteString("\n")
	return b.String()
}

// headers are upper case in a terminal table, as given in Markdown.
func headers(md bool, names ...string) []string {
	if !md {
		for i, n := range names {
			names[i] = strings.ToUpper(n)
		}
	}
	return names
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// captureText is the closing block of the text format: what was read and
// how it went.
func captureText(s Summary, tl *tally) string {
	var b strings.Builder
	b.WriteString("Capture\n")
	for _, l := range captureLines(s, tl) {
		fmt.Fprintf(&b, "  %-12s %s\n", l[0], l[1])
	}
	return b.String()
}

// captureMarkdown is captureText as a Markdown list.
func captureMarkdown(s Summary, tl *tally) string {
	var b strings.Builder
	b.WriteString("### Capture\n\n")
	for _, l := range captureLines(s, tl) {
		if l[0] == "" {
			b.WriteString("  - " + mdEscape(l[1]) + "\n")
			continue
		}
		b.WriteString("- **" + l[0] + "**: " + mdEscape(l[1]) + "\n")
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
