package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// corpusDir holds public captures from other projects' test suites
// (../shared/corpus beside the repository); a user's clone has none.
const corpusDir = "../../../shared/corpus"

// checkWidth reads file with the table format at each width, as events and
// as RSTs, and reports every line wider than the width.
func checkWidth(t *testing.T, file string) {
	t.Helper()
	for _, width := range []string{"80", "120"} {
		for _, view := range [][]string{nil, {"--rsts"}, {"-v"}} {
			args := append([]string{"read", "-j", "1", "--width", width}, view...)
			code, out, errs := run(t, nil, append(args, file)...)
			if code != ExitOK && code != ExitFailure {
				t.Fatalf("%s: exit %d: %s", file, code, errs)
			}
			limit := map[string]int{"80": 80, "120": 120}[width]
			for i, line := range strings.Split(out, "\n") {
				if w := twwidth.Width(line); w > limit {
					t.Errorf("%s --width %s %v: line %d is %d columns:\n%s", filepath.Base(file), width, view, i+1, w, line)
				}
			}
		}
	}
}

// TestWidthLab: on every lab capture the table fits 80 and 120 columns,
// every line of it.
func TestWidthLab(t *testing.T) {
	caps, _ := filepath.Glob("../../testdata/lab/*.pcap*")
	if len(caps) == 0 {
		t.Fatal("no lab captures under testdata/lab")
	}
	for _, c := range caps {
		checkWidth(t, c)
	}
}

// TestWidthCorpus: the same on the public captures.
func TestWidthCorpus(t *testing.T) {
	caps, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*.pcap*"))
	if len(caps) == 0 {
		t.Skipf("no corpus at %s (it sits beside the repository in CI)", corpusDir)
	}
	for _, c := range caps {
		checkWidth(t, c)
	}
}

// TestRedditOneEvent: in nDPI's reddit.pcap 71 of the 72 RSTs are the
// client's answers to segments that came after their connection had ended;
// the report counts one reset event, and the 71 apart.
func TestRedditOneEvent(t *testing.T) {
	file := filepath.Join(corpusDir, "ndpi", "reddit.pcap")
	code, out, errs := run(t, nil, "read", "--width", "200", file)
	if code == ExitFailure && strings.Contains(errs, "no such file") {
		t.Skipf("no corpus at %s (it sits beside the repository in CI)", corpusDir)
	}
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"1 reset event on 1 connection; 72 RSTs, of which 71 late-segment replies",
		"71 (client late_segment 71), in no event"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	_, js, _ := run(t, nil, "read", "-o", "json", "--json-summary", file)
	lines := jsonLines(t, js)
	sum, _ := lines[len(lines)-1]["summary"].(map[string]any)
	if sum["events"] != 1.0 || sum["follow_ups"] != 71.0 || sum["verdicts"] != 72.0 {
		t.Errorf("JSON summary events %v, follow_ups %v, verdicts %v; want 1, 71, 72", sum["events"], sum["follow_ups"], sum["verdicts"])
	}
}

// TestMarkdownReport: the markdown report has the capture's span, the
// timeline, a ladder per cause and a Wireshark filter per event.
func TestMarkdownReport(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/lab/*.client.pcap")
	code, out, errs := run(t, nil, append([]string{"read", "-o", "markdown"}, files...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"- **capture**: 2026-11-21 ", "```mermaid\n---\nconfig:", "xychart-beta",
		"### Ladders", "sequenceDiagram", "Wireshark: `ip.addr==", "### What to check next"} {
		if !strings.Contains(out, want) {
			t.Errorf("the markdown report lacks %q", want)
		}
	}
	causes := strings.Count(out[strings.Index(out, "### What to check next"):strings.Index(out, "### Ladders")], "\n- **")
	if ladders := strings.Count(out, "sequenceDiagram"); ladders != causes || causes < 5 {
		t.Errorf("%d ladders for %d causes", ladders, causes)
	}
}

func TestLadderCommand(t *testing.T) {
	file := "../../testdata/lab/inject-gfw.client.pcap"
	code, out, errs := run(t, nil, "ladder", "--width", "80", file, "5")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"injected: frame 5", "middlebox", "RST R seq 1 ttl 61 ✕", "frame.number==5"} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if twwidth.Width(line) > 80 {
			t.Errorf("line %d over 80 columns: %s", i+1, line)
		}
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ladder", file, "4"}, ExitFailure, "frame 4 is not a TCP RST (its RSTs are frames 5, 6, 7, 8, 10, 12)"},
		{[]string{"ladder", file, "x"}, ExitUsage, `bad frame "x"`},
		{[]string{"ladder", file}, ExitUsage, "want a capture file and a frame number"},
		{[]string{"ladder", "-o", "json", file, "5"}, ExitUsage, "a ladder is drawn in table, markdown or html"},
	}
	for _, c := range cases {
		code, _, errs := run(t, nil, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
}

// TestReportFilters: --origin, --cause and --server keep whole events, in
// every format, and the summary says so; a bad value is a usage error.
func TestReportFilters(t *testing.T) {
	files := []string{"../../testdata/lab/inject-gfw.client.pcap", "../../testdata/lab/closed-port.client.pcap"}
	_, js, _ := run(t, nil, append([]string{"read", "-o", "json", "--json-summary", "--origin", "middlebox"}, files...)...)
	lines := jsonLines(t, js)
	for _, l := range lines[:len(lines)-1] {
		if l["event"] != 5.0 {
			t.Errorf("a line of another event than 5 kept: %v", l)
		}
	}
	if sum, _ := lines[len(lines)-1]["summary"].(map[string]any); !strings.HasPrefix(sum["filter"].(string), "only origin middlebox: 1 of 2 reset events, 6 of 7 RSTs") {
		t.Errorf("summary filter = %q", sum["filter"])
	}
	_, out, _ := run(t, nil, append([]string{"read", "--cause", "refused", "--server", "10.77.2.0/24"}, files...)...)
	if !strings.Contains(out, "only cause refused, server 10.77.2.0/24: 1 of 2 reset events") || strings.Contains(out, "injected") {
		t.Errorf("--cause refused: %s", out)
	}
	for _, bad := range [][]string{{"--origin", "router"}, {"--cause", "bad"}, {"--server", "nowhere"}, {"--tz", "Mars/Base"}} {
		code, _, errs := run(t, nil, append(append([]string{"read"}, bad...), files[0])...)
		if code != ExitUsage || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, %q; want a usage error naming %s", bad, code, errs, bad[0])
		}
	}
}
