package rstanalysis

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// compactInputs are the captures the compact records are checked on: the
// lab's, and the public corpus beside the repository when it is there.
func compactInputs(t *testing.T) []string {
	var files []string
	for _, g := range []string{"../testdata/lab/*.pcap*", "../../shared/corpus/*/*.pcap*", "../../shared/corpus/*/*/*.pcap*"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	return files
}

// verdictsWith reads path through an Analyzer with cfg.
func verdictsWith(t *testing.T, path string, cfg Config) []Verdict {
	t.Helper()
	src, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var vs []Verdict
	a := New(cfg, func(v *Verdict) { vs = append(vs, *v) })
	var p capture.Packet
	for src.Next(&p) == nil {
		a.Packet(&p)
	}
	a.Flush()
	return vs
}

// TestCompactSameVerdicts: holding half-open connections and quiet closed
// ones in compact records changes no verdict, byte for byte, on the lab's
// captures and the public corpus. With closed connections compacted at
// once (CompactAfter 1 ns) the late RSTs still get the same origin, phase
// and cause: what shut keeps is what those rest on (their request,
// response and timing finding may go, see flows' shut).
func TestCompactSameVerdicts(t *testing.T) {
	for _, f := range compactInputs(t) {
		whole := verdictsWith(t, f, Config{noCompact: true})
		compact := verdictsWith(t, f, Config{})
		if !reflect.DeepEqual(whole, compact) {
			t.Errorf("%s: verdicts differ with compact records", f)
		}
		early := verdictsWith(t, f, Config{compactAfter: time.Nanosecond})
		if len(early) != len(whole) {
			t.Errorf("%s: %d verdicts compacting at once, %d whole", f, len(early), len(whole))
			continue
		}
		for i, v := range whole {
			if e := early[i]; e.Frame != v.Frame || e.Origin != v.Origin || e.Phase != v.Phase || e.Cause != v.Cause {
				t.Errorf("%s frame %d: %v, %v, %v compacting at once, %v, %v, %v whole", f, v.Frame, e.Origin, e.Phase, e.Cause, v.Origin, v.Phase, v.Cause)
			}
		}
	}
}
