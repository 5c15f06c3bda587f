package report

import (
	"io"

	"github.com/rstscope/rstscope/rstanalysis"
)

// sheet is what the text and markdown writers share: the output, the
// options, the tally behind the summaries and the rows kept for the RST
// table until Close.
type sheet struct {
	out
	opts  Options
	tally *tally
	rows  []row // buffered rows, without Options.Stream
	// unlisted counts the verdicts past Options.MaxRows: tallied, not kept.
	unlisted int

	// stream state
	started bool   // the first streamed row has been printed
	file    string // File of the last streamed verdict
}

func newSheet(w io.Writer, opts Options) sheet {
	return sheet{out: newOut(w), opts: opts, tally: newTally()}
}

// take tallies v and renders its row. Without Options.Stream it keeps the
// row for Close (the first Options.MaxRows of them) and reports now =
// false; in stream mode it returns the row for the caller to print now.
func (s *sheet) take(v *rstanalysis.Verdict) (r row, now bool) {
	s.tally.add(v)
	if s.opts.Stream {
		return newRow(v), true
	}
	if m := s.opts.maxRows(); m >= 0 && len(s.rows) >= m {
		s.unlisted++
		return row{}, false
	}
	s.rows = append(s.rows, newRow(v))
	return row{}, false
}

// byFile splits rs into runs of the same input file.
func byFile(rs []row) [][]row {
	var groups [][]row
	start := 0
	for i := 1; i <= len(rs); i++ {
		if i == len(rs) || rs[i].file != rs[start].file {
			groups = append(groups, rs[start:i])
			start = i
		}
	}
	return groups
}
