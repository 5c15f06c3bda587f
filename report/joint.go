package report

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// Several captures read together (rstanalysis.Joint): every verdict carries
// the sightings of its RST packet, Event is a number shared across the
// inputs, and Relation is "" exactly for the event's first RST. The
// summaries count each RST packet once, by its first sighting; the event
// tables show each event once, with its frames in every input.

// isJoint reports whether v comes from a joint read.
func isJoint(v *rstanalysis.Verdict) bool { return v.Sightings != nil }

// repeatSighting reports whether v is a later input's record of a RST
// packet an earlier input's verdict already reported.
func repeatSighting(v *rstanalysis.Verdict) bool {
	return len(v.Sightings) > 0 && (v.Sightings[0].File != v.File || v.Sightings[0].Frame != v.Frame)
}

// noteFrame records v's frame under its event, for the event tables.
func (b *book) noteFrame(k uint64, v *rstanalysis.Verdict) {
	if b.frames == nil {
		b.frames = map[uint64]map[string][]uint64{}
	}
	m := b.frames[k]
	if m == nil {
		m = map[string][]uint64{}
		b.frames[k] = m
	}
	m[v.File] = append(m[v.File], v.Frame)
}

// framesCell is the frames of e's event in each input, in the inputs'
// order, "-" where an input has none: "7,9 / 8,9".
func (b *book) framesCell(e *event, inputs []string) string {
	m := b.frames[b.eventKey(&e.v)]
	cells := make([]string, len(inputs))
	for i, in := range inputs {
		fs := m[in]
		if len(fs) == 0 {
			cells[i] = "-"
			continue
		}
		s := make([]string, len(fs))
		for k, f := range fs {
			s[k] = strconv.FormatUint(f, 10)
		}
		cells[i] = strings.Join(s, ",")
	}
	return strings.Join(cells, " / ")
}

// jointRows rewrites the listed events' rows for a joint read: the frame
// cell lists the event's frames in every input, and the rows are not
// grouped by file (an event spans the inputs).
func (d *digest) jointRows() {
	if d.s.Joint == nil {
		return
	}
	for _, e := range d.listed {
		if isJoint(&e.v) {
			e.r.frame = d.bk.framesCell(e, d.s.Inputs)
			e.r.file, e.r.fileText = "", ""
		}
	}
}

// jointLines are the capture block's lines of a joint read: what the
// event tables' frame cells list, and per input its clock and matches.
func jointLines(s Summary) [][2]string {
	if s.Joint == nil {
		return nil
	}
	names := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		names[i] = clean(filepath.Base(in))
	}
	ls := [][2]string{{"together", "frames per event listed as " + strings.Join(names, " / ")}}
	for _, in := range s.Joint.Inputs {
		ls = append(ls, [2]string{"", clean(filepath.Base(in.File)) + ": " + alignText(in)})
	}
	return ls
}

// alignText says one input's clock and matches in words.
func alignText(in rstanalysis.InputAlignment) string {
	role := in.Role
	if role == "" {
		role = "unknown place"
	}
	clock := "clock offset " + msText(in.Offset) + " ± " + msText(in.Uncertainty)
	if !in.Aligned {
		clock = "clock not aligned"
	}
	return fmt.Sprintf("%s, %s, %s matched, %d unmatched", role, clock, plural(in.Matched, "connection"), in.Unmatched)
}

func msText(d time.Duration) string {
	return strconv.FormatFloat(rttMillis(d), 'f', -1, 64) + " ms"
}

// jsonJoint is the summary's "joint" object.
type jsonJoint struct {
	Inputs []jsonJointInput `json:"inputs"`
	Pairs  []jsonJointPair  `json:"pairs"`
}

type jsonJointInput struct {
	Input         string   `json:"input"`
	Role          string   `json:"role"`
	OffsetMS      *float64 `json:"offset_ms"`
	UncertaintyMS *float64 `json:"uncertainty_ms"`
	Matched       int      `json:"matched"`
	Unmatched     int      `json:"unmatched"`
}

type jsonJointPair struct {
	A       string `json:"a"`
	B       string `json:"b"`
	Matched int    `json:"matched"`
	OnlyA   int    `json:"only_a"`
	OnlyB   int    `json:"only_b"`
}

// jsonJointOf renders res; nil for nil.
func jsonJointOf(res *rstanalysis.JointResult) *jsonJoint {
	if res == nil {
		return nil
	}
	js := &jsonJoint{Inputs: []jsonJointInput{}, Pairs: []jsonJointPair{}}
	for _, in := range res.Inputs {
		ji := jsonJointInput{Input: in.File, Role: in.Role, Matched: in.Matched, Unmatched: in.Unmatched}
		if in.Aligned {
			off, unc := rttMillis(in.Offset), rttMillis(in.Uncertainty)
			ji.OffsetMS, ji.UncertaintyMS = &off, &unc
		}
		js.Inputs = append(js.Inputs, ji)
	}
	for _, p := range res.Pairs {
		if p.A < len(res.Inputs) && p.B < len(res.Inputs) {
			js.Pairs = append(js.Pairs, jsonJointPair{A: res.Inputs[p.A].File, B: res.Inputs[p.B].File,
				Matched: p.Matched, OnlyA: p.OnlyA, OnlyB: p.OnlyB})
		}
	}
	return js
}

// jsonSighting is one element of "sightings".
type jsonSighting struct {
	File  string `json:"file"`
	Frame uint64 `json:"frame"`
}

func jsonSightings(v *rstanalysis.Verdict) []jsonSighting {
	if v.Sightings == nil {
		return nil
	}
	out := make([]jsonSighting, len(v.Sightings))
	for i, s := range v.Sightings {
		out[i] = jsonSighting{File: s.File, Frame: s.Frame}
	}
	return out
}
