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
// from its Analyzer, and returns the warnings it added about that input.
func (b *summaryBuilder) add(name string, st capture.Stats, ts rstanalysis.Stats, resets uint64) []string {
	first := len(b.s.Warnings)
	b.s.Frames += st.Frames
	b.s.TCPPackets += st.TCP
	b.s.Dropped += st.Dropped + st.IfDropped
	b.ifDropped += st.IfDropped
	b.s.Connections += ts.Conns
	b.s.Evicted += ts.Evicted
	b.expired += ts.Expired
	b.s.MaxOpen = max(b.s.MaxOpen, uint64(ts.MaxOpen))
	b.s.RSTs += resets
	b.undecodable(name, st)
	if st.Duplicates > 0 {
		b.warn(fmt.Sprintf("%s: %d TCP frames skipped as duplicates (the same packet recorded on two interfaces "+
			"within 1 ms, as `-i any` records a forwarded packet); --keep-duplicates keeps them", name, st.Duplicates))
	}
	if st.OverLength > 0 {
		b.warn(fmt.Sprintf("%s: %d records say they hold more bytes than the packet had on the wire: read as captured",
			name, st.OverLength))
	}
	return b.s.Warnings[first:len(b.s.Warnings):len(b.s.Warnings)]
}

// undecodable warns about the frames of input name that could not be
// decoded, one line per reason capture.Stats gives.
func (b *summaryBuilder) undecodable(name string, st capture.Stats) {
	if st.Undecodable == 0 {
		return
	}
	line := func(n uint64, why string) {
		if n > 0 {
			b.warn(fmt.Sprintf("%s: %d frames could not be decoded%s", name, n, why))
		}
	}
	line(st.Truncated, ": cut by the snap length before the end of their TCP header (capture with a larger -s)")
	line(st.Malformed, ": a malformed header (an IP header length or TCP data offset out of range, "+
		"a frame shorter than its headers say, or tunnels nested more than 4 deep)")
	if st.Unsupported < st.Frames { // else the Source failed with a *capture.LinkTypeError, which says it
		line(st.Unsupported, ": link type "+capture.LinkTypeName(st.UnsupportedLinkType)+" is not supported")
	}
	if known := st.Truncated + st.Malformed + st.Unsupported; known < st.Undecodable {
		line(st.Undecodable-known, "")
	}
}

// joint adds what reading the inputs together found.
func (b *summaryBuilder) joint(res rstanalysis.JointResult) {
	b.s.Joint = &res
	for _, w := range res.Warnings {
		b.warn(w)
	}
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
