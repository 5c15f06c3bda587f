package rstanalysis

import (
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestTick: a verdict waits for its grace period in wall-clock time when no
// packet follows its RST, and Tick releases it once the period is over.
func TestTick(t *testing.T) {
	c := newConv(40001)
	c.cli(capture.SYN, "")
	c.after(time.Millisecond).srv(capture.RST|capture.ACK, "")
	rst := c.pkts[len(c.pkts)-1].Time

	tests := []struct {
		name string
		at   time.Time // Tick's now
		want int       // verdicts emitted
	}{
		{"zero time does nothing", time.Time{}, 0},
		{"at the RST", rst, 0},
		{"just before the deadline", rst.Add(time.Second - time.Nanosecond), 0},
		{"at the deadline", rst.Add(time.Second), 1},
		{"long after", rst.Add(time.Hour), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Verdict
			a := New(Config{Grace: time.Second}, func(v *Verdict) { got = append(got, *v) })
			for i := range c.pkts {
				a.Packet(&c.pkts[i])
			}
			if a.Pending() != 1 {
				t.Fatalf("Pending() = %d after the RST, want 1", a.Pending())
			}
			a.Tick(tt.at)
			if len(got) != tt.want {
				t.Fatalf("Tick(%v) emitted %d verdicts, want %d", tt.at, len(got), tt.want)
			}
			if a.Pending() != 1-tt.want {
				t.Errorf("Pending() = %d after Tick, want %d", a.Pending(), 1-tt.want)
			}
			if tt.want == 1 && got[0].Phase != PhaseSYN {
				t.Errorf("phase = %v, want syn", got[0].Phase)
			}
		})
	}
}
