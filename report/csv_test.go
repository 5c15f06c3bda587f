package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCSVRoundTrip(t *testing.T) {
	vs := fixture()
	out := render(t, FormatCSV, Options{}, vs, fixtureSummary)
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if len(recs) != len(vs)+1 {
		t.Fatalf("got %d records, want a header and %d rows", len(recs), len(vs))
	}
	if got := strings.Join(recs[0], ","); got != strings.Join(csvHeader, ",") {
		t.Errorf("header = %s", got)
	}
	// rules sits right before evidence, which stays last.
	if n := len(recs[0]); n < 2 || recs[0][n-2] != "rules" || recs[0][n-1] != "evidence" {
		t.Errorf("header ends %q, want rules, evidence", recs[0][max(0, len(recs[0])-2):])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for i, v := range vs {
		r := recs[i+1]
		t.Run(fmt.Sprintf("frame%d", v.Frame), func(t *testing.T) {
			checks := map[string]string{
				"frame": strconv.FormatUint(v.Frame, 10), "ts": timestamp(v.Time),
				"client": v.Client.String(), "server": v.Server.String(), "origin": v.Origin.String(),
				"cause": v.Cause.String(), "phase": v.Phase.String(), "request": v.Request,
				"midstream": strconv.FormatBool(v.Midstream),
			}
			for k, want := range checks {
				if got := r[col[k]]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			split := func(s string) []string {
				if s == "" {
					return []string{}
				}
				return strings.Split(s, csvEvidenceSep)
			}
			want := texts(&v)
			if ev := split(r[col["evidence"]]); !slices.Equal(ev, want) {
				t.Errorf("evidence = %q, want %q", ev, want)
			}
			var rules []string
			for _, f := range v.Findings {
				rules = append(rules, string(f.Rule))
			}
			if got := split(r[col["rules"]]); !slices.Equal(got, rules) {
				t.Errorf("rules = %q, want %q", got, rules)
			}
		})
	}
}
