package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/tw"
)

// The blocks around the lists, shared by the people formats: the headline
// (counts, span, vantage point, filter), the note on what is not listed,
// the origin × cause and by-server summaries and the capture block.

// headlines are the report's opening label and value pairs.
func headlines(d *digest) [][2]string {
	var ls [][2]string
	add := func(k, v string) { ls = append(ls, [2]string{k, v}) }
	resets := fmt.Sprintf("%s on %s; %s", plural(d.events, "reset event"), plural(len(d.tl.eventConns), "connection"),
		plural(d.tl.total, "RST"))
	var of []string
	if d.follow > 0 {
		of = append(of, Group(uint64(d.follow))+" follow-ups")
	}
	if d.replies > 0 {
		of = append(of, Group(uint64(d.replies))+" late-segment replies after their connection had ended")
	}
	if len(of) > 0 {
		resets += ", of which " + strings.Join(of, " and ")
	}
	if d.s.Connections > 0 {
		resets += fmt.Sprintf(" (%s tracked)", plural(int(d.s.Connections), "connection"))
	}
	add("resets", resets)
	if !d.s.First.IsZero() && !d.s.Last.IsZero() {
		add("capture", spanText(d.s.First, d.s.Last, d.loc))
	}
	if first, last, ok := d.bk.span(); ok {
		add("events", spanText(first, last, d.loc))
	}
	if d.tl.total > 0 {
		add("vantage", clean(d.tl.vantageNote()))
	}
	if d.s.Filter != "" {
		add("filtered", d.s.Filter)
	}
	return ls
}

// spanText is "2026-11-21 06:36:37.784 → 06:36:59.360 UTC, 21.6 s", the
// date again after the arrow when it changes.
func spanText(from, to time.Time, loc *time.Location) string {
	f, t := inLoc(from, loc), inLoc(to, loc)
	if from.Equal(to) {
		return f.Format("2006-01-02 15:04:05.000") + " " + zoneName(loc, from)
	}
	layout := "15:04:05.000"
	if f.YearDay() != t.YearDay() || f.Year() != t.Year() {
		layout = "2006-01-02 15:04:05.000"
	}
	s := f.Format("2006-01-02 15:04:05.000") + " → " + t.Format(layout) + " " + zoneName(loc, from)
	if d := to.Sub(from); d > 0 {
		s += ", " + dur(d)
	}
	return s
}

// noEventsNote stands for the list of events when every RST was a
// late-segment reply.
const noEventsNote = "No reset event: every RST answered a segment that came after its connection had ended " +
	"(late_segment). --rsts lists them."

// moreNote says how many events (or RSTs) the list left out, or "" when
// none.
func moreNote(d *digest) string {
	switch {
	case d.more <= 0:
		return ""
	case d.opts.RSTs:
		return fmt.Sprintf("%s more RSTs are not listed: the list stops at the first %d (--rows). "+
			"The summaries count every RST; -o json or -o csv lists each one.", Group(uint64(d.more)), len(d.rows))
	}
	return fmt.Sprintf("Listed: %d of %s, per origin and cause the first and the latest, then events spread in time "+
		"(--rows; --origin, --cause and --server choose). The summaries count every event; -o json lists every RST.",
		len(d.listed), plural(d.events, "reset event"))
}

// causeTable is the origin × cause summary: events, their RSTs,
// connections and servers, and the first and last event.
func causeTable(d *digest, md bool) (head []string, rows [][]string, foot []string) {
	head = headers(md, "Origin", "Cause", "Events", "RSTs", "Conns", "Servers", "First", "Last")
	layout := "15:04:05"
	if first, last, ok := d.bk.span(); ok && inLoc(first, d.loc).YearDay() != inLoc(last, d.loc).YearDay() {
		layout = "01-02 15:04:05"
	}
	if md {
		layout = "2006-01-02 15:04:05.000"
	}
	at := func(ns int64) string { return inLoc(time.Unix(0, ns), d.loc).Format(layout) }
	num := strconv.Itoa
	events, rsts := 0, 0
	for _, r := range d.causes {
		rows = append(rows, []string{r.origin.String(), r.cause.String(), num(r.events), num(r.rsts), num(r.conns),
			num(r.servers), at(r.first), at(r.last)})
		events += r.events
		rsts += r.rsts
	}
	servers := 0
	for _, st := range d.tl.servers {
		if st.events > 0 {
			servers++
		}
	}
	foot = []string{"total", "", num(events), num(rsts), num(len(d.tl.eventConns)), num(servers), "", ""}
	return head, rows, foot
}

