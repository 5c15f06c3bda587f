package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// verdictKeys is the JSON contract (docs/json.md): every key of a verdict
// line, in order, with its JSON type. rtt_ms is a number or, when the RTT
// is unknown, null.
var verdictKeys = []struct{ key, typ string }{
	{"file", "string"}, {"frame", "number"}, {"ts", "string"}, {"client", "string"}, {"server", "string"},
	{"from", "string"}, {"origin", "string"}, {"confidence", "number"}, {"phase", "string"},
	{"cause", "string"}, {"evidence", "array"}, {"findings", "array"},
	{"flags", "string"}, {"ttl", "number"}, {"seq", "number"}, {"ack", "number"}, {"rtt_ms", "number"},
	{"midstream", "bool"}, {"request", "string"}, {"response", "string"}, {"event", "number"},
	{"relation", "string"}, {"vantage", "string"}, {"conn_state", "string"}, {"history", "string"},
	{"filter", "string"},
}

// summaryKeys is every key of the summary line, in order.
var summaryKeys = []string{"inputs", "frames", "tcp_packets", "connections", "max_open", "evicted", "rsts",
	"verdicts", "events", "follow_ups", "reset_connections", "dropped", "by_origin", "by_cause", "warnings",
	"elapsed_s", "first_ts", "last_ts", "filter"}

// objectKeys returns the keys of the JSON object line in the order they
// appear, and the object decoded.
func objectKeys(t *testing.T, line string) ([]string, map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys, m
}

// checkVerdictKeys checks that line has exactly the contract's keys, in
// order, with their types.
func checkVerdictKeys(t *testing.T, line string) map[string]any {
	t.Helper()
	keys, m := objectKeys(t, line)
	want := make([]string, len(verdictKeys))
	for i, k := range verdictKeys {
		want[i] = k.key
	}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v\nwant   %v", keys, want)
	}
	for _, k := range verdictKeys {
		got, ok := m[k.key]
		if !ok {
			continue // reported above
		}
		jt := jsonType(got)
		if jt != k.typ && (k.key != "rtt_ms" || jt != "null") {
			t.Errorf("key %q is a %s, want %s", k.key, jt, k.typ)
		}
	}
	return m
}

var tsRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$`)

func TestJSONContract(t *testing.T) {
	vs := fixture()
	// Out-of-range and unrounded confidences must still honour the contract.
	vs = append(vs, vs[0], vs[0], vs[0], vs[0])
	n := len(vs)
	vs[n-4].Confidence = math.NaN()
	vs[n-3].Confidence = 1.5
	vs[n-2].Confidence = -0.2
	vs[n-1].Confidence = 0.876
	wantConf := map[int]float64{n - 4: 0, n - 3: 1, n - 2: 0, n - 1: 0.88}

	out := render(t, FormatJSON, Options{}, vs, Summary{})
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(vs) {
		t.Fatalf("got %d lines, want %d", len(lines), len(vs))
	}
	for i, line := range lines {
		v := &vs[i]
		t.Run(fmt.Sprintf("line%d_frame%d", i+1, v.Frame), func(t *testing.T) {
			m := checkVerdictKeys(t, line)
			if got := m["frame"]; got != float64(v.Frame) {
				t.Errorf("frame = %v, want %d", got, v.Frame)
			}
			ts, _ := m["ts"].(string)
			if !tsRE.MatchString(ts) {
				t.Errorf("ts %q is not RFC 3339 UTC with 9 fraction digits", ts)
			}
			if pt, err := time.Parse(time.RFC3339Nano, ts); err != nil || !pt.Equal(v.Time) {
				t.Errorf("ts %q parses to %v, %v; want %v", ts, pt, err, v.Time)
			}
			for _, k := range []string{"client", "server"} {
				s, _ := m[k].(string)
				want := v.Client
				if k == "server" {
					want = v.Server
				}
				got, err := netip.ParseAddrPort(s)
				if err != nil || got != want {
					t.Errorf("%s %q parses to %v, %v; want %v", k, s, got, err, want)
				}
				if want.Addr().Is6() && !strings.HasPrefix(s, "[") {
					t.Errorf("%s %q: IPv6 address without brackets", k, s)
				}
			}
			c, _ := m["confidence"].(float64)
			if c < 0 || c > 1 || c != math.Round(c*100)/100 {
				t.Errorf("confidence %v not in [0, 1] with 2 decimals", c)
			}
			if want, ok := wantConf[i]; ok && c != want {
				t.Errorf("confidence %v, want %v", c, want)
			}
			var ev []string
			evAny, _ := m["evidence"].([]any)
			for _, e := range evAny {
				ev = append(ev, e.(string))
			}
			if !slices.Equal(ev, texts(v)) {
				t.Errorf("evidence = %q, want the findings' texts %q", ev, texts(v))
			}
			if fs, _ := m["findings"].([]any); len(fs) != len(v.Findings) {
				t.Errorf("findings has %d items, want %d", len(fs), len(v.Findings))
			}
			for k, want := range map[string]string{"file": v.File, "request": v.Request,
				"response": v.Response, "relation": v.Relation} {
				if m[k] != want {
					t.Errorf("%s = %q, want %q", k, m[k], want)
				}
			}
			var wantRTT any // null when unknown
			if v.RTT > 0 {
				wantRTT = float64(v.RTT) / 1e6
			}
			if m["rtt_ms"] != wantRTT {
				t.Errorf("rtt_ms = %v, want %v", m["rtt_ms"], wantRTT)
			}
		})
	}
}

// TestJSONEmptyVerdict checks that a verdict with every optional field
// empty still has every key, with the documented empty values.
func TestJSONEmptyVerdict(t *testing.T) {
	v := rstanalysis.Verdict{Frame: 1, Time: t0, Client: ap("10.0.0.1:40000"), Server: ap("10.0.0.2:80")}
	out := render(t, FormatJSON, Options{}, []rstanalysis.Verdict{v}, Summary{})
	m := checkVerdictKeys(t, strings.TrimSuffix(string(out), "\n"))
	want := map[string]any{
		"file": "", "request": "", "response": "", "relation": "", "rtt_ms": nil, "flags": "",
		"vantage": "unknown", "origin": "unknown", "confidence": 0.0, "event": 0.0, "midstream": false,
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("%s = %#v, want %#v", k, m[k], w)
		}
	}
	for _, k := range []string{"evidence", "findings"} {
		if a, ok := m[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s = %#v, want []", k, m[k])
		}
	}
}

// TestJSONFindings checks the findings array: rule, weight to two decimals
// (0 for a weight JSON cannot carry), text as in evidence, frames always an
// array.
func TestJSONFindings(t *testing.T) {
	v := fixture()[0]
	v.Findings = []rstanalysis.Finding{
		{Rule: "ttl.mismatch", Weight: 1.23456, Text: "ttl: 52 vs server 44", Frames: []uint64{54, 61}},
		{Rule: "ipid.jump", Weight: -0.666, Text: `ip id "jump" <b>`},
		{Rule: "", Weight: math.NaN(), Text: "no rule yet", Frames: []uint64{}},
		{Rule: "timing.too_fast", Weight: math.Inf(1), Text: "fast"},
	}
	out := render(t, FormatJSON, Options{}, []rstanalysis.Verdict{v}, Summary{})
	var got struct {
		Evidence json.RawMessage `json:"evidence"`
		Findings json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := `[{"rule":"ttl.mismatch","weight":1.23,"text":"ttl: 52 vs server 44","frames":[54,61]},` +
		`{"rule":"ipid.jump","weight":-0.67,"text":"ip id \"jump\" <b>","frames":[]},` +
		`{"rule":"","weight":0,"text":"no rule yet","frames":[]},` +
		`{"rule":"timing.too_fast","weight":0,"text":"fast","frames":[]}]`
	if string(got.Findings) != want {
		t.Errorf("findings =\n%s\nwant\n%s", got.Findings, want)
	}
	wantEv := `["ttl: 52 vs server 44","ip id \"jump\" <b>","no rule yet","fast"]`
	if string(got.Evidence) != wantEv {
		t.Errorf("evidence = %s, want %s", got.Evidence, wantEv)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// TestJSONSummaryKeys checks that the summary line has every key, in
// order, even for a run with no RST and an empty Summary.
func TestJSONSummaryKeys(t *testing.T) {
	out := render(t, FormatJSON, Options{Summary: true}, nil, Summary{})
	keys, m := objectKeys(t, strings.TrimSuffix(string(out), "\n"))
	if !slices.Equal(keys, []string{"summary"}) {
		t.Fatalf("keys = %v, want [summary]", keys)
	}
	if _, ok := m["summary"].(map[string]any); !ok {
		t.Fatalf("summary = %#v, want an object", m["summary"])
	}
	// The inner object's key order shows only on the raw line.
	raw := bytes.TrimSuffix(bytes.TrimPrefix(bytes.TrimSpace(out), []byte(`{"summary":`)), []byte("}"))
	keys, s := objectKeys(t, string(raw))
	if !slices.Equal(keys, summaryKeys) {
		t.Errorf("summary keys = %v\nwant           %v", keys, summaryKeys)
	}
	for _, k := range []string{"inputs", "warnings"} {
		if a, ok := s[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s = %#v, want []", k, s[k])
		}
	}
	origins, _ := s["by_origin"].(map[string]any)
	for _, o := range []string{"unknown", "server", "client", "middlebox"} {
		if origins[o] != 0.0 {
			t.Errorf("by_origin[%s] = %#v, want 0", o, origins[o])
		}
	}
	if c, ok := s["by_cause"].(map[string]any); !ok || len(c) != 0 {
		t.Errorf("by_cause = %#v, want {}", s["by_cause"])
	}
}

func TestJSONSummaryLine(t *testing.T) {
	vs := fixture()
	out := render(t, FormatJSON, Options{Summary: true}, vs, fixtureSummary)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(vs)+1 {
		t.Fatalf("got %d lines, want %d verdicts and a summary", len(lines), len(vs))
	}
	var last struct {
		Summary struct {
			Verdicts int            `json:"verdicts"`
			RSTs     uint64         `json:"rsts"`
			ByOrigin map[string]int `json:"by_origin"`
			ByCause  map[string]int `json:"by_cause"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	s := last.Summary
	if s.Verdicts != len(vs) || s.RSTs != fixtureSummary.RSTs {
		t.Errorf("verdicts, rsts = %d, %d; want %d, %d", s.Verdicts, s.RSTs, len(vs), fixtureSummary.RSTs)
	}
	wantOrigin := map[string]int{}
	wantCause := map[string]int{}
	for _, v := range vs {
		wantOrigin[v.Origin.String()]++
		wantCause[v.Cause.String()]++
	}
	for o, n := range s.ByOrigin {
		if n != wantOrigin[o] {
			t.Errorf("by_origin[%s] = %d, want %d", o, n, wantOrigin[o])
		}
	}
	for c, n := range wantCause {
		if s.ByCause[c] != n {
			t.Errorf("by_cause[%s] = %d, want %d", c, s.ByCause[c], n)
		}
	}
}
func BenchmarkJSONWrite(b *testing.B) {
	vs := fixture()
	var buf bytes.Buffer
	w := NewWriter(FormatJSON, &buf, Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := w.Write(&vs[i%len(vs)]); err != nil {
			b.Fatal(err)
		}
		if buf.Len() > 1<<20 {
			buf.Reset()
		}
	}
}

