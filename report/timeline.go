package report

import (
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/rstscope/rstscope/rstanalysis"
)

// timeline counts reset events per interval, by origin, over the span of
// the capture (or of the events when the capture's is unknown). The
// interval is the shortest round step that cuts the span into at most
// maxBuckets intervals.
type timeline struct {
	start  time.Time // the first interval's start, in the report's zone
	step   time.Duration
	counts [][4]int // per interval, by origin in originOrder
	layout string   // how interval starts are labelled
	zone   string
	ok     bool // there is at least one event
}

const maxBuckets = 24

// timelineSteps are the intervals a timeline may use.
// A second is the shortest: a finer timeline says nothing an incident
// review needs.
var timelineSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

func newTimeline(recs []eventRec, from, to time.Time, loc *time.Location) timeline {
	tl := timeline{zone: zoneName(loc, from)}
	if len(recs) == 0 {
		return tl
	}
	tl.ok = true
	if to.Before(from) {
		from, to = to, from
	}
	span := to.Sub(from)
	tl.step = timelineSteps[len(timelineSteps)-1]
	for _, s := range timelineSteps {
		if span/s < maxBuckets {
			tl.step = s
			break
		}
	}
	for tl.step*maxBuckets <= span { // spans of weeks: whole days
		tl.step += 24 * time.Hour
	}
	tl.start = inLoc(from.Truncate(tl.step), loc)
	n := int(to.Sub(tl.start)/tl.step) + 1
	tl.counts = make([][4]int, n)
	for _, r := range recs {
		i := int(time.Unix(0, r.first).Sub(tl.start) / tl.step)
		i = min(max(i, 0), n-1)
		tl.counts[i][originRank(r.origin)]++
	}
	days := inLoc(to, loc).YearDay() != tl.start.YearDay() || to.Sub(from) >= 24*time.Hour
	switch {
	case tl.step >= 24*time.Hour:
		tl.layout = time.DateOnly
	case tl.step < time.Minute:
		tl.layout = time.TimeOnly
	default:
		tl.layout = "15:04"
	}
	if days && tl.step < 24*time.Hour {
		tl.layout = "01-02 " + tl.layout
	}
	return tl
}

// originRank is o's place in originOrder.
func originRank(o rstanalysis.Origin) int {
	if i := slices.Index(originOrder[:], o); i >= 0 {
		return i
	}
	return len(originOrder) - 1
}

// label names interval i by its start.
func (tl *timeline) label(i int) string {
	return tl.start.Add(time.Duration(i) * tl.step).Format(tl.layout)
}

// title is "Reset events per 10 s (UTC)".
func (tl *timeline) title() string {
	return fmt.Sprintf("Reset events per %s (%s)", stepName(tl.step), tl.zone)
}

func stepName(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d >= time.Minute:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d >= time.Second:
		return strconv.Itoa(int(d/time.Second)) + " s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + " ms"
}

// The bar characters of the text chart, by origin in originOrder.
var barChars = [4]string{"█", "▓", "▒", "░"}

