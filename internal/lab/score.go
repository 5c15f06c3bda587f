package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// Verdict is the part of one rstscope JSON line (docs/json.md) that the
// lab scores.
type Verdict struct {
	Frame  int    `json:"frame"`
	From   string `json:"from"`
	Origin string `json:"origin"`
	Phase  string `json:"phase"`
	Cause  string `json:"cause"`
}

// ErrVerdictFormat is returned for output that is not rstscope's JSON Lines.
var ErrVerdictFormat = errors.New("malformed rstscope json line")

// ReadVerdicts parses `rstscope read --format json` output: one JSON
// object per line, blank lines ignored.
func ReadVerdicts(r io.Reader) ([]Verdict, error) {
	var vs []Verdict
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var v Verdict
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("line %d: %w: %w", line, ErrVerdictFormat, err)
		}
		if v.Frame <= 0 {
			return nil, fmt.Errorf("line %d: %w: no frame", line, ErrVerdictFormat)
		}
		vs = append(vs, v)
	}
	return vs, sc.Err()
}

// BuildRstscope compiles ./cmd/rstscope of the module at modRoot into dir.
// It returns ErrNoRstscope (wrapped, with the compiler's output) when the
// command does not build yet.
func BuildRstscope(ctx context.Context, modRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "rstscope")
	if out, err := runIn(ctx, modRoot, "go", "build", "-o", bin, "./cmd/rstscope"); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNoRstscope, out)
	}
	return bin, nil
}

// ErrNoRstscope means ./cmd/rstscope does not build.
var ErrNoRstscope = errors.New("rstscope not built yet")

// RunRstscope runs `rstscope read --format json file` and parses its output.
func RunRstscope(ctx context.Context, bin, file string) ([]Verdict, error) {
	out, err := run(ctx, bin, "read", "--format", "json", file)
	if err != nil {
		return nil, err
	}
	return ReadVerdicts(strings.NewReader(out))
}

// Outcome is how rstscope did on one RST.
type Outcome int

// Outcomes.
const (
	Right   Outcome = iota // the origin matches the truth
	Wrong                  // another origin, or the wrong "from"
	Unknown                // origin "unknown"
	Missing                // no verdict for a RST of the truth
	Extra                  // a verdict for a frame that is no RST
)

func (o Outcome) String() string {
	return [...]string{"right", "wrong", "unknown", "missing", "extra"}[o]
}

// Judged is one RST of a capture with rstscope's verdict.
type Judged struct {
	Scenario   string
	Vantage    Vantage
	Truth      TruthRow // zero for Extra
	Verdict    Verdict  // zero for Missing
	Outcome    Outcome
	PhaseRight bool
}

// Judge compares rstscope's verdicts on one capture with its truth.
func Judge(scenario string, v Vantage, truth []TruthRow, verdicts []Verdict) []Judged {
	byFrame := map[int]Verdict{}
	for _, vd := range verdicts {
		byFrame[vd.Frame] = vd
	}
	var js []Judged
	inTruth := map[int]bool{}
	for _, t := range truth {
		inTruth[t.Frame] = true
		j := Judged{Scenario: scenario, Vantage: v, Truth: t}
		vd, ok := byFrame[t.Frame]
		switch {
		case !ok:
			j.Outcome = Missing
		case vd.From != t.From:
			j.Outcome = Wrong
		case vd.Origin == string(t.Origin):
			j.Outcome = Right
		case vd.Origin == "unknown":
			j.Outcome = Unknown
		default:
			j.Outcome = Wrong
		}
		j.Verdict = vd
		j.PhaseRight = ok && vd.Phase == t.Phase
		js = append(js, j)
	}
	for _, vd := range verdicts {
		if !inTruth[vd.Frame] {
			js = append(js, Judged{Scenario: scenario, Vantage: v, Verdict: vd, Outcome: Extra})
		}
	}
	return js
}

// ScoreResult runs rstscope on every capture of a scenario run and judges
// every RST.
func ScoreResult(ctx context.Context, bin string, res *Result) ([]Judged, error) {
	var all []Judged
	for _, v := range Vantages {
		file := filepath.Join(res.Dir, res.Scenario.CaptureFile(v))
		vs, err := RunRstscope(ctx, bin, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		all = append(all, Judge(res.Scenario.Name, v, res.Truth[v], vs)...)
	}
	return all, nil
}

// WriteTable renders the score as scenario × vantage cells
// "right/wrong/unknown phase-right/total" (missing and extra verdicts count
// as wrong), then a total line.
func WriteTable(w io.Writer, js []Judged) error {
	type cell struct {
		tally
		phase, total int
	}
	cells := map[string]map[Vantage]*cell{}
	var order []string
	var sum cell
	for _, j := range js {
		if cells[j.Scenario] == nil {
			cells[j.Scenario] = map[Vantage]*cell{}
			order = append(order, j.Scenario)
		}
		c := cells[j.Scenario][j.Vantage]
		if c == nil {
			c = &cell{}
			cells[j.Scenario][j.Vantage] = c
		}
		for _, c := range []*cell{c, &sum} {
			c.total++
			c.add(j.Outcome)
			if j.PhaseRight {
				c.phase++
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "scenario")
	for _, v := range Vantages {
		fmt.Fprintf(tw, "\t%s", v)
	}
	fmt.Fprintln(tw, "\t")
	for _, s := range order {
		fmt.Fprint(tw, s)
		for _, v := range Vantages {
			c := cells[s][v]
			if c == nil {
				fmt.Fprint(tw, "\t-")
				continue
			}
			fmt.Fprintf(tw, "\t%d/%d/%d p%d/%d", c.right, c.wrong, c.unknown, c.phase, c.total)
		}
		fmt.Fprintln(tw, "\t")
	}
	fmt.Fprintf(tw, "total: %d RSTs\tright %d\twrong %d\tunknown %d\tphase right %d\t\n",
		sum.total, sum.right, sum.wrong, sum.unknown, sum.phase)
	return tw.Flush()
}

// SortJudged orders judgements by scenario, vantage and frame.
func SortJudged(js []Judged) {
	vi := map[Vantage]int{}
	for i, v := range Vantages {
		vi[v] = i
	}
	sort.SliceStable(js, func(a, b int) bool {
		x, y := js[a], js[b]
		if x.Scenario != y.Scenario {
			return x.Scenario < y.Scenario
		}
		if x.Vantage != y.Vantage {
			return vi[x.Vantage] < vi[y.Vantage]
		}
		return max(x.Truth.Frame, x.Verdict.Frame) < max(y.Truth.Frame, y.Verdict.Frame)
	})
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// tally counts judged RSTs by outcome, for the score tables.
type tally struct{ right, wrong, unknown int }

// add counts one RST judged o.
func (t *tally) add(o Outcome) {
	switch o {
	case Right:
		t.right++
	case Unknown:
		t.unknown++
	default:
		t.wrong++
	}
}
