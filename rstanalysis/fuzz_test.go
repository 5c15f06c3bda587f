package rstanalysis_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// FuzzPipeline runs a capture file's bytes through the whole pipeline:
// capture, flows, rstanalysis with one and two workers, and every report
// format. It must not panic; every RST the capture yields gets exactly one
// verdict, in capture order, whatever the number of workers.
func FuzzPipeline(f *testing.F) {
	caps, _ := filepath.Glob("../testdata/lab/*.pcap*")
	for _, c := range caps {
		if data, err := os.ReadFile(c); err == nil && len(data) <= 16<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		one, rsts, frames := pipeline(t, data, 1)
		if uint64(len(one)) != rsts {
			t.Fatalf("%d verdicts for %d RSTs", len(one), rsts)
		}
		for i, v := range one {
			if v.Frame == 0 || v.Frame > frames || (i > 0 && v.Frame <= one[i-1].Frame) {
				t.Fatalf("verdict %d at frame %d (previous %d, %d frames read)", i, v.Frame, one[max(i-1, 0)].Frame, frames)
			}
			if (v.Origin == rstanalysis.OriginUnknown) != (v.Confidence == 0) || v.Confidence < 0 || v.Confidence > 1 {
				t.Fatalf("frame %d: origin %v, confidence %v", v.Frame, v.Origin, v.Confidence)
			}
		}
		two, _, _ := pipeline(t, data, 2)
		if len(two) != len(one) {
			t.Fatalf("two workers: %d verdicts, one: %d", len(two), len(one))
		}
		for _, format := range report.Formats() {
			ft, _ := report.ParseFormat(format)
			w := report.NewWriter(ft, io.Discard, report.Options{Summary: true, Verbose: true})
			for i := range one {
				if err := w.Write(&one[i]); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
			}
			if err := w.Close(report.Summary{RSTs: rsts}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
	})
}

// pipeline reads data as a capture file through n analysis workers (1: the
// Analyzer alone) and returns the verdicts, the RSTs the capture yielded
// and the frames it read, up to the end or the damage.
func pipeline(t *testing.T, data []byte, n int) (vs []rstanalysis.Verdict, rsts, frames uint64) {
	src, err := capture.NewReader(bytes.NewReader(data), "fuzz", capture.Options{})
	if err != nil {
		return nil, 0, 0
	}
	defer src.Close()
	emit := func(v *rstanalysis.Verdict) { vs = append(vs, *v) }
	var an interface {
		Packet(*capture.Packet)
		Flush()
	}
	if n == 1 {
		an = rstanalysis.New(rstanalysis.Config{}, emit)
	} else {
		an = rstanalysis.NewSharded(rstanalysis.Config{}, n, emit)
	}
	var p capture.Packet
	for {
		err := src.Next(&p)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("read up to the damage: %v", err)
			}
			break
		}
		if p.Flags&capture.RST != 0 {
			rsts++
		}
		an.Packet(&p)
	}
	an.Flush()
	return vs, rsts, src.Stats().Frames
}
