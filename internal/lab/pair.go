package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Pair is two vantages of one scenario read together: `rstscope read A B`.
type Pair struct{ A, B Vantage }

func (p Pair) String() string { return string(p.A) + "+" + string(p.B) }

// Pairs are the pairs the lab reads together: both ends, the client and
// the router's server-facing side (the WAN side of a NAT), and the router's
// two sides.
var Pairs = []Pair{{AtClient, AtServer}, {AtClient, AtRouterOut}, {AtRouterIn, AtRouterOut}}

// Sighting is one sighting of a RST packet: its frame in one input.
type Sighting struct {
	File  string `json:"file"`
	Frame int    `json:"frame"`
}

// JointFinding is the part of a finding the lab reads.
type JointFinding struct {
	Rule string `json:"rule"`
}

// JointVerdict is one verdict line of a read of several inputs: Verdict
// and the keys that tie the sightings of one RST together (docs/json.md).
// Event is run-wide: every sighting of one event, in every file, has it.
type JointVerdict struct {
	Verdict
	File       string         `json:"file"`
	Confidence float64        `json:"confidence"`
	Event      int            `json:"event"`
	Findings   []JointFinding `json:"findings"`
	Sightings  []Sighting     `json:"sightings"`
}

// InputClock is what the summary of a joint read says about one input: its
// clock offset to the first input and the offset's uncertainty, both in
// milliseconds (Known false when no matched connection gave one), and how
// many of its connections were matched in another input.
type InputClock struct {
	File                    string
	OffsetMS, UncertaintyMS float64
	Known                   bool
	Matched, Unmatched      int
}

// Joint is the output of one joint read.
type Joint struct {
	Verdicts []JointVerdict
	Inputs   []InputClock
}

