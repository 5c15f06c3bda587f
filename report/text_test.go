package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/rstscope/rstscope/rstanalysis"
)

func TestTableFitsWidth(t *testing.T) {
	for _, width := range []int{0, 200} {
		t.Run(fmt.Sprintf("width=%d", width), func(t *testing.T) {
			out := render(t, FormatTable, Options{Width: width}, fixture(), fixtureSummary)
			limit := width
			if limit == 0 {
				limit = defaultWidth
			}
			for i, line := range strings.Split(string(out), "\n") {
				if w := twwidth.Width(line); w > limit {
					t.Errorf("line %d is %d columns, want at most %d:\n%s", i+1, w, limit, line)
				}
			}
		})
	}
}

// TestMaxRows checks the cap on the RST table: the first MaxRows verdicts
// are listed, a line counts the others, the summaries still count all of
// them, and the writer keeps no more than MaxRows verdicts.
func TestMaxRows(t *testing.T) {
	vs := fixture()
	if len(vs) < 4 {
		t.Fatalf("fixture has %d verdicts; the test needs at least 4", len(vs))
	}
	frame := func(v rstanalysis.Verdict) string { return " " + strconv.FormatUint(v.Frame, 10) + " " }
	for _, md := range []bool{false, true} {
		f := FormatTable
		if md {
			f = FormatMarkdown
		}
		all := string(render(t, f, Options{Width: 200}, vs, Summary{}))
		capped := string(render(t, f, Options{Width: 200, MaxRows: 2}, vs, Summary{}))
		want := fmt.Sprintf("%d more RSTs are not listed: the table stops at the first 2", len(vs)-2)
		if !strings.Contains(capped, want) {
			t.Errorf("%v: no line %q in\n%s", f, want, capped)
		}
		if strings.Contains(all, "not listed") {
			t.Errorf("%v: uncapped output says RSTs are not listed", f)
		}
		// The summaries, after the RST table, are the same.
		sumAt := func(s string) string {
			i := strings.Index(s, "origin and cause")
			if i < 0 {
				t.Fatalf("%v: no summary in\n%s", f, s)
			}
			return s[i:]
		}
		if sumAt(all) != sumAt(capped) {
			t.Errorf("%v: summaries differ with MaxRows 2:\n%s\nwant\n%s", f, sumAt(capped), sumAt(all))
		}
		table := capped[:strings.Index(capped, "not listed")]
		for i, v := range vs {
			if listed := strings.Contains(table, frame(v)) || strings.Contains(table, "| "+strconv.FormatUint(v.Frame, 10)+" |"); listed != (i < 2) {
				t.Errorf("%v: frame %d listed = %v, want %v", f, v.Frame, listed, i < 2)
			}
		}
	}
	w := newTextWriter(io.Discard, Options{MaxRows: 2})
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.rows) != 2 || w.unlisted != len(vs)-2 || w.tally.total != len(vs) {
		t.Errorf("kept %d rows, %d unlisted, %d tallied; want 2, %d, %d", len(w.rows), w.unlisted, w.tally.total, len(vs)-2, len(vs))
	}
}

func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "GET example.com/", "GET example.com/"},
		{"unicode kept", "ttl: 64 → 57 (7 hops)", "ttl: 64 → 57 (7 hops)"},
		{"ansi escape", "GET evil/\x1b[2J", `GET evil/\x1b[2J`},
		{"newline and tab", "a\nb\tc", `a\x0ab\x09c`},
		{"invalid utf-8", "host=\xff\xfe", `host=\xff\xfe`},
		{"c1 control", "x\u0085y", `x\x85y`},
		{"bidi override", "a\u202eb", `a\u202eb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 4, "abc…"},
		{"cut drops trailing space", "ab cdef", 4, "ab…"},
		{"arrow counts one column", "a → bcdef", 5, "a →…"},
		{"tiny", "abcdef", 1, "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.width)
			if got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
			if w := twwidth.Width(got); w > max(tc.width, 1) {
				t.Errorf("result is %d columns wide, want at most %d", w, tc.width)
			}
		})
	}
}
