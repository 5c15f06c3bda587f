package rstanalysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// finding is one rule that fired, in the making.
type finding struct {
	rule   RuleID
	forged float64 // > 0: evidence of a forged RST; < 0: of a genuine one; 0: context
	soft   bool    // Rule.Soft of rule
	text   string
	frames []uint64
}

type findings []finding

// add records that rule id fired with weight forged (signed as in
// Finding.Weight), citing frames (0 entries are left out).
func (fs *findings) add(id RuleID, forged float64, frames []uint64, format string, args ...any) {
	var fr []uint64
	for _, f := range frames {
		if f != 0 {
			fr = append(fr, f)
		}
	}
	*fs = append(*fs, finding{rule: id, forged: forged, soft: softRules[id], frames: fr,
		text: fmt.Sprintf(format, args...)})
}

// on lists frames for add.
func on(frames ...uint64) []uint64 { return frames }

// sums returns the total weight for forgery, and for genuineness: all of
// it, and the part a forger cannot match for free.
func (fs findings) sums() (forged, genuine, hard float64) {
	for _, f := range fs {
		switch {
		case f.forged > 0:
			forged += f.forged
		case f.soft:
			genuine -= f.forged
		default:
			genuine -= f.forged
			hard -= f.forged
		}
	}
	return forged, genuine, hard
}

// sorted returns the findings strongest first (by |weight|, ties in the
// order the rules ran) as the verdict carries them, in out's memory when
// it has room (nil: new memory).
func (fs findings) sorted(out []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b finding) int { return cmp.Compare(math.Abs(b.forged), math.Abs(a.forged)) })
	if out == nil || cap(out) < len(fs) {
		out = make([]Finding, len(fs))
	}
	out = out[:len(fs)]
	for i, f := range fs {
		out[i] = Finding{Rule: f.rule, Weight: f.forged, Text: f.text, Frames: f.frames}
	}
	return out
}

// has reports whether rule id fired.
func (fs findings) has(id RuleID) bool {
	for _, f := range fs {
		if f.rule == id {
			return true
		}
	}
	return false
}

// without returns fs without the findings of rule id.
func (fs findings) without(id RuleID) findings {
	out := fs[:0]
	for _, f := range fs {
		if f.rule != id {
			out = append(out, f)
		}
	}
	return out
}

// weaken caps the weight of the findings of rule id at w.
func (fs findings) weaken(id RuleID, w float64) {
	for i := range fs {
		if fs[i].rule == id && fs[i].forged > w {
			fs[i].forged = w
		}
	}
}
