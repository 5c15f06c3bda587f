package rstanalysis_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TestRuleTable: every rule has a unique id of the form concern.what, says
// what it means and where it comes from.
func TestRuleTable(t *testing.T) {
	idForm := regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)
	seen := map[rstanalysis.RuleID]bool{}
	for _, r := range rstanalysis.Rules {
		if !idForm.MatchString(string(r.ID)) {
			t.Errorf("rule id %q is not concern.what", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule id %q listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Means == "" {
			t.Errorf("rule %q says nothing of what it means", r.ID)
		}
		if r.Source == "" && r.ID != rstanalysis.RuleLoneMidstream {
			t.Errorf("rule %q has no source", r.ID)
		}
	}
}

// TestFindingsOnLab checks the findings of every verdict of the lab's
// captures (real Linux stacks, testdata/lab): each names a listed rule, has
// a text, soft rules only ever speak for the sender, the verdict lists them
// strongest first, and the frames they cite exist and lie on the right side
// of the RST (the segment a RST answers before it, what followed after it).
func TestFindingsOnLab(t *testing.T) {
	caps, err := filepath.Glob("../testdata/lab/*.pcap*")
	if err != nil || len(caps) == 0 {
		t.Fatalf("no lab captures under testdata/lab (%v)", err)
	}
	rules := map[rstanalysis.RuleID]rstanalysis.Rule{}
	for _, r := range rstanalysis.Rules {
		rules[r.ID] = r
	}
	fired := map[rstanalysis.RuleID]int{}
	for _, c := range caps {
		vs, _, err := readAll(t, c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		for _, v := range vs {
			where := filepath.Base(c) + " frame " + itoa(v.Frame)
			for i, f := range v.Findings {
				r, ok := rules[f.Rule]
				if !ok {
					t.Errorf("%s: finding %q has unlisted rule %q", where, f.Text, f.Rule)
					continue
				}
				fired[f.Rule]++
				if f.Text == "" {
					t.Errorf("%s: rule %s with no text", where, f.Rule)
				}
				if r.Soft && f.Weight >= 0 {
					t.Errorf("%s: soft rule %s with weight %v, want < 0", where, f.Rule, f.Weight)
				}
				if i > 0 && abs(f.Weight) > abs(v.Findings[i-1].Weight) {
					t.Errorf("%s: finding %d (%s, %v) outweighs the one before it", where, i, f.Rule, f.Weight)
				}
				checkFrames(t, where, v.Frame, f)
			}
		}
	}
	// The lab's scenarios exercise these rules; a rule that stops firing on
	// them has changed.
	for _, id := range []rstanalysis.RuleID{rstanalysis.RuleTTLMatch, rstanalysis.RuleTTLInitial,
		rstanalysis.RuleTimingTooFast, rstanalysis.RuleTimingPlausible, rstanalysis.RuleSeqInWindow,
		rstanalysis.RuleAfterContinues, rstanalysis.RuleSYNRefusal, rstanalysis.RuleBurstGFWStep} {
		if fired[id] == 0 {
			t.Errorf("rule %s never fired on the lab's captures", id)
		}
	}
}

func checkFrames(t *testing.T, where string, rst uint64, f rstanalysis.Finding) {
	t.Helper()
	for _, fr := range f.Frames {
		switch {
		case fr == 0 || fr == rst:
			t.Errorf("%s: rule %s cites frame %d", where, f.Rule, fr)
		case strings.HasPrefix(string(f.Rule), "after.") || f.Rule == rstanalysis.RuleBurstFollowStep:
			if fr < rst {
				t.Errorf("%s: rule %s cites frame %d, before the RST", where, f.Rule, fr)
			}
		case fr > rst:
			t.Errorf("%s: rule %s cites frame %d, after the RST", where, f.Rule, fr)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
