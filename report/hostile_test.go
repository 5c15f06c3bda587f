package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rstscope/rstscope/rstanalysis"
)

// hostile is text a sender controls (an HTTP path, a Host header, a file
// name) made to attack whoever looks at the report: ESC[2J clears the
// screen, OSC 52 ended by BEL sets the clipboard, NUL and CR hide what
// precedes them, \xff\xfe is invalid UTF-8, U+202E reverses the text that
// follows, U+009B is the one-character CSI.
const hostile = "GET /\x1b[2J\x1b]52;c;aGVsbG8=\x07\x00a\rb\xff\xfe\u202eevil\u009b31m HTTP/1.1"

// hostileClean is hostile as clean renders it.
const hostileClean = `GET /\x1b[2J\x1b]52;c;aGVsbG8=\x07\x00a\x0db\xff\xfe\u202eevil\x9b31m HTTP/1.1`

// hostileJSON is hostile as encoding/json keeps it: each invalid byte
// replaced by U+FFFD, everything else as it was (escaped in the JSON text).
const hostileJSON = "GET /\x1b[2J\x1b]52;c;aGVsbG8=\x07\x00a\rb\uFFFD\uFFFD\u202eevil\u009b31m HTTP/1.1"

func hostileVerdicts() []rstanalysis.Verdict {
	vs := fixture()[:2]
	for i := range vs {
		v := &vs[i]
		v.File, v.Request, v.Response, v.Relation, v.Vantage = hostile, hostile, hostile, hostile, hostile
		v.Findings = append(v.Findings[:1:1], rstanalysis.Finding{Rule: "seq.syn_answer", Text: "request " + hostile})
	}
	return vs
}

// TestHostileText: text from the wire cannot drive a terminal or break a
// strict UTF-8 reader in any format. The text formats (table, markdown,
// CSV) show every control character and invalid byte as a \x escape and
// every invisible or bidirectional format character as \u (clean); JSON
// escapes control characters by its own rules and replaces invalid UTF-8
// with U+FFFD, keeping the rest of the text as it was.
func TestHostileText(t *testing.T) {
	sum := fixtureSummary
	sum.Inputs = []string{hostile}
	sum.Warnings = []string{hostile}
	for _, name := range Formats() {
		f, err := ParseFormat(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []bool{false, true} {
			opts := Options{Verbose: true, Width: 1000, Summary: true, Stream: stream}
			out := render(t, f, opts, hostileVerdicts(), sum)
			if !utf8.Valid(out) {
				t.Errorf("%s (stream %v): invalid UTF-8", name, stream)
			}
			for i, c := range out {
				if c < 0x20 && c != '\n' || c == 0x7f {
					t.Errorf("%s (stream %v): control byte %#x at %d: %q", name, stream, c, i, around(out, i))
					break
				}
			}
			if f == FormatJSON {
				checkJSONText(t, out)
				continue
			}
			for i, r := range string(out) {
				if r != '\n' && !unicode.IsPrint(r) && r != utf8.RuneError || r >= 0x80 && r < 0xa0 {
					t.Errorf("%s (stream %v): %U at %d: %q", name, stream, r, i, around(out, i))
					break
				}
			}
			if !bytes.Contains(out, []byte(`\x1b[2J`)) {
				t.Errorf("%s (stream %v): the escape is not shown", name, stream)
			}
			if f == FormatCSV {
				checkCSVText(t, out)
			}
		}
	}
}

func around(b []byte, i int) []byte { return b[max(i-20, 0):min(i+20, len(b))] }

// checkCSVText: every field that holds wire text holds it cleaned.
func checkCSVText(t *testing.T, out []byte) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("CSV: %d records, %v", len(recs), err)
	}
	for i, col := range recs[0] {
		switch col {
		case "file", "request", "response", "relation", "vantage":
			if got := recs[1][i]; got != hostileClean {
				t.Errorf("CSV %s = %q, want %q", col, got, hostileClean)
			}
		case "evidence":
			if got := recs[1][i]; !strings.HasSuffix(got, csvEvidenceSep+"request "+hostileClean) {
				t.Errorf("CSV evidence = %q, want it to end with the cleaned text", got)
			}
		}
	}
}

// checkJSONText: every line is JSON, and the wire text decodes to itself
// with invalid bytes replaced.
func checkJSONText(t *testing.T, out []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("JSON: %d lines, want 2 verdicts and the summary", len(lines))
	}
	for _, l := range lines[:2] {
		var v struct {
			File, Request, Response, Relation, Vantage string
			Evidence                                   []string
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("JSON line %q: %v", l, err)
		}
		for _, got := range []string{v.File, v.Request, v.Response, v.Relation, v.Vantage} {
			if got != hostileJSON {
				t.Errorf("JSON text %q, want %q", got, hostileJSON)
			}
		}
		if n := len(v.Evidence); n == 0 || v.Evidence[n-1] != "request "+hostileJSON {
			t.Errorf("JSON evidence %q", v.Evidence)
		}
	}
	var s struct {
		Summary struct{ Inputs, Warnings []string }
	}
	if err := json.Unmarshal([]byte(lines[2]), &s); err != nil || len(s.Summary.Inputs) != 1 || s.Summary.Inputs[0] != hostileJSON {
		t.Errorf("JSON summary %q: %v", lines[2], err)
	}
}
