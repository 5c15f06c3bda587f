package report

import (
	"io"
	"slices"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// sheet is what the people formats (table, markdown, HTML) share: the
// output, the options, the tally and the book behind the summaries, and
// with Options.RSTs the RST rows kept until Close.
type sheet struct {
	out
	opts  Options
	tally *tally
	book  *book
	rows  []row // Options.RSTs: the first MaxRows RSTs, without Options.Stream
	// unlisted counts the RSTs past Options.MaxRows: tallied, not kept.
	unlisted int

	// stream state
	started bool   // the first streamed row has been printed
	file    string // File of the last streamed verdict
}

func newSheet(w io.Writer, opts Options) sheet {
	return sheet{out: newOut(w), opts: opts, tally: newTally(), book: newBook(opts)}
}

// take counts v and books its event. In stream mode it returns v's row
// for the caller to print now (now = true); with Options.RSTs it keeps the
// row for Close (the first Options.MaxRows of them).
func (s *sheet) take(v *rstanalysis.Verdict) (r row, now bool) {
	ev, starts := s.book.add(v)
	if !repeatSighting(v) {
		s.tally.add(v, ev, starts)
	}
	switch {
	case s.opts.Stream:
		return newRow(v), true
	case !s.opts.RSTs:
	case s.opts.maxRows() >= 0 && len(s.rows) >= s.opts.maxRows():
		s.unlisted++
	default:
		s.rows = append(s.rows, newRow(v))
	}
	return row{}, false
}

// digest is what a people format renders at Close, worked out once.
type digest struct {
	opts    Options
	loc     *time.Location
	s       Summary
	tl      *tally
	bk      *book
	listed  []*event // the events listed, in capture order (not with Options.RSTs)
	rows    []row    // Options.RSTs: the RSTs listed
	more    int      // events (or RSTs) not listed
	events  int
	follow  int // RSTs after the first of their event
	replies int // late-segment replies
	causes  []causeRow
	servers []serverRow
	ladders []*event // one per cause, then those Options.Ladders asked for
	tline   timeline
	width   int       // the text format's width; 0 for the others
	zoneAt  time.Time // when to name the report's zone (its abbreviation may change)
}

// zone names the report's time zone: "UTC", "CET".
func (d *digest) zone() string { return zoneName(d.loc, d.zoneAt) }

// digest works out what the report shows.
func (s *sheet) digest(sum Summary, width int) *digest {
	d := &digest{opts: s.opts, loc: s.opts.loc(), s: sum, tl: s.tally, bk: s.book, width: width}
	d.events, d.follow, d.replies = s.book.events()
	if s.opts.RSTs {
		d.rows, d.more = s.rows, s.unlisted
	} else {
		d.listed = s.book.listed(s.opts.maxRows())
		d.more = d.events - len(d.listed)
		d.jointRows()
	}
	d.causes = s.tally.causeRows(s.book)
	d.servers = s.tally.serverRows()
	d.ladders = s.book.representatives()
	for _, f := range s.opts.Ladders {
		e := s.book.asked[f]
		if e != nil && !slices.ContainsFunc(d.ladders, func(x *event) bool { return x.v.Frame == f && x.v.File == e.v.File }) {
			d.ladders = append(d.ladders, e)
		}
	}
	from, to := sum.First, sum.Last
	if first, last, ok := s.book.span(); ok && (from.IsZero() || to.IsZero()) {
		from, to = first, last
	}
	d.tline = newTimeline(s.book.recs, from, to, d.loc)
	d.zoneAt = from
	return d
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

// eventsByFile splits es into runs of the same input file.
func eventsByFile(es []*event) [][]*event {
	var groups [][]*event
	start := 0
	for i := 1; i <= len(es); i++ {
		if i == len(es) || es[i].r.file != es[start].r.file {
			groups = append(groups, es[start:i])
			start = i
		}
	}
	return groups
}

// rec is e's event record (a zero record for an event asked for by frame
// that is not the first of its event).
func (d *digest) rec(e *event) eventRec {
	if e.rec < 0 || e.rec >= len(d.bk.recs) {
		t := e.v.Time.UnixNano()
		return eventRec{first: t, last: t, lastFrame: e.v.Frame, rsts: 1}
	}
	return d.bk.recs[e.rec]
}
