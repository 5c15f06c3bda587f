package rstanalysis_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TestTimingAnswersTheRightSegment: the timing rule measures a RST against
// the segment it answers (RFC 9293 §3.10.7): for a bare RST, the latest
// segment carrying the ack its seq copies that the sender could have
// answered, not a pure ACK from seconds before.
func TestTimingAnswersTheRightSegment(t *testing.T) {
	tests := []struct {
		file   string
		frame  uint64
		rule   rstanalysis.RuleID
		answer uint64 // the frame the timing finding must cite
		origin rstanalysis.Origin
	}{
		// A NAT that forgot the idle connection answers the client's
		// request (frame 8) at once; frame 7 is the client's ACK 3 s before.
		{"../testdata/lab/idle-timeout.client.pcap", 9, rstanalysis.RuleTimingTooFast, 8, rstanalysis.OriginMiddlebox},
		// The server, without the socket, answers the client's request
		// (frame 10) a round trip later; frame 11 (the FIN) came 0.2 ms
		// after it, too late for this RST, and frame 9 is 278 ms older.
		{"../testdata/lab/keepalive-reuse.client.pcap", 12, rstanalysis.RuleTimingPlausible, 10, rstanalysis.OriginServer},
		{filepath.Join(corpusDir, "zeek/tcp_rst-inject-rae.pcap"), 9, rstanalysis.RuleTimingPlausible, 8, rstanalysis.OriginServer},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			vs, _, err := readAll(t, tt.file)
			if errors.Is(err, fs.ErrNotExist) && filepath.Dir(filepath.Dir(tt.file)) == corpusDir {
				t.Skipf("public corpus not present at %s", corpusDir)
			}
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(vs, func(v rstanalysis.Verdict) bool { return v.Frame == tt.frame })
			if i < 0 {
				t.Fatalf("no verdict for frame %d", tt.frame)
			}
			v := vs[i]
			j := slices.IndexFunc(v.Findings, func(f rstanalysis.Finding) bool { return f.Rule == tt.rule })
			if j < 0 {
				t.Fatalf("frame %d: no %s finding:\n  %v", tt.frame, tt.rule, v.Texts())
			}
			if f := v.Findings[j]; !slices.Equal(f.Frames, []uint64{tt.answer}) {
				t.Errorf("frame %d: %s cites frames %v, want [%d]: %s", tt.frame, tt.rule, f.Frames, tt.answer, f.Text)
			}
			if v.Origin != tt.origin {
				t.Errorf("frame %d: origin %v, want %v", tt.frame, v.Origin, tt.origin)
			}
		})
	}
}
