package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestReadTogether reads the client's and the server's capture of the
// lab's inject-rst scenario together through the CLI: every record has
// its true origin (testdata/lab/*.truth.tsv), an event holds one origin
// and spans the files, the injected RSTs are proven, and the output is the
// same for any number of workers; with the vantage points given, every
// verdict is proven.
func TestReadTogether(t *testing.T) {
	const cl, sv = "../../testdata/lab/inject-rst.client.pcap", "../../testdata/lab/inject-rst.server.pcap"
	args := []string{"read", "-o", "json", "--json-summary", cl, sv}
	code, out, errs := run(t, nil, append([]string{"-j", "1"}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	truth := map[string]map[string]string{cl: labTruth(t, cl), sv: labTruth(t, sv)}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	evOrigin := map[float64]string{}
	events := map[float64]map[string]bool{}
	for _, l := range lines[:len(lines)-1] {
		var v struct {
			File, Origin, Cause string
			Frame, Event        float64
			Confidence          float64
			Sightings           []struct {
				File  string
				Frame float64
			}
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		frame := jsonNum(v.Frame)
		if want := truth[v.File][frame]; v.Origin != want {
			t.Errorf("%s frame %s: origin %s, truth %s", v.File, frame, v.Origin, want)
		}
		if v.Origin == "middlebox" && v.Confidence < 0.95 {
			t.Errorf("%s frame %s: middlebox at %.2f, want proven", v.File, frame, v.Confidence)
		}
		if o, ok := evOrigin[v.Event]; ok && o != v.Origin {
			t.Errorf("event %v has origins %s and %s", v.Event, o, v.Origin)
		}
		evOrigin[v.Event] = v.Origin
		if events[v.Event] == nil {
			events[v.Event] = map[string]bool{}
		}
		events[v.Event][v.File] = true
		if len(v.Sightings) == 0 {
			t.Errorf("%s frame %s: no sightings", v.File, frame)
		}
	}
	if len(events) != 3 || !events[3][cl] || !events[3][sv] {
		t.Errorf("events %v: want 3, the client kernel's (3) seen in both files", events)
	}
	if !strings.Contains(lines[len(lines)-1], `"joint":{"connections":1,"inputs":[{"input":"`+cl+`","role":"client"`) {
		t.Errorf("summary without the joint object: %s", lines[len(lines)-1])
	}
	if code, out3, errs := run(t, nil, append([]string{"-j", "3"}, args...)...); code != ExitOK || stripElapsed(out3) != stripElapsed(out) {
		t.Errorf("-j 3: exit %d (%s), output differs from -j 1", code, errs)
	}
	// Said where they were taken, the captures prove what the hops only
	// suggested: the same verdicts, and every one now proven.
	code, given, errs := run(t, nil, append([]string{"--vantage", cl + "=client", "--vantage", sv + "=server"}, args...)...)
	if code != ExitOK {
		t.Fatalf("--vantage: exit %d: %s", code, errs)
	}
	inferred, told := jsonLines(t, out), jsonLines(t, given)
	if len(told) != len(inferred) {
		t.Fatalf("--vantage: %d lines, %d without", len(told), len(inferred))
	}
	for i, l := range told[:len(told)-1] {
		w := inferred[i]
		if l["frame"] != w["frame"] || l["origin"] != w["origin"] || l["cause"] != w["cause"] || l["event"] != w["event"] {
			t.Errorf("--vantage line %d: %v %v %v %v, without: %v %v %v %v", i, l["frame"], l["origin"], l["cause"], l["event"],
				w["frame"], w["origin"], w["cause"], w["event"])
		}
		if l["confidence"] != 0.99 {
			t.Errorf("--vantage line %d (frame %v, %v): confidence %v, want 0.99 (a proof)", i, l["frame"], l["origin"], l["confidence"])
		}
	}
}

// TestReadVantageUsage: a bad --vantage is a usage error.
func TestReadVantageUsage(t *testing.T) {
	const cl, sv = "../../testdata/lab/inject-rst.client.pcap", "../../testdata/lab/inject-rst.server.pcap"
	for _, bad := range []string{"nowhere", cl + "=moon", "other.pcap=client"} {
		if code, _, errs := run(t, nil, "read", "--vantage", bad, cl, sv); code != ExitUsage || !strings.Contains(errs, "--vantage") {
			t.Errorf("--vantage %s: exit %d, %q; want %d and a message", bad, code, errs, ExitUsage)
		}
	}
}

func labTruth(t *testing.T, capPath string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(capPath, ".pcap") + ".truth.tsv")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		c := strings.Split(l, "\t")
		m[c[0]] = c[2]
	}
	return m
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func stripElapsed(s string) string {
	if i := strings.Index(s, `"elapsed_s":`); i >= 0 {
		j := strings.IndexByte(s[i:], ',')
		return s[:i] + s[i+j:]
	}
	return s
}
