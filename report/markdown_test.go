package report

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TestMarkdownEscapes: text from the wire cannot break a table or turn
// into markup, and every row has the header's number of cells, in the
// events table and the RST table.
func TestMarkdownEscapes(t *testing.T) {
	v := fixture()[0]
	v.Request = "GET a.example/x|y *z* `c` <script>"
	v.Findings = []rstanalysis.Finding{{Rule: "x.pipe", Text: "pipe | inside"}}
	d := &digest{loc: time.UTC}
	for _, rsts := range []bool{false, true} {
		out := string(render(t, FormatMarkdown, Options{RSTs: rsts}, []rstanalysis.Verdict{v}, Summary{}))
		want := []string{`x\|y \*z\* \` + "`c\\` &lt;script>"}
		if rsts {
			want = append(want, `pipe \| inside`)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("rsts=%v: markdown lacks %q:\n%s", rsts, w, out)
			}
		}
		header := mdEventHeader(d)
		if rsts {
			header = mdRSTHeader(d)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "| ") && strings.Contains(line, "10.0.0.9:8080 ") && strings.Contains(line, "10.0.0.5") {
				cells := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
				if cells != len(header) {
					t.Errorf("rsts=%v: row has %d cells, want %d: %s", rsts, cells, len(header), line)
				}
			}
		}
	}
}
