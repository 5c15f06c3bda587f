package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// needTool skips t without the named tool, and fails it in CI.
func needTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("needs %s (Debian package %s), and CI is set", tool, pkg)
		}
		t.Skipf("needs %s (Debian package %s)", tool, pkg)
	}
}

// run runs a command in dir and fails t unless it succeeds; it returns the
// output.
func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSystemdUnit: systemd parses the unit without a word of complaint
// (an unknown key is only a warning to systemd-analyze, so any output
// fails the test).
func TestSystemdUnit(t *testing.T) {
	needTool(t, "systemd-analyze", "systemd")
	if out := run(t, ".", "systemd-analyze", "verify", "systemd/rstscope.service"); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify says:\n%s", out)
	}
}

// TestPrometheus: the scrape job and the rules are valid, and the rules'
// unit tests pass.
func TestPrometheus(t *testing.T) {
	needTool(t, "promtool", "prometheus")
	run(t, "prometheus", "promtool", "check", "rules", "rules.yml")
	run(t, "prometheus", "promtool", "check", "config", "prometheus.yml")
	out := run(t, "prometheus", "promtool", "test", "rules", "rules_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
}

// TestClickHouseColumns: the table has a column for every key of a verdict
// line that docs/json.md lists, in the same order, and the host.
func TestClickHouseColumns(t *testing.T) {
	sql, err := os.ReadFile("clickhouse/resets.sql")
	if err != nil {
		t.Fatal(err)
	}
	body := sql[bytes.Index(sql, []byte("CREATE TABLE")):]
	body = body[bytes.IndexByte(body, '(')+1 : bytes.Index(body, []byte("\n)"))]
	var columns []string
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			columns = append(columns, strings.Trim(f[0], "`"))
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The verdict line's table, up to the next heading.
	sec := doc[bytes.Index(doc, []byte("## Verdict line")):]
	sec = sec[:bytes.Index(sec[3:], []byte("\n#"))+3]
	var keys []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllSubmatch(sec, -1) {
		keys = append(keys, string(m[1]))
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d keys in docs/json.md: %q", len(keys), keys)
	}
	if want := append([]string{"host"}, keys...); !slices.Equal(columns, want) {
		t.Errorf("columns %q\nwant     %q", columns, want)
	}
}
