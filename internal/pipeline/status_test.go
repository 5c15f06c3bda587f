package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rstscope/rstscope/rstanalysis"
)

func TestStatusText(t *testing.T) {
	c := &counts{frames: 1_234_567, tcp: 1_200_000, dropped: 12, open: 4321, evicted: 1000, expired: 7, pending: 2}
	c.byOrigin[rstanalysis.OriginServer] = 3
	c.byOrigin[rstanalysis.OriginClient] = 1
	c.byOrigin[rstanalysis.OriginMiddlebox] = 5
	c.byOrigin[rstanalysis.OriginUnknown] = 2
	full := "RSTs server 3 client 1 middlebox 5 unknown 2 (2 pending)  " +
		"live 1:01:05  1,234,567 pkts (1,200,000 tcp)  12 dropped  4,321 open (1,000 evicted, 7 expired)"
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"no limit", 0, full},
		{"wide terminal", 200, full},
		{"narrow terminal: the counts by origin stay", 60, full[:58] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := statusText(c, time.Hour+65*time.Second, tt.width)
			if got != tt.want {
				t.Errorf("statusText:\n got %q\nwant %q", got, tt.want)
			}
			if tt.width > 0 && utf8.RuneCountInString(got) >= tt.width {
				t.Errorf("%d runes, does not fit in %d columns without wrapping", utf8.RuneCountInString(got), tt.width)
			}
		})
	}
}

func TestStatusLineClear(t *testing.T) {
	var buf bytes.Buffer
	s := &statusLine{w: &buf}
	s.clear() // nothing shown yet: nothing to erase
	if buf.Len() != 0 {
		t.Errorf("clear before draw wrote %q", buf.String())
	}
	s.draw(&counts{}, 0)
	s.clear()
	s.clear()
	if got := buf.String(); !strings.HasPrefix(got, "\rRSTs server 0") || !strings.HasSuffix(got, "\x1b[K\r\x1b[K") ||
		strings.Count(got, "\r") != 2 {
		t.Errorf("draw then clear twice wrote %q, want one line and one erase", got)
	}
	var nilLine *statusLine // stderr is not a terminal
	nilLine.draw(&counts{}, 0)
	nilLine.clear()
}