// ReadJoint parses `rstscope read -o json --json-summary A B ...` output.
func ReadJoint(r io.Reader) (*Joint, error) {
	j := &Joint{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var probe struct {
			Summary json.RawMessage `json:"summary"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, fmt.Errorf("line %d: %w: %w", line, ErrVerdictFormat, err)
		}
		if probe.Summary != nil {
			var err error
			if j.Inputs, err = parseClocks(probe.Summary); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			continue
		}
		var v JointVerdict
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("line %d: %w: %w", line, ErrVerdictFormat, err)
		}
		if v.Frame <= 0 || v.File == "" {
			return nil, fmt.Errorf("line %d: %w: no frame or file", line, ErrVerdictFormat)
		}
		j.Verdicts = append(j.Verdicts, v)
	}
	return j, sc.Err()
}

// parseClocks reads the per-input clocks of a summary: its "joint" object's
// "inputs" (docs/json.md), absent for a single input.
func parseClocks(raw json.RawMessage) ([]InputClock, error) {
	var s struct {
		Joint *struct {
			Inputs []struct {
				Input         string   `json:"input"`
				OffsetMS      *float64 `json:"offset_ms"`
				UncertaintyMS *float64 `json:"uncertainty_ms"`
				Matched       int      `json:"matched"`
				Unmatched     int      `json:"unmatched"`
			} `json:"inputs"`
		} `json:"joint"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: summary: %w", ErrVerdictFormat, err)
	}
	if s.Joint == nil {
		return nil, nil
	}
	var cs []InputClock
	for _, c := range s.Joint.Inputs {
		ic := InputClock{File: c.Input, Matched: c.Matched, Unmatched: c.Unmatched}
		if c.OffsetMS != nil && c.UncertaintyMS != nil {
			ic.OffsetMS, ic.UncertaintyMS, ic.Known = *c.OffsetMS, *c.UncertaintyMS, true
		}
		cs = append(cs, ic)
	}
	return cs, nil
}

// RunJoint runs `rstscope read -o json --json-summary` on several files and
// parses its standard output (its warnings go to standard error). extra
// are more arguments, before the files (--vantage FILE=ROLE).
func RunJoint(ctx context.Context, bin string, extra []string, files ...string) (*Joint, error) {
	args := append(append([]string{"read", "-o", "json", "--json-summary"}, extra...), files...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, &CmdError{Args: append([]string{bin}, args...), Output: errb.String(), Err: err}
	}
	return ReadJoint(&out)
}

// PairRun is one scenario's pair of captures read together and judged
// against each capture's truth.
type PairRun struct {
	Scenario Scenario
	Pair     Pair
	// Shift is how far the second capture's clock was moved (editcap -t)
	// before the read; 0 for the captures as taken. The lab's captures
	// share one clock, so Shift is the true offset of the second input.
	Shift time.Duration
	// Files are the paths read, in order; Vantage maps them back.
	Files   [2]string
	Vantage map[string]Vantage
	Joint   *Joint
	// Judged holds every RST of both files; Verdicts the joint verdict of
	// each judged RST that got one, by vantage and frame.
	Judged   []Judged
	Verdicts map[Vantage]map[int]JointVerdict
	// first and last are the times of each capture's first and last TCP
	// segment, rstAt each RST's capture time, on the lab's shared clock
	// (before any Shift).
	first, last map[Vantage]time.Time
	rstAt       map[Vantage]map[int]time.Time
	// bothWays is true for a capture holding segments other than RSTs from
	// both the client and the server.
	bothWays map[Vantage]bool
}

// ScorePair reads a pair of a scenario run's captures together, the
// second one first shifted by shift, and judges each file's records against
// that file's truth.
func ScorePair(ctx context.Context, bin string, res *Result, p Pair, shift time.Duration) (*PairRun, error) {
	s := res.Scenario
	pr := &PairRun{Scenario: s, Pair: p, Shift: shift, Vantage: map[string]Vantage{},
		Verdicts: map[Vantage]map[int]JointVerdict{}}
	pr.Files[0] = filepath.Join(res.Dir, s.CaptureFile(p.A))
	pr.Files[1] = filepath.Join(res.Dir, s.CaptureFile(p.B))
	if shift != 0 {
		ext := filepath.Ext(pr.Files[1])
		shifted := strings.TrimSuffix(pr.Files[1], ext) + ".shifted" + ext
		secs := fmt.Sprintf("%.6f", shift.Seconds())
		if _, err := run(ctx, "editcap", "-t", secs, pr.Files[1], shifted); err != nil {
			return nil, err
		}
		pr.Files[1] = shifted
	}
	pr.Vantage[pr.Files[0]], pr.Vantage[pr.Files[1]] = p.A, p.B
	if err := pr.readTimes(res); err != nil {
		return nil, err
	}
	var err error
	// Where each capture was taken, as the engineer who ran tcpdump knows
	// it: the lab's files say it, and the read is told so (--vantage).
	var roles []string
	for _, f := range pr.Files {
		roles = append(roles, "--vantage", f+"="+pr.Vantage[f].Role())
	}
	if pr.Joint, err = RunJoint(ctx, bin, roles, pr.Files[0], pr.Files[1]); err != nil {
		return nil, err
	}
	byFile := map[string][]Verdict{}
	for _, v := range pr.Joint.Verdicts {
		vt, ok := pr.Vantage[v.File]
		if !ok {
			return nil, fmt.Errorf("%w: verdict for file %q, read %q", ErrVerdictFormat, v.File, pr.Files)
		}
		byFile[v.File] = append(byFile[v.File], v.Verdict)
		if pr.Verdicts[vt] == nil {
			pr.Verdicts[vt] = map[int]JointVerdict{}
		}
		pr.Verdicts[vt][v.Frame] = v
	}
	for _, f := range pr.Files {
		v := pr.Vantage[f]
		pr.Judged = append(pr.Judged, Judge(s.Name, v, res.Truth[v], byFile[f])...)
	}
	return pr, nil
}

// readTimes reads the times of the pair's captures as taken.
func (pr *PairRun) readTimes(res *Result) error {
	pr.first, pr.last, pr.rstAt = map[Vantage]time.Time{}, map[Vantage]time.Time{}, map[Vantage]map[int]time.Time{}
	pr.bothWays = map[Vantage]bool{}
	server := res.Scenario.ServerAddr()
	for _, v := range []Vantage{pr.Pair.A, pr.Pair.B} {
		segs, err := readSegments(filepath.Join(res.Dir, res.Scenario.CaptureFile(v)))
		if err != nil {
			return err
		}
		pr.rstAt[v] = map[int]time.Time{}
		var fromServer, fromClient bool
		for _, sg := range segs {
			switch {
			case sg.rst:
				pr.rstAt[v][sg.frame] = sg.ts
			case sg.src == server:
				fromServer = true
			default:
				fromClient = true
			}
			if sg.ts.After(pr.last[v]) {
				pr.last[v] = sg.ts
			}
			if pr.first[v].IsZero() || sg.ts.Before(pr.first[v]) {
				pr.first[v] = sg.ts
			}
		}
		pr.bothWays[v] = fromServer && fromClient
	}
	return nil
}

// Clock returns what the summary says about the input of a vantage.
func (pr *PairRun) Clock(v Vantage) (InputClock, bool) {
	for _, c := range pr.Joint.Inputs {
		if pr.Vantage[c.File] == v {
			return c, true
		}
	}
	return InputClock{}, false
}
