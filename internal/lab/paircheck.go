package lab

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// ProofRules are the rule ids of the findings that prove a RST was made
// between the ends: a capture nearer the claimed sender covers the moment
// and holds no such RST, or the connection never reached it.
var ProofRules = []string{"joint.absent", "joint.conn_unseen"}

// ProvenConfidence is the confidence from which a middlebox verdict counts
// as proven without a proof finding.
const ProvenConfidence = 0.9

// Proven reports whether a verdict carries a proof: a ProofRules finding,
// or a confidence of at least ProvenConfidence.
func Proven(v JointVerdict) bool {
	if v.Confidence >= ProvenConfidence {
		return true
	}
	for _, f := range v.Findings {
		if slices.Contains(ProofRules, f.Rule) {
			return true
		}
	}
	return false
}

// position orders the vantages along the path, client first.
func position(v Vantage) float64 { return float64(slices.Index(Vantages, v)) }

// forger is where a scenario's middlebox sits on the path, in position
// units: the router between router-in and router-out, the second-hop mbox
// between router-out and the server; NaN when the scenario has none.
func (s Scenario) forger() float64 {
	if s.Injector != nil {
		return 1.5
	}
	for _, r := range s.Rules {
		switch r.Role {
		case Router:
			return 1.5
		case Mbox:
			return 2.5
		}
	}
	return math.NaN()
}

// nearerSender lists the vantages of a pair that lie between a scenario's
// middlebox and the end a RST claims to come from: that end's own RST would
// have crossed them. None for a RST of an end, or without a middlebox.
func nearerSender(s Scenario, p Pair, t TruthRow) []Vantage {
	f := s.forger()
	if t.Origin != OriginMiddlebox || math.IsNaN(f) {
		return nil
	}
	var vs []Vantage
	for _, v := range []Vantage{p.A, p.B} {
		if t.From == "server" && position(v) > f || t.From == "client" && position(v) < f {
			vs = append(vs, v)
		}
	}
	return vs
}

// Provable reports whether the pair can prove a middlebox RST made on the
// path: a capture of it lies between the middlebox and the end the RST
// claims (nearerSender), and that capture holds TCP segments before and
// after the time of the RST at its own capture, so it shows it ran across
// the moment. (A capture that begins after or ends before, or holds
// nothing, as behind a router that rejects the only SYN, cannot show it.)
func (pr *PairRun) Provable(j Judged) bool {
	at, ok := pr.rstAt[j.Vantage][j.Truth.Frame]
	if !ok {
		return false
	}
	for _, v := range nearerSender(pr.Scenario, pr.Pair, j.Truth) {
		if pr.first[v].Before(at) && pr.last[v].After(at) {
			return true
		}
	}
	return false
}

// Allowance says why a RST of a pair may stay unknown; "" means it may not.
type Allowance func(pr *PairRun, j Judged) string

// Problems lists every way the pair's joint verdicts miss the truth or the
// contract, and notes the unknowns allow accepts: every RST of both files
// gets its true origin (and the right "from"), each middlebox RST the pair
// can prove is proven, the sightings of one RST point at each other and
// agree, and no event has two origins.
func (pr *PairRun) Problems(allow Allowance) (problems, notes []string) {
	add := func(ps *[]string, j Judged, format string, a ...any) {
		*ps = append(*ps, fmt.Sprintf("%s %s at %s frame %d: ", pr.Scenario.Name, pr.Pair, j.Vantage,
			max(j.Truth.Frame, j.Verdict.Frame))+fmt.Sprintf(format, a...))
	}
	for _, j := range pr.Judged {
		switch j.Outcome {
		case Right:
			if pr.Provable(j) && !Proven(pr.Verdicts[j.Vantage][j.Truth.Frame]) {
				add(&problems, j, "middlebox, but not proven (confidence %.2f, no proof finding)",
					pr.Verdicts[j.Vantage][j.Truth.Frame].Confidence)
			}
		case Unknown:
			if why := allow(pr, j); why != "" {
				add(&notes, j, "unknown, allowed: %s", why)
				continue
			}
			add(&problems, j, "unknown, truth is %s (%s)", j.Truth.Origin, j.Truth.Sender)
		case Wrong:
			add(&problems, j, "from %s origin %s, truth is from %s origin %s (%s)", j.Verdict.From,
				j.Verdict.Origin, j.Truth.From, j.Truth.Origin, j.Truth.Sender)
		case Missing:
			add(&problems, j, "no verdict for a RST (%s)", j.Truth.Sender)
		case Extra:
			add(&problems, j, "verdict for a frame that is no RST of the scenario")
		}
	}
	return append(problems, pr.eventProblems()...), notes
}

