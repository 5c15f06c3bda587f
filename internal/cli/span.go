package cli

import (
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/pipeline"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// span notes the timestamps of the first and the last TCP segment of a
// run, for the report's capture span: it sits between the pipeline and
// each input's Analyzer, and adds what it saw to the Summary the report is
// closed with.
type span struct {
	first, last time.Time
}

// analysis wraps a: each input's Analyzer reports its packets' times to s.
func (s *span) analysis(a pipeline.Analysis) pipeline.Analysis {
	return func(file string, emit func(*rstanalysis.Verdict)) pipeline.Analyzer {
		an := a(file, emit)
		if t, ok := an.(pipeline.Ticker); ok {
			return &spanTicker{spanAnalyzer{an, s}, t}
		}
		return &spanAnalyzer{an, s}
	}
}

// sink wraps w: its Summary carries the span.
func (s *span) sink(w report.Writer) pipeline.Sink { return spanSink{w, s} }

type spanAnalyzer struct {
	pipeline.Analyzer
	s *span
}

func (a *spanAnalyzer) Packet(p *capture.Packet) {
	if a.s.first.IsZero() || p.Time.Before(a.s.first) {
		a.s.first = p.Time
	}
	if p.Time.After(a.s.last) {
		a.s.last = p.Time
	}
	a.Analyzer.Packet(p)
}

// spanTicker keeps the Ticker of an Analyzer that has one (live).
type spanTicker struct {
	spanAnalyzer
	t pipeline.Ticker
}

func (a *spanTicker) Tick(now time.Time) { a.t.Tick(now) }
func (a *spanTicker) Pending() int       { return a.t.Pending() }

type spanSink struct {
	report.Writer
	s *span
}

func (k spanSink) Close(sum report.Summary) error {
	sum.First, sum.Last = k.s.first, k.s.last
	return k.Writer.Close(sum)
}
