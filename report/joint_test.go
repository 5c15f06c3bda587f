package report

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// jointVerdicts is a joint read of two files: an injected RST seen only at
// the client (event 1) and the client's own RST seen in both (event 2).
func jointVerdicts() []rstanalysis.Verdict {
	t0 := time.Date(2026, 11, 21, 6, 36, 55, 0, time.UTC)
	cl, sv := netip.MustParseAddrPort("10.77.1.2:51366"), netip.MustParseAddrPort("10.77.2.2:8019")
	v := func(file string, frame uint64, from rstanalysis.Side, o rstanalysis.Origin, c rstanalysis.Cause, ev uint64, s ...rstanalysis.Sighting) rstanalysis.Verdict {
		return rstanalysis.Verdict{File: file, Frame: frame, Time: t0.Add(time.Duration(frame) * time.Millisecond),
			Client: cl, Server: sv, From: from, Origin: o, Confidence: 0.99, Cause: c, Event: ev, Flags: "R", Sightings: s}
	}
	a, b := "a.pcap", "b.pcap"
	return []rstanalysis.Verdict{
		v(a, 5, rstanalysis.Server, rstanalysis.OriginMiddlebox, rstanalysis.CauseInjected, 1, rstanalysis.Sighting{File: a, Frame: 5}),
		v(a, 7, rstanalysis.Client, rstanalysis.OriginClient, rstanalysis.CauseClientAbort, 2,
			rstanalysis.Sighting{File: a, Frame: 7}, rstanalysis.Sighting{File: b, Frame: 8}),
		v(b, 8, rstanalysis.Client, rstanalysis.OriginClient, rstanalysis.CauseClientAbort, 2,
			rstanalysis.Sighting{File: a, Frame: 7}, rstanalysis.Sighting{File: b, Frame: 8}),
	}
}

func jointSummary() Summary {
	return Summary{Inputs: []string{"a.pcap", "b.pcap"}, RSTs: 3, Joint: &rstanalysis.JointResult{
		Inputs: []rstanalysis.InputAlignment{
			{File: "a.pcap", Role: "client", Aligned: true, Matched: 1},
			{File: "b.pcap", Role: "server", Offset: 7500 * time.Millisecond, Uncertainty: 10 * time.Millisecond, Aligned: true, Matched: 1},
		},
		Pairs: []rstanalysis.PairMatch{{A: 0, B: 1, Matched: 1}},
	}}
}

// TestJointJSON: a joint read's lines have the contract's keys plus
// sightings, the summary its keys plus joint, each as docs/json.md lists
// them, and the summary counts the packet seen twice once.
func TestJointJSON(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(FormatJSON, &buf, Options{Summary: true})
	vs := jointVerdicts()
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(jointSummary()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 3 verdicts and the summary:\n%s", len(lines), buf.String())
	}
	want := []string{}
	for _, k := range verdictKeys {
		want = append(want, k.key)
	}
	want = append(want, "sightings")
	for _, l := range lines[:3] {
		if keys, _ := objectKeys(t, l); !slices.Equal(keys, want) {
			t.Errorf("verdict keys %v\nwant %v", keys, want)
		}
	}
	if !strings.Contains(lines[2], `"sightings":[{"file":"a.pcap","frame":7},{"file":"b.pcap","frame":8}]`) {
		t.Errorf("sightings not written as documented: %s", lines[2])
	}
	_, sum := objectKeys(t, lines[3])
	s := sum["summary"].(map[string]any)
	if s["verdicts"] != 2.0 || s["events"] != 2.0 || s["follow_ups"] != 0.0 {
		t.Errorf("summary counts verdicts %v events %v follow_ups %v, want 2, 2, 0 (a packet seen twice counts once)",
			s["verdicts"], s["events"], s["follow_ups"])
	}
	j := s["joint"].(map[string]any)
	in := j["inputs"].([]any)[1].(map[string]any)
	if in["offset_ms"] != 7500.0 || in["uncertainty_ms"] != 10.0 || in["role"] != "server" {
		t.Errorf("joint input %v", in)
	}
	checkJointDoc(t, lines[3])
}

// checkJointDoc checks the section of docs/json.md on joint reads against
// the keys written.
func checkJointDoc(t *testing.T, summaryLine string) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, "## Several inputs read together")
	if i < 0 {
		t.Fatal("docs/json.md has no section on several inputs")
	}
	var got []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(s[i:], -1) {
		got = append(got, m[1])
	}
	keysOf := func(line string) []string {
		var out []string
		dec := regexp.MustCompile(`"([a-z_]+)":`)
		for _, m := range dec.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
		return out
	}
	sub := summaryLine[strings.Index(summaryLine, `"joint":`):]
	in := sub[strings.Index(sub, `"inputs":[{`)+len(`"inputs":[`):]
	in = in[:strings.Index(in, "}")+1]
	pair := sub[strings.Index(sub, `"pairs":[{`)+len(`"pairs":[`):]
	pair = pair[:strings.Index(pair, "}")+1]
	want := append(append([]string{"sightings", "joint"}, keysOf(in)...), keysOf(pair)...)
	if !slices.Equal(got, want) {
		t.Errorf("docs/json.md, several inputs: keys %v\nwritten: %v", got, want)
	}
}

// TestJointTable: the event table lists each event once with its frames
// in every input, and the capture block says how the inputs line up.
func TestJointTable(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(FormatTable, &buf, Options{Width: 160})
	vs := jointVerdicts()
	vs[1].Cause, vs[2].Cause = rstanalysis.CauseLateSegment, rstanalysis.CauseLateSegment
	vs = append(vs, vs[0])
	vs[3].Frame, vs[3].File, vs[3].Event = 9, "b.pcap", 3
	vs[3].Sightings = []rstanalysis.Sighting{{File: "b.pcap", Frame: 9}}
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(jointSummary()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"5 / -", "- / 9", "2 reset events", "frames per event listed as a.pcap / b.pcap",
		"b.pcap: server, clock offset 7500 ms ± 10 ms, 1 connection matched, 0 unmatched"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "== a.pcap") {
		t.Errorf("a joint read's events are not grouped by file:\n%s", out)
	}
}