// followNote says how many RSTs were follow-ups of their event and how
// many were late-segment replies, by their own origin and cause; "" when
// none were.
func followNote(d *digest) string {
	count := func(m map[cellKey]int) string {
		var cs []countOf
		for k, n := range m {
			cs = append(cs, countOf{k.origin.String() + " " + k.cause.String(), n})
		}
		return joinCounts(cs, 4)
	}
	var parts []string
	if d.follow > 0 {
		parts = append(parts, fmt.Sprintf("Follow-ups, the RSTs after the first of their event: %s (%s), counted in their event's row above.",
			Group(uint64(d.follow)), count(d.bk.follow)))
	}
	if d.replies > 0 {
		parts = append(parts, fmt.Sprintf("Late-segment replies, the RSTs that answered a segment after their connection had ended, "+
			"and those that followed them: %s (%s), in no event.", Group(uint64(d.replies)), count(d.bk.replies)))
	}
	return strings.Join(parts, " ")
}

// serverTable is the by-server summary, at most topServers rows, and a
// note on the rest.
func serverTable(d *digest, md bool) (head []string, rows [][]string, rest string) {
	head = headers(md, "Server", "Events", "RSTs", "Conns", "Origins", "Top causes")
	limit := min(len(d.servers), d.opts.topServers())
	num := strconv.Itoa
	for _, r := range d.servers[:limit] {
		rows = append(rows, []string{endpoint(r.server), num(r.events), num(r.rsts), num(r.conns), r.origins, r.causes})
	}
	if more := d.servers[limit:]; len(more) > 0 {
		n := 0
		for _, r := range more {
			n += r.events
		}
		rest = fmt.Sprintf("… and %s more with %s.", plural(len(more), "server"), plural(n, "event"))
	}
	return head, rows, rest
}

var causeAligns = []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight,
	tw.AlignLeft, tw.AlignLeft}
var serverAligns = []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}

// headers are upper case in a terminal table, as given elsewhere.
func headers(md bool, names ...string) []string {
	if !md {
		for i, n := range names {
			names[i] = strings.ToUpper(n)
		}
	}
	return names
}

// captureLines are the closing block's label and value pairs: what was
// read and how it went.
func captureLines(s Summary, d *digest) [][2]string {
	var ls [][2]string
	add := func(k, v string) { ls = append(ls, [2]string{k, v}) }
	u := func(n uint64) string { return Group(n) }
	inputs := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		inputs[i] = clean(in)
	}
	add("inputs", orDash(strings.Join(inputs, ", ")))
	add("frames", u(s.Frames)+" read, "+u(s.TCPPackets)+" TCP")
	conns := u(s.Connections) + " tracked, " + u(uint64(len(d.tl.conns))) + " reset, "
	if s.MaxOpen > 0 {
		conns += u(s.MaxOpen) + " at most at once, "
	}
	add("connections", conns+u(s.Evicted)+" evicted")
	rsts := plural(d.tl.total, "RST") + " attributed"
	if s.RSTs != uint64(d.tl.total) && s.Filter == "" {
		rsts += " of " + u(s.RSTs) + " seen"
	}
	add("resets", rsts)
	if s.Dropped > 0 {
		add("dropped", u(s.Dropped)+" frames (the capture missed packets; verdicts may lack evidence)")
	}
	ls = append(ls, jointLines(s)...)
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

// pairsText renders label and value pairs for a terminal, each value
// wrapped to width under its label.
func pairsText(title string, ls [][2]string, width int) string {
	var b strings.Builder
	indent := "  "
	if title != "" {
		b.WriteString(title + "\n")
	} else {
		indent = ""
	}
	const labelW = 12
	for _, l := range ls {
		lead := indent + fmt.Sprintf("%-*s ", labelW, l[0])
		for i, line := range wrap(l[1], width-len(lead), "") {
			if i > 0 {
				lead = strings.Repeat(" ", len(lead))
			}
			b.WriteString(strings.TrimRight(lead+line, " ") + "\n")
		}
	}
	return b.String()
}

// pairsMarkdown renders label and value pairs as a Markdown list.
func pairsMarkdown(ls [][2]string) string {
	var b strings.Builder
	for _, l := range ls {
		if l[0] == "" {
			b.WriteString("  - " + mdEscape(l[1]) + "\n")
			continue
		}
		b.WriteString("- **" + l[0] + "**: " + mdEscape(l[1]) + "\n")
	}
	return b.String()
}
