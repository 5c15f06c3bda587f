package report

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/rstscope/rstscope/rstanalysis"
)

// A ladder is a sequence diagram of the packets around a RST: a lane for
// the client, one for the server and, when the verdict says a middlebox
// made the RST, one for it in between; an arrow per packet with its flags,
// relative seq and ack, payload length and TTL, the time since the
// previous packet, and the RST marked.

// rung is one arrow of a ladder.
type rung struct {
	frame  uint64
	gap    string // time since the previous packet ("+21.0 ms"), the clock for the first
	from   byte   // 'C', 'S' or 'M'
	to     byte
	label  string // "P. seq 1 ack 1 len 78 ttl 64"
	rst    bool   // the packet is a RST
	theRST bool   // the verdict's own RST
}

// rungs turns v's ladder into arrows; the clock of the first is shown in
// loc.
func rungs(v *rstanalysis.Verdict, loc *time.Location) []rung {
	l := v.Ladder
	if l == nil {
		return nil
	}
	var out []rung
	var prev time.Time
	for i, s := range l.Segments {
		r := rung{frame: s.Frame, rst: s.IsRST(), theRST: s.RST, from: 'C', to: 'S'}
		if s.From == rstanalysis.Server {
			r.from, r.to = 'S', 'C'
		}
		if s.RST && v.Origin == rstanalysis.OriginMiddlebox {
			r.from = 'M'
		}
		if i == 0 {
			r.gap = inLoc(s.Time, loc).Format("15:04:05.000")
		} else {
			r.gap = "+" + dur(s.Time.Sub(prev))
		}
		prev = s.Time
		r.label = segmentLabel(l, s)
		out = append(out, r)
	}
	return out
}

// segmentLabel describes s: flags, relative seq and ack, length, TTL.
func segmentLabel(l *rstanalysis.Ladder, s rstanalysis.Segment) string {
	seq, ack, seqOK, ackOK := l.Relative(s)
	var b strings.Builder
	if s.IsRST() {
		b.WriteString("RST ")
	}
	b.WriteString(s.Flags.String())
	num := func(name string, n uint32, rel bool) {
		b.WriteString(" " + name + " " + strconv.FormatUint(uint64(n), 10))
		if !rel {
			b.WriteString(" (abs)")
		}
	}
	num("seq", seq, seqOK)
	if s.HasACK() {
		num("ack", ack, ackOK)
	}
	if s.Len > 0 {
		b.WriteString(" len " + strconv.Itoa(s.Len))
	}
	b.WriteString(" ttl " + strconv.Itoa(int(s.TTL)))
	return b.String()
}

// ladderTitle names the event a ladder shows.
func ladderTitle(v *rstanalysis.Verdict) string {
	who := v.Origin.String()
	if v.Origin == rstanalysis.OriginMiddlebox {
		who = "a middlebox, as the " + v.From.String()
	} else if v.Origin == rstanalysis.OriginUnknown {
		who = "unknown, claiming the " + v.From.String()
	}
	where := ""
	if v.File != "" {
		where = clean(v.File) + " "
	}
	return fmt.Sprintf("%s: %sframe %d, %s → %s, RST by %s (%s)", v.Cause, where, v.Frame, endpoint(v.Client),
		endpoint(v.Server), who, confText(v.Confidence))
}

// ladderText draws v's ladder in at most width columns (0: 100).
func ladderText(v *rstanalysis.Verdict, loc *time.Location, width int) string {
	rs := rungs(v, loc)
	if len(rs) == 0 {
		return "  (no packets of this connection around the RST)\n"
	}
	if width <= 0 {
		width = 100
	}
	gapW := 0
	for _, r := range rs {
		gapW = max(gapW, twwidth.Width(r.gap))
	}
	lead := 2 + 6 + 2 + gapW + 2
	lane := max(width-lead, 24) // from the client's bar to the server's
	mid := lane / 2
	var b strings.Builder
	head := pad("", lead, false) + "client" + strings.Repeat(" ", max(1, lane-len("client")-len("server"))) + "server"
	if v.Origin == rstanalysis.OriginMiddlebox {
		h := []rune(pad("", lead, false) + strings.Repeat(" ", lane))
		copy(h[lead:], []rune("client"))
		copy(h[lead+mid-4:], []rune("middlebox"))
		copy(h[lead+lane-6:], []rune("server"))
		head = string(h)
	}
	b.WriteString(strings.TrimRight(head, " ") + "\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "  %6d  %s  %s\n", r.frame, pad(r.gap, gapW, true), strings.TrimRight(arrow(r, lane, mid), " "))
	}
	return b.String()
}

