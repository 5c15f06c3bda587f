package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/rstanalysis"
)

func TestMarkdownEscapes(t *testing.T) {
	v := fixture()[0]
	v.Request = "GET a.example/x|y *z* `c` <script>"
	v.Findings = []rstanalysis.Finding{{Rule: "x.pipe", Text: "pipe | inside"}}
	out := string(render(t, FormatMarkdown, Options{}, []rstanalysis.Verdict{v}, Summary{}))
	for _, want := range []string{`x\|y \*z\* \` + "`c\\` &lt;script>", `pipe \| inside`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	// Every row of the RST table has the header's number of cells.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "10.0.0.9:8080 ") && strings.Contains(line, "10.0.0.5") {
			cells := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
			if cells != len(mdRSTHeader) {
				t.Errorf("row has %d cells, want %d: %s", cells, len(mdRSTHeader), line)
			}
		}
	}
}
