package rstanalysis

// Origins lists every Origin, in the order of their values.
func Origins() []Origin {
	os := make([]Origin, len(originNames))
	for i := range os {
		os[i] = Origin(i)
	}
	return os
}

// Causes lists every Cause, in the order of their values.
func Causes() []Cause {
	cs := make([]Cause, len(causeNames))
	for i := range cs {
		cs[i] = Cause(i)
	}
	return cs
}

// RuleOf returns the Rules entry of id; ok is false for an id not listed.
func RuleOf(id RuleID) (r Rule, ok bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