// arrow draws r across a lane of width w, the middlebox at column mid.
func arrow(r rung, w, mid int) string {
	line, head := "─", "▶"
	if r.rst {
		line = "═"
	}
	lo, hi := 0, w-1 // client and server bars
	if r.from == 'M' {
		if r.to == 'C' {
			hi = mid
		} else {
			lo = mid
		}
	}
	span := hi - lo - 1
	label := " " + r.label + " "
	if r.theRST {
		label = " " + r.label + " ✕ "
	}
	label = truncate(label, max(span-4, 1))
	fill := span - 1 - twwidth.Width(label)
	left := max(fill/2, 1)
	right := max(fill-left, 1)
	var body string
	if r.to == 'S' {
		body = strings.Repeat(line, left) + label + strings.Repeat(line, right) + head
	} else {
		body = "◀" + strings.Repeat(line, left) + label + strings.Repeat(line, right)
	}
	cells := []rune(strings.Repeat(" ", w))
	cells[0], cells[w-1] = '│', '│'
	if r.from == 'M' {
		cells[mid] = '●'
	}
	out := string(cells[:lo+1]) + body + string(cells[hi:])
	return out
}

// ladderMermaid draws v's ladder as a Mermaid sequenceDiagram; RSTs end in
// a cross.
func ladderMermaid(v *rstanalysis.Verdict, loc *time.Location) string {
	rs := rungs(v, loc)
	if len(rs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("```mermaid\nsequenceDiagram\n")
	fmt.Fprintf(&b, "    participant C as client %s\n", mermaidText(endpoint(v.Client)))
	if v.Origin == rstanalysis.OriginMiddlebox {
		b.WriteString("    participant M as middlebox\n")
	}
	fmt.Fprintf(&b, "    participant S as server %s\n", mermaidText(endpoint(v.Server)))
	for _, r := range rs {
		op := "->>"
		if r.rst {
			op = "-x"
		}
		text := fmt.Sprintf("%d: %s (%s)", r.frame, r.label, r.gap)
		fmt.Fprintf(&b, "    %c%s%c: %s\n", r.from, op, r.to, mermaidText(text))
		if r.theRST {
			fmt.Fprintf(&b, "    Note over %c: the RST this ladder explains\n", r.from)
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// mermaidText keeps text from ending a Mermaid statement: ';' and '#'
// (which starts an entity code) become commas and "no.", and line breaks
// spaces.
func mermaidText(s string) string {
	return strings.NewReplacer(";", ",", "#", "no. ", "\n", " ", "\r", " ").Replace(clean(s))
}

// ladderSVG draws v's ladder as an SVG sequence diagram.
func ladderSVG(v *rstanalysis.Verdict, loc *time.Location) string {
	rs := rungs(v, loc)
	if len(rs) == 0 {
		return ""
	}
	const w, left, right, rowH, top = 1000, 260, 820, 34, 50
	mid := (left + right) / 2
	h := top + rowH*len(rs) + 20
	x := map[byte]int{'C': left, 'S': right, 'M': mid}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(ladderTitle(v)))
	b.WriteString(`<defs><marker id="ah" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker>` +
		`<marker id="ax" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" refX="5" refY="5" orient="auto"><path d="M0,0 L10,10 M10,0 L0,10" stroke="#c00" stroke-width="2"/></marker></defs>`)
	lanes := []struct {
		id   byte
		name string
	}{{'C', "client " + endpoint(v.Client)}, {'S', "server " + endpoint(v.Server)}}
	if v.Origin == rstanalysis.OriginMiddlebox {
		lanes = append(lanes, struct {
			id   byte
			name string
		}{'M', "middlebox"})
	}
	for _, l := range lanes {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999" stroke-dasharray="4 3"/><text x="%d" y="%d" font-size="12" text-anchor="middle" font-weight="bold">%s</text>`,
			x[l.id], top-14, x[l.id], h-10, x[l.id], top-22, html.EscapeString(l.name))
	}
	for i, r := range rs {
		y := top + rowH*i + rowH/2
		color, marker := "#333", "ah"
		if r.rst {
			color, marker = "#c00", "ax"
		}
		weight := "1.5"
		if r.theRST {
			weight = "3"
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="11" font-family="monospace">%d  %s</text>`, y+4, r.frame, html.EscapeString(r.gap))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%s" marker-end="url(#%s)"/>`,
			x[r.from], y, x[r.to], y, color, weight, marker)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="middle" fill="%s">%s</text>`,
			(x[r.from]+x[r.to])/2, y-5, color, html.EscapeString(r.label))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
