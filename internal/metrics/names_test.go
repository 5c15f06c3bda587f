package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/kernel"
	"github.com/rstscope/rstscope/rstanalysis"
)

type fakeKernel struct{}

func (fakeKernel) Stats() kernel.Stats {
	return kernel.Stats{Sent: map[string]uint64{"NO_SOCKET": 2}, Received: 1, Lost: 0, Joined: 2, NoEvent: 1}
}
func (fakeKernel) Err() error { return nil }

// TestNamesInDocs: every rstscope_ series that the fleet's files and the
// docs name is one rstscope serves (a renamed metric would leave an alert
// that never fires).
func TestNamesInDocs(t *testing.T) {
	m := New(Config{})
	m.Verdict(verdict(5, 5, rstanalysis.OriginServer, rstanalysis.CauseRefused, 80, "server host", rstanalysis.RuleKernelNoSocket))
	m.reg.MustRegister(&kernelCollector{w: fakeKernel{}})
	served := map[string]bool{}
	for series := range samples(t, scrape(t, m)) {
		name, _, _ := strings.Cut(series, "{")
		served[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			served[strings.TrimSuffix(name, suffix)] = true
		}
	}
	re := regexp.MustCompile(`rstscope_[a-z_]+[a-z]`)
	root := filepath.Join("..", "..")
	checked := map[string]bool{}
	for _, file := range []string{"internal/deploy/prometheus/rules.yml", "internal/deploy/prometheus/rules_test.yml", "docs/fleet.md", "docs/live.md"} {
		text, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range re.FindAllString(string(text), -1) {
			checked[name] = true
			if !served[name] {
				t.Errorf("%s names %s, which rstscope does not serve", file, name)
			}
		}
	}
	if len(checked) < 15 {
		t.Errorf("only %d names found in the docs: %v", len(checked), checked)
	}
}