// text draws the timeline as horizontal bars, one line per interval, in
// at most width columns.
func (tl *timeline) text(width int) string {
	if !tl.ok {
		return ""
	}
	var b strings.Builder
	b.WriteString(tl.title() + ": ")
	legend := make([]string, len(originOrder))
	for i, o := range originOrder {
		legend[i] = barChars[i] + " " + o.String()
	}
	for i, l := range wrap(strings.Join(legend, "  "), width-twwidth.Width(tl.title())-2, "") {
		if i > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString(l)
	}
	b.WriteString("\n")
	most := 0
	for _, c := range tl.counts {
		most = max(most, c[0]+c[1]+c[2]+c[3])
	}
	labelW := twwidth.Width(tl.label(0))
	room := width - 2 - labelW - 2 - 1 - len(strconv.Itoa(most))
	if width <= 0 {
		room = 60
	}
	room = max(room, 4)
	empty := func(i int) bool { return i >= 0 && i < len(tl.counts) && tl.counts[i] == [4]int{} }
	for i, c := range tl.counts {
		total := c[0] + c[1] + c[2] + c[3]
		if empty(i) && empty(i-1) && empty(i+1) { // a run of quiet intervals: one line
			if !empty(i - 2) {
				b.WriteString("  " + strings.Repeat(" ", labelW/2) + "⋮\n")
			}
			continue
		}
		line := "  " + tl.label(i) + "  "
		for o, n := range c {
			line += strings.Repeat(barChars[o], barLen(n, most, room))
		}
		if total > 0 {
			line += " " + strconv.Itoa(total)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// barLen is n's share of room, scaled so the largest total fills it; at
// least one character for any n above 0.
func barLen(n, most, room int) int {
	if n == 0 {
		return 0
	}
	if most <= room {
		return n
	}
	return max(1, n*room/most)
}

// series returns, for the stacked charts, the cumulative counts: series k
// is the sum of the origins from k to the last, so that bars drawn in
// order, each over the previous, show every origin's part.
func (tl *timeline) series() [4][]int {
	var s [4][]int
	for k := range s {
		s[k] = make([]int, len(tl.counts))
		for i, c := range tl.counts {
			for o := k; o < 4; o++ {
				s[k][i] += c[o]
			}
		}
	}
	return s
}

// The colours of the origins in the charts, in originOrder: blue, orange,
// red, grey.
var originColors = [4]string{"#4e79a7", "#f28e2b", "#e15759", "#9c9c9c"}

// mermaid draws the timeline as a Mermaid xychart-beta: one bar series per
// origin, each the sum of the origins from it on, drawn in order so that
// they stack (server at the top, unknown at the bottom).
func (tl *timeline) mermaid() string {
	if !tl.ok {
		return ""
	}
	var b strings.Builder
	b.WriteString("```mermaid\n---\nconfig:\n  themeVariables:\n    xyChart:\n      plotColorPalette: \"" +
		strings.Join(originColors[:], ", ") + "\"\n---\nxychart-beta\n")
	fmt.Fprintf(&b, "    title \"%s\"\n", tl.title())
	labels := make([]string, len(tl.counts))
	for i := range tl.counts {
		labels[i] = strconv.Quote(tl.label(i))
	}
	fmt.Fprintf(&b, "    x-axis [%s]\n", strings.Join(labels, ", "))
	s := tl.series()
	top := 1
	for _, n := range s[0] {
		top = max(top, n)
	}
	fmt.Fprintf(&b, "    y-axis \"events\" 0 --> %d\n", top)
	for _, ser := range s {
		nums := make([]string, len(ser))
		for i, n := range ser {
			nums[i] = strconv.Itoa(n)
		}
		fmt.Fprintf(&b, "    bar [%s]\n", strings.Join(nums, ", "))
	}
	b.WriteString("```\n")
	return b.String()
}

// legendWords names the charts' colours: "blue: server, orange: client, …".
func legendWords() string {
	names := [4]string{"blue", "orange", "red", "grey"}
	parts := make([]string, len(originOrder))
	for i, o := range originOrder {
		parts[i] = names[i] + " " + o.String()
	}
	return strings.Join(parts, ", ")
}

// svg draws the timeline as stacked bars, with the interval labels under
// them and a legend.
func (tl *timeline) svg() string {
	if !tl.ok {
		return ""
	}
	const w, h, left, bottom, top = 900, 260, 40, 60, 20
	n := len(tl.counts)
	bw := float64(w-left-10) / float64(n)
	most := 1
	for _, c := range tl.counts {
		most = max(most, c[0]+c[1]+c[2]+c[3])
	}
	scale := float64(h-top-bottom) / float64(most)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(tl.title()))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>`, left, h-bottom, w-10, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>`, left-4, top+4, most)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`, left-4, h-bottom)
	every := max(1, n/8)
	for i, c := range tl.counts {
		x, y := float64(left)+float64(i)*bw, float64(h-bottom)
		for o := range c {
			if c[o] == 0 {
				continue
			}
			hh := float64(c[o]) * scale
			y -= hh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`,
				x+1, y, bw-2, hh, originColors[o], html.EscapeString(tl.label(i)), c[o], originOrder[o])
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+16, html.EscapeString(tl.label(i)))
		}
	}
	for i, o := range originOrder {
		x := left + i*120
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12">%s</text>`,
			x, h-22, originColors[i], x+16, h-12, o)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