// eventProblems checks the events and sightings: an event has one origin;
// a verdict's sightings include itself, name verdicts of the same event
// and origin that list it back and are the same packet by the truth (from,
// flags, seq, ack); and a RST whose truth key is unique in both files is
// sighted in both.
func (pr *PairRun) eventProblems() []string {
	if !pr.Together() {
		return nil // events and sightings of each file alone: nothing joint to check
	}
	var ps []string
	origins := map[int]map[string][]string{}
	for _, v := range pr.Joint.Verdicts {
		if origins[v.Event] == nil {
			origins[v.Event] = map[string][]string{}
		}
		origins[v.Event][v.Origin] = append(origins[v.Event][v.Origin], fmt.Sprintf("%s#%d", pr.Vantage[v.File], v.Frame))
	}
	for ev, by := range origins {
		if len(by) > 1 {
			ps = append(ps, fmt.Sprintf("%s %s: event %d has %d origins: %v", pr.Scenario.Name, pr.Pair, ev, len(by), by))
		}
	}
	truth := map[Vantage]map[int]TruthRow{}
	for _, j := range pr.Judged {
		if j.Outcome != Extra {
			if truth[j.Vantage] == nil {
				truth[j.Vantage] = map[int]TruthRow{}
			}
			truth[j.Vantage][j.Truth.Frame] = j.Truth
		}
	}
	for _, v := range pr.Joint.Verdicts {
		ps = append(ps, pr.sightingProblems(v, truth)...)
	}
	return append(ps, pr.unsighted(truth)...)
}

// sightingProblems checks one verdict's sightings.
func (pr *PairRun) sightingProblems(v JointVerdict, truth map[Vantage]map[int]TruthRow) []string {
	var ps []string
	vt := pr.Vantage[v.File]
	bad := func(format string, a ...any) {
		ps = append(ps, fmt.Sprintf("%s %s at %s frame %d: ", pr.Scenario.Name, pr.Pair, vt, v.Frame)+fmt.Sprintf(format, a...))
	}
	if !slices.Contains(v.Sightings, Sighting{v.File, v.Frame}) {
		bad("its sightings %v do not include itself", v.Sightings)
	}
	for _, s := range v.Sightings {
		if s.File == v.File {
			if s.Frame != v.Frame {
				bad("sighted twice in one file (frame %d)", s.Frame)
			}
			continue
		}
		ov := pr.Vantage[s.File]
		o, ok := pr.Verdicts[ov][s.Frame]
		if ov == "" || !ok {
			bad("sighting %s#%d has no verdict", s.File, s.Frame)
			continue
		}
		switch {
		case o.Event != v.Event || o.Origin != v.Origin:
			bad("sighting %s#%d has event %d origin %s, this one event %d origin %s", ov, s.Frame, o.Event, o.Origin, v.Event, v.Origin)
		case !slices.Contains(o.Sightings, Sighting{v.File, v.Frame}):
			bad("sighting %s#%d does not list it back", ov, s.Frame)
		}
		a, b := truth[vt][v.Frame], truth[ov][s.Frame]
		if a.From != b.From || a.Flags != b.Flags || a.Seq != b.Seq || a.Ack != b.Ack {
			bad("sighting %s#%d is another packet (%s %s %d %d, this %s %s %d %d)", ov, s.Frame,
				b.From, b.Flags, b.Seq, b.Ack, a.From, a.Flags, a.Seq, a.Ack)
		}
	}
	return ps
}

// sameRst is what the truth says of a RST that two captures share.
type sameRst struct {
	from      string
	origin    Origin
	secondary bool
	flags     string
	seq, ack  uint32
}

// unsighted lists the RSTs the truth shows in both files (their key unique
// in each) whose verdicts do not name each other as sightings.
func (pr *PairRun) unsighted(truth map[Vantage]map[int]TruthRow) []string {
	index := func(v Vantage) map[sameRst][]int {
		m := map[sameRst][]int{}
		for f, t := range truth[v] {
			k := sameRst{t.From, t.Origin, t.Secondary, t.Flags, t.Seq, t.Ack}
			m[k] = append(m[k], f)
		}
		return m
	}
	a, b := index(pr.Pair.A), index(pr.Pair.B)
	var ps []string
	for k, fa := range a {
		fb := b[k]
		if len(fa) != 1 || len(fb) != 1 {
			continue
		}
		va, ok := pr.Verdicts[pr.Pair.A][fa[0]]
		if ok && !slices.Contains(va.Sightings, Sighting{pr.Files[1], fb[0]}) {
			ps = append(ps, fmt.Sprintf("%s %s: %s frame %d and %s frame %d are one RST (%s seq %d), not sighted together",
				pr.Scenario.Name, pr.Pair, pr.Pair.A, fa[0], pr.Pair.B, fb[0], k.flags, k.seq))
		}
	}
	return ps
}

