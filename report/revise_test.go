package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testenv"
	"github.com/rstscope/rstscope/rstanalysis"
)

// revisedRun is the fixture as a live capture could write it: the refusal
// at frame 3 first issued unknown, then, after the other verdicts,
// revised to the fixture's verdict.
func revisedRun() []rstanalysis.Verdict {
	vs := fixture()
	first := vs[0]
	first.Origin, first.Confidence = rstanalysis.OriginUnknown, 0
	first.Findings = []rstanalysis.Finding{{Rule: "ttl.none", Text: "no other packet from the server"}}
	rev := vs[0]
	rev.Revision = 1
	rev.Was = rstanalysis.Was{Origin: rstanalysis.OriginUnknown, Cause: rstanalysis.CauseRefused}
	return append(append([]rstanalysis.Verdict{first}, vs[1:]...), rev)
}

// TestRevisionCountsOnce: a run with a revision reports as if the
// verdict had been issued as revised at once: the events listed, the
// summaries by origin, cause and server, in every people format; the
// JSON summary counts the RST once, by its latest verdict.
func TestRevisionCountsOnce(t *testing.T) {
	opts := Options{MaxRows: -1, Summary: true}
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatHTML} {
		want := render(t, f, opts, fixture(), fixtureSummary)
		got := render(t, f, opts, revisedRun(), fixtureSummary)
		if !bytes.Equal(got, want) {
			t.Errorf("%v: a revised run renders otherwise than the verdicts revised at once:\n%s", f, testenv.LineDiff(string(want), string(got)))
		}
	}
	lines := strings.Split(strings.TrimSpace(string(render(t, FormatJSON, opts, revisedRun(), fixtureSummary))), "\n")
	wantLines := strings.Split(strings.TrimSpace(string(render(t, FormatJSON, opts, fixture(), fixtureSummary))), "\n")
	if got, want := lines[len(lines)-1], wantLines[len(wantLines)-1]; got != want {
		t.Errorf("JSON summary:\n got %s\nwant %s", got, want)
	}
	// The revision line: the contract's keys, then revision and was.
	rev := lines[len(lines)-2]
	keys, m := objectKeys(t, rev)
	want := make([]string, 0, len(verdictKeys)+2)
	for _, k := range verdictKeys {
		want = append(want, k.key)
	}
	if want = append(want, "revision", "was"); !slices.Equal(keys, want) {
		t.Errorf("revision line keys %v\nwant %v", keys, want)
	}
	var was struct {
		Revision int
		Was      map[string]any
		Frame    uint64
		Origin   string
	}
	if err := json.Unmarshal([]byte(rev), &was); err != nil {
		t.Fatal(err)
	}
	if was.Revision != 1 || was.Frame != 3 || was.Origin != "server" || was.Was["origin"] != "unknown" ||
		was.Was["cause"] != "refused" || was.Was["confidence"] != 0.0 {
		t.Errorf("revision line %s", rev)
	}
	if _, ok := m["revision"]; ok && strings.Contains(lines[0], `"revision"`) {
		t.Errorf("a first issue carries revision: %s", lines[0])
	}
	// CSV lists each RST once, as first issued.
	if got, want := len(strings.Split(string(render(t, FormatCSV, opts, revisedRun(), fixtureSummary)), "\n")),
		len(strings.Split(string(render(t, FormatCSV, opts, fixture(), fixtureSummary)), "\n")); got != want {
		t.Errorf("CSV: %d lines, want %d", got, want)
	}
}

// TestRevisionStream: live, the table and markdown show the revision as
// it comes, after the RST's first line.
func TestRevisionStream(t *testing.T) {
	opts := Options{Stream: true, Width: 200}
	for _, c := range []struct {
		f    Format
		want string
	}{
		{FormatTable, "revised: frame 3 10.0.0.5:51000 → 10.0.0.9:8080 now server 0.95 refused (was unknown): answers the SYN"},
		{FormatMarkdown, "| revised: 3 | "},
	} {
		out := string(render(t, c.f, opts, revisedRun(), fixtureSummary))
		i := strings.Index(out, c.want)
		if i < 0 {
			t.Errorf("%v: no line %q in\n%s", c.f, c.want, out)
			continue
		}
		if c.f == FormatMarkdown && !strings.Contains(out[i:strings.Index(out[i:], "\n")+i], "server (was unknown)") {
			t.Errorf("markdown revision row does not say what it was: %s", out[i:])
		}
	}
}
