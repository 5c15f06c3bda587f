package pipeline

import (
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// counts is what the status line shows.
type counts struct {
	frames   uint64 // frames read, of every kind
	tcp      uint64 // TCP segments analysed
	dropped  uint64 // frames the kernel or the interface dropped (pcap_stats)
	open     int    // connections tracked now
	evicted  uint64 // connections evicted because the table was full
	expired  uint64 // connections forgotten after their idle or closed timeout
	pending  int    // RSTs whose verdict waits for its grace period
	byOrigin [rstanalysis.OriginMiddlebox + 1]uint64
}

// statusText renders c in at most width columns (0: no limit), the
// counts by origin first, since a narrow terminal cuts the end, e.g.
//
//	RSTs server 3 client 1 middlebox 0 unknown 2 (1 pending)  live 0:12  1,240 pkts (1,234 tcp)  0 dropped  42 open (0 evicted, 3 expired)
func statusText(c *counts, elapsed time.Duration, width int) string {
	s := fmt.Sprintf("RSTs server %s client %s middlebox %s unknown %s",
		report.Group(c.byOrigin[rstanalysis.OriginServer]), report.Group(c.byOrigin[rstanalysis.OriginClient]),
		report.Group(c.byOrigin[rstanalysis.OriginMiddlebox]), report.Group(c.byOrigin[rstanalysis.OriginUnknown]))
	if c.pending > 0 {
		s += fmt.Sprintf(" (%d pending)", c.pending)
	}
	s += fmt.Sprintf("  live %s  %s pkts (%s tcp)  %s dropped  %s open (%s evicted, %s expired)",
		clock(elapsed), report.Group(c.frames), report.Group(c.tcp), report.Group(c.dropped), report.Group(uint64(c.open)), report.Group(c.evicted), report.Group(c.expired))
	if width > 0 && utf8.RuneCountInString(s) >= width {
		// Never wrap: a wrapped line cannot be erased with \r.
		r := []rune(s)
		s = string(r[:max(width-2, 0)]) + "…"
	}
	return s
}

// clock renders d as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// statusLine is the one line of live counters on a terminal's stderr,
// redrawn in place with \r. A nil *statusLine draws nothing, for stderr
// that is not a terminal.
type statusLine struct {
	w     io.Writer
	width int // terminal columns; 0: unknown
	shown bool
}

// draw replaces the line with the current counts.
func (s *statusLine) draw(c *counts, elapsed time.Duration) {
	if s == nil {
		return
	}
	fmt.Fprintf(s.w, "\r%s\x1b[K", statusText(c, elapsed, s.width))
	s.shown = true
}

// clear erases the line, so that a verdict printed to the same terminal
// starts on a clean line; the next draw brings it back.
func (s *statusLine) clear() {
	if s == nil || !s.shown {
		return
	}
	io.WriteString(s.w, "\r\x1b[K")
	s.shown = false
}