// SameVerdicts compares the verdicts of two reads of the same pair (one
// with a shifted clock): the same frames, origins, causes and events.
func SameVerdicts(a, b *PairRun) []string {
	var ps []string
	for _, v := range []Vantage{a.Pair.A, a.Pair.B} {
		for f, x := range a.Verdicts[v] {
			y, ok := b.Verdicts[v][f]
			switch {
			case !ok:
				ps = append(ps, fmt.Sprintf("%s %s at %s frame %d: no verdict after a %v shift", a.Scenario.Name, a.Pair, v, f, b.Shift))
			case x.Origin != y.Origin || x.Cause != y.Cause || x.Event != y.Event:
				ps = append(ps, fmt.Sprintf("%s %s at %s frame %d: origin %s cause %s event %d, after a %v shift %s %s %d",
					a.Scenario.Name, a.Pair, v, f, x.Origin, x.Cause, x.Event, b.Shift, y.Origin, y.Cause, y.Event))
			}
		}
		for f := range b.Verdicts[v] {
			if _, ok := a.Verdicts[v][f]; !ok {
				ps = append(ps, fmt.Sprintf("%s %s at %s frame %d: a verdict only after a %v shift", a.Scenario.Name, a.Pair, v, f, b.Shift))
			}
		}
	}
	return ps
}

// Together reports whether rstscope read the pair as captures of one
// incident (the summary's joint object): it does when they share packets.
func (pr *PairRun) Together() bool { return len(pr.Joint.Inputs) > 0 }

// ClockProblems checks the summary's clocks: the second input's offset is
// within its uncertainty of Shift (the lab's captures share one clock; a
// classic pcap's microsecond timestamps add 1 µs each), and is known
// whenever a connection was matched and both captures hold packets other
// than RSTs both ways, which bound the offset from both sides. (RSTs do
// not count: they are what is judged, and a forged RST and the real one
// can look alike.)
func (pr *PairRun) ClockProblems() []string {
	c, ok := pr.Clock(pr.Pair.B)
	where := fmt.Sprintf("%s %s (shift %v)", pr.Scenario.Name, pr.Pair, pr.Shift)
	switch {
	case !pr.Together() && (pr.first[pr.Pair.A].IsZero() || pr.first[pr.Pair.B].IsZero()):
		return nil // a capture with no TCP segment shares nothing: read one by one, rightly
	case !pr.Together():
		return []string{where + ": read one by one, as captures that share no packets"}
	case !ok:
		return []string{where + ": the summary has no clock for " + pr.Files[1]}
	case !c.Known && c.Matched > 0 && pr.bothWays[pr.Pair.A] && pr.bothWays[pr.Pair.B]:
		return []string{fmt.Sprintf("%s: %d connections matched, but no offset", where, c.Matched)}
	case !c.Known:
		return nil
	}
	want, slack := float64(pr.Shift)/1e6, 0.0
	for _, f := range pr.Files {
		if !strings.HasSuffix(f, ".pcapng") {
			slack += 0.001
		}
	}
	if math.Abs(c.OffsetMS-want) > c.UncertaintyMS+slack {
		return []string{fmt.Sprintf("%s: offset %.3f ± %.3f ms, want %.3f", where, c.OffsetMS, c.UncertaintyMS, want)}
	}
	return nil
}

// WritePairTable renders pair reads as scenario × pair cells
// "right/wrong/unknown" (missing and extra verdicts count as wrong), then
// "proven/provable" when the pair can prove a middlebox RST.
func WritePairTable(w io.Writer, runs []*PairRun) error {
	type cell struct {
		tally
		proven, provable int
	}
	var cols, rows []string
	cells := map[string]map[string]*cell{}
	for _, pr := range runs {
		col := pr.Pair.String()
		if pr.Shift != 0 {
			col += fmt.Sprintf(" (%+gs)", pr.Shift.Seconds())
		}
		if !slices.Contains(cols, col) {
			cols = append(cols, col)
		}
		if cells[pr.Scenario.Name] == nil {
			cells[pr.Scenario.Name] = map[string]*cell{}
			rows = append(rows, pr.Scenario.Name)
		}
		c := &cell{}
		cells[pr.Scenario.Name][col] = c
		for _, j := range pr.Judged {
			c.add(j.Outcome)
			if pr.Provable(j) {
				c.provable++
				if v, ok := pr.Verdicts[j.Vantage][j.Truth.Frame]; ok && v.Origin == string(OriginMiddlebox) && Proven(v) {
					c.proven++
				}
			}
		}
	}
	slices.Sort(rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\t\n", strings.Join(cols, "\t"))
	for _, r := range rows {
		fmt.Fprint(tw, r)
		for _, col := range cols {
			c := cells[r][col]
			switch {
			case c == nil:
				fmt.Fprint(tw, "\t-")
			case c.provable > 0:
				fmt.Fprintf(tw, "\t%d/%d/%d %d/%d", c.right, c.wrong, c.unknown, c.proven, c.provable)
			default:
				fmt.Fprintf(tw, "\t%d/%d/%d", c.right, c.wrong, c.unknown)
			}
		}
		fmt.Fprintln(tw, "\t")
	}
	return tw.Flush()
}
