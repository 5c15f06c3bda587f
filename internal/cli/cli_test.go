package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/gen"
)

// run calls Main and returns the exit code, stdout and stderr.
func run(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// generated writes a small deterministic capture with every kind of reset
// and returns its path and its RST count.
func generated(t *testing.T) (string, int) {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Packets, cfg.Concurrency, cfg.Seed = 4000, 40, 3
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gen.Generate(context.Background(), f, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, st.RSTs
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestReadJSON(t *testing.T) {
	path, rsts := generated(t)
	code, out, errs := run(t, nil, "read", "-o", "json", path)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := jsonLines(t, out)
	if len(lines) != rsts {
		t.Errorf("%d JSON lines for %d RSTs", len(lines), rsts)
	}
	for _, m := range lines {
		for _, k := range []string{"frame", "ts", "client", "server", "from", "origin", "confidence", "phase", "cause", "evidence"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("line without %q: %v", k, m)
			}
		}
	}
}

func TestReadStdinMatchesFile(t *testing.T) {
	path, _ := generated(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := run(t, nil, "read", "-o", "csv", path)
	code, fromStdin, errs := run(t, data, "read", "-o", "csv", "-")
	if code != ExitOK || fromStdin != fromFile {
		t.Errorf("stdin: exit %d (stderr %q); output equal to the file's: %v", code, errs, fromStdin == fromFile)
	}
}

func TestReadFilter(t *testing.T) {
	path, _ := generated(t)
	_, all, _ := run(t, nil, "read", "-o", "json", path)
	code, v6, errs := run(t, nil, "read", "-o", "json", path, "--", "ip6")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	n6 := 0
	for _, m := range jsonLines(t, all) {
		if strings.HasPrefix(m["client"].(string), "[") {
			n6++
		}
	}
	got := jsonLines(t, v6)
	if len(got) != n6 || n6 == 0 {
		t.Errorf("filter ip6: %d verdicts, the unfiltered run has %d IPv6 ones", len(got), n6)
	}
	// As tcpdump -r FILE EXPRESSION: the filter may follow the files without --.
	code, bare, errs := run(t, nil, "read", "-o", "json", path, "ip6")
	if code != ExitOK || bare != v6 {
		t.Errorf("filter ip6 without --: exit %d (stderr %q), output equal to the one with --: %v", code, errs, bare == v6)
	}
	code, flag, errs := run(t, nil, "read", "-o", "json", "--filter", "ip6", path)
	if code != ExitOK || flag != v6 {
		t.Errorf("--filter ip6: exit %d (stderr %q), output equal to the one with --: %v", code, errs, flag == v6)
	}
}

func TestReadDamage(t *testing.T) {
	path, _ := generated(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)*2/3+7], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, nil, "read", "-o", "json", "--json-summary", cut)
	if code != ExitFailure {
		t.Errorf("exit %d for a truncated capture, want %d", code, ExitFailure)
	}
	if !strings.Contains(errs, "damaged after frame") {
		t.Errorf("stderr %q does not say where the damage is", errs)
	}
	lines := jsonLines(t, out)
	if len(lines) < 10 {
		t.Errorf("only %d lines printed before the damage", len(lines))
	}
	last := lines[len(lines)-1]
	if _, ok := last["summary"]; !ok {
		t.Errorf("no summary line after the damage: %v", last)
	}
}

func TestReadErrors(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notCapture, []byte("GET / HTTP/1.1\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"not a capture", []string{"read", notCapture}, ExitFailure, "notes.txt"},
		{"missing file", []string{"read", "/nonexistent/x.pcap"}, ExitFailure, "no such file"},
		{"no file", []string{"read"}, ExitUsage, "no capture file given"},
		{"bad format", []string{"read", "-o", "xml", notCapture}, ExitUsage, "xml"},
		{"bad flag", []string{"read", "--bogus", notCapture}, ExitUsage, "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.stderr)
			}
			if out != "" {
				t.Errorf("nothing could be read, yet a report was printed:\n%s", out)
			}
			if strings.Contains(errs, "panic") || strings.Count(strings.TrimSpace(errs), "\n") > 3 {
				t.Errorf("stderr is not a short error: %q", errs)
			}
		})
	}
}
