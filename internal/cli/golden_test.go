package cli

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// elapsed is the one line of a report that changes from run to run, as
// the table, markdown and HTML formats write it.
var elapsed = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^(\s*elapsed\s+).*$`),
	regexp.MustCompile(`(?m)^(- \*\*elapsed\*\*: ).*$`),
	regexp.MustCompile(`(?m)^(<dt>elapsed</dt><dd>)[^<]*`),
}

// everyFormat are the lab captures whose report the goldens hold in every
// format; the others have JSON, and the table for the client's captures.
var everyFormat = map[string]bool{
	"inject-gfw.client.pcap": true, "keepalive-reuse.client.pcap": true, "closed-port.client.pcap": true,
	"idle-timeout.client.pcap": true, "server-abort-after-request-v6.client.pcap": true,
}

// TestGolden renders the lab's committed captures (real Linux stacks, see
// testdata/lab/README.md) and compares with testdata/golden: JSON Lines for
// every capture, the table for the client-side ones, and markdown, HTML and
// CSV for a few (everyFormat). After a change in
// attribution, run `go test ./internal/cli -run TestGolden -update` and
// review the diff like code.
func TestGolden(t *testing.T) {
	caps, err := filepath.Glob("../../testdata/lab/*.pcap*")
	if err != nil || len(caps) == 0 {
		t.Fatalf("no lab captures under testdata/lab (%v)", err)
	}
	for _, c := range caps {
		base := filepath.Base(c)
		formats := []string{"json"}
		if strings.Contains(base, ".client.") {
			formats = append(formats, "table")
		}
		if everyFormat[base] {
			formats = append(formats, "markdown", "html", "csv")
		}
		for _, f := range formats {
			t.Run(base+"/"+f, func(t *testing.T) {
				code, out, errs := run(t, nil, "read", "-j", "1", "-o", f, "--width", "160", c)
				if code != ExitOK {
					t.Fatalf("exit %d: %s", code, errs)
				}
				for _, re := range elapsed {
					out = re.ReplaceAllString(out, "${1}(elapsed)")
				}
				golden := filepath.Join("../../testdata/golden", base+"."+f)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if string(want) != out {
					t.Errorf("output differs from %s (run with -update and review the diff):\n%s", golden, testenv.LineDiff(string(want), out))
				}
			})
		}
	}
}
