package lab

import (
	"strings"
	"testing"
	"time"
)

// clockShift is how far the server's capture of each scenario is moved
// (editcap -t) for the second read of the client+server pair.
const clockShift = 7500 * time.Millisecond

// pairUnknownAllowed lists the RSTs a pair of captures may leave
// "unknown" because the two captures truly cannot decide them, each with
// the reason; the fields match as in unknownAllowed, pair "" any pair.
// Read together, the ends decide what one capture leaves open (a RST
// answering a SYN: the server's capture shows it leave, or never saw the
// SYN), so the list is empty.
var pairUnknownAllowed = []struct {
	scenario string
	pair     Pair
	vantage  Vantage
	why      string
}{}

func allowedPairUnknown(pr *PairRun, j Judged) string {
	for _, a := range pairUnknownAllowed {
		if a.scenario == pr.Scenario.Name && (a.pair == Pair{} || a.pair == pr.Pair) &&
			(a.vantage == "" || a.vantage == j.Vantage) {
			return a.why
		}
	}
	return ""
}

// assertPairs reads every scenario's Pairs together through the CLI and
// judges each record against its own file's truth (PairRun.Problems); the
// client+server pair is read a second time with the server's capture
// shifted by clockShift, which must change nothing but the reported clock
// offset.
func assertPairs(t *testing.T, bin string, results []*Result) {
	start := time.Now()
	var runs []*PairRun
	report := func(problems, notes []string) {
		for _, n := range notes {
			t.Log(n)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
	for _, r := range results {
		for i, p := range Pairs {
			pr, err := ScorePair(t.Context(), bin, r, p, 0)
			if err != nil {
				t.Fatalf("%s %s: %v", r.Scenario.Name, p, err)
			}
			runs = append(runs, pr)
			report(pr.Problems(allowedPairUnknown))
			report(pr.ClockProblems(), nil)
			if i != 0 {
				continue
			}
			sh, err := ScorePair(t.Context(), bin, r, p, clockShift)
			if err != nil {
				t.Fatalf("%s %s shifted: %v", r.Scenario.Name, p, err)
			}
			runs = append(runs, sh)
			report(SameVerdicts(pr, sh), nil)
			report(sh.ClockProblems(), nil)
		}
	}
	var table strings.Builder
	if err := WritePairTable(&table, runs); err != nil {
		t.Fatal(err)
	}
	t.Logf("rstscope on pairs read together (right/wrong/unknown, proven/provable middlebox RSTs), %d reads in %v:\n%s",
		len(runs), time.Since(start).Round(time.Millisecond), table.String())
}
