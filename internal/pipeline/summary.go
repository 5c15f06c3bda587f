package pipeline

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// summaryBuilder gathers a run's report.Summary: the sum of what every input
// read (its Source's capture.Stats) and what its analysis did (the
// connection table's rstanalysis.Stats and the RST count), and the
// warnings, in the order they arose.
type summaryBuilder struct {
	s         report.Summary
	ifDropped uint64 // of s.Dropped, frames the interface dropped
	expired   uint64
}

// input names one more input, opened or not.
func (b *summaryBuilder) input(name string) {
	b.s.Inputs = append(b.s.Inputs, name)
}

// add counts what the input name gave: st from its Source, ts and resets
// from its Analyzer.
func (b *summaryBuilder) add(name string, st capture.Stats, ts rstanalysis.Stats, resets uint64) {
	b.s.Frames += st.Frames
	b.s.TCPPackets += st.TCP
	b.s.Dropped += st.Dropped + st.IfDropped
	b.ifDropped += st.IfDropped
	b.s.Connections += ts.Conns
	b.s.Evicted += ts.Evicted
	b.expired += ts.Expired
	b.s.MaxOpen = max(b.s.MaxOpen, uint64(ts.MaxOpen))
	b.s.RSTs += resets
	if st.Undecodable > 0 {
		b.warn(undecodable(name, st.Undecodable))
	}
}

// undecodable is the warning for n frames of input name that could not be
// decoded.
func undecodable(name string, n uint64) string {
	return fmt.Sprintf("%s: %d frames could not be decoded (truncated by the snap length or an unsupported link type)", name, n)
}

// warn adds a one-line note for the reader.
func (b *summaryBuilder) warn(msg string) {
	b.s.Warnings = append(b.s.Warnings, msg)
}

// build returns the summary, with the notes about what the run could not
// see (frames dropped by the kernel) or keep (evicted connections), and
// elapsed, the run's wall-clock time.
func (b *summaryBuilder) build(elapsed time.Duration) report.Summary {
	s := b.s
	s.Warnings = append([]string(nil), b.s.Warnings...)
	if s.Dropped > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("the kernel dropped %d frames (%d by the interface): verdicts may lack evidence; "+
			"narrow the filter or lower --snaplen", s.Dropped, b.ifDropped))
	}
	if s.Evicted > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d connections evicted (the table was full: at most %d tracked at once, "+
			"see --max-conns; %d expired): a RST on an evicted connection is judged without its history", s.Evicted, s.MaxOpen, b.expired))
	}
	s.Elapsed = elapsed
	return s
}