// TestJSONDocumented checks that docs/json.md documents every key of both
// lines, in the order they are written, and no other.
func TestJSONDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The key tables' rows start "| `key` |"; the sections are told apart
	// by their headings.
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")
	section := func(from, to string) []string {
		s := string(doc)
		i := strings.Index(s, from)
		j := strings.Index(s[max(i, 0):], to)
		if i < 0 || j < 0 {
			t.Fatalf("docs/json.md has no section %q up to %q", from, to)
		}
		var keys []string
		for _, m := range row.FindAllStringSubmatch(s[i:i+j], -1) {
			keys = append(keys, m[1])
		}
		return keys
	}
	want := make([]string, len(verdictKeys))
	for i, k := range verdictKeys {
		want[i] = k.key
	}
	if got := section("## Verdict line", "### `origin`"); !slices.Equal(got, want) {
		t.Errorf("verdict keys documented: %v\nwritten:                  %v", got, want)
	}
	if got := section("## Summary line", "## Examples"); !slices.Equal(got, summaryKeys) {
		t.Errorf("summary keys documented: %v\nwritten:                  %v", got, summaryKeys)
	}
	if got := section("### Revisions", "## Summary line"); !slices.Equal(got, []string{"revision", "was"}) {
		t.Errorf("revision keys documented: %v", got)
	}
	if got := section("### `findings`", "**Rule ids.**"); !slices.Equal(got, []string{"rule", "weight", "text", "frames"}) {
		t.Errorf("finding keys documented: %v", got)
	}
	// Every origin, phase and cause value has its row.
	vals := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		vals[m[1]] = true
	}
	for o := rstanalysis.OriginUnknown; o <= rstanalysis.OriginMiddlebox; o++ {
		if !vals[o.String()] {
			t.Errorf("origin %q not documented", o)
		}
	}
	for p := rstanalysis.PhaseUnknown; p <= rstanalysis.PhaseMidstream; p++ {
		if !vals[p.String()] {
			t.Errorf("phase %q not documented", p)
		}
	}
	for c := rstanalysis.CauseUnknown; c <= rstanalysis.CauseLateSegment; c++ {
		if !vals[c.String()] {
			t.Errorf("cause %q not documented", c)
		}
	}
}
