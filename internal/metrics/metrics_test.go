package metrics

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/pipeline"
	"github.com/rstscope/rstscope/rstanalysis"
)

// scrape returns the text exposition of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	return rec.Body.String()
}

// samples maps each series of a text exposition, `name{labels}` as
// written, to its value.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if sp < 0 || err != nil {
			t.Fatalf("not a sample: %q", line)
		}
		out[line[:sp]] = v
	}
	return out
}

func verdict(frame, event uint64, origin rstanalysis.Origin, cause rstanalysis.Cause, port uint16, vantage string,
	rules ...rstanalysis.RuleID) *rstanalysis.Verdict {
	v := &rstanalysis.Verdict{Frame: frame, Event: event, Origin: origin, Cause: cause, Phase: rstanalysis.PhaseRequest,
		Server: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port), Vantage: vantage,
		Time: time.Now().Add(-2 * time.Second)}
	for _, r := range rules {
		v.Findings = append(v.Findings, rstanalysis.Finding{Rule: r})
	}
	return v
}

func TestVerdictCounts(t *testing.T) {
	m := New(Config{Ports: 2})
	m.Verdict(verdict(5, 5, rstanalysis.OriginServer, rstanalysis.CauseServerAbort, 80, "server host",
		rstanalysis.RuleKernelState, rstanalysis.RuleTTLMatch))
	m.Verdict(verdict(6, 5, rstanalysis.OriginServer, rstanalysis.CauseServerAbort, 80, "server host",
		rstanalysis.RuleTTLMatch)) // the same event's second RST
	m.Verdict(verdict(9, 9, rstanalysis.OriginMiddlebox, rstanalysis.CauseInjected, 443,
		"on the path (client 3 hops, server 9 hops)", rstanalysis.RuleTTLMismatch))
	m.Verdict(verdict(12, 12, rstanalysis.OriginServer, rstanalysis.CauseRefused, 5432, "server host"))
	m.Verdict(verdict(13, 13, rstanalysis.OriginServer, rstanalysis.CauseRefused, 6379, "server host"))
	got := samples(t, scrape(t, m))
	want := map[string]float64{
		`rstscope_rsts_total{cause="server_abort",origin="server",phase="request",port="80",vantage="server_host"}`:         2,
		`rstscope_reset_events_total{cause="server_abort",origin="server",phase="request",port="80",vantage="server_host"}`: 1,
		`rstscope_rsts_total{cause="injected",origin="middlebox",phase="request",port="443",vantage="path"}`:                1,
		// Two ports have labels of their own; the rest are "other".
		`rstscope_rsts_total{cause="refused",origin="server",phase="request",port="other",vantage="server_host"}`: 2,
		`rstscope_findings_total{rule="ttl.match"}`:                                                               2,
		`rstscope_findings_total{rule="kernel.state"}`:                                                            1,
		`rstscope_findings_total{rule="ttl.mismatch"}`:                                                            1,
		`rstscope_verdict_delay_seconds_count`:                                                                    5,
		`rstscope_verdict_delay_seconds_bucket{le="1"}`:                                                           0,
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v", series, got[series], v)
		}
	}
	for series := range got {
		if strings.Contains(series, `port="5432"`) || strings.Contains(series, `port="6379"`) {
			t.Errorf("a port past the limit has its own series: %s", series)
		}
	}
}

func TestCountersAndKernel(t *testing.T) {
	m := New(Config{})
	m.Counters(pipeline.Counters{Frames: 100, TCP: 90, Dropped: 3, Open: 7, Evicted: 2, Expired: 4, Pending: 1})
	m.Kernel(nil)
	got := samples(t, scrape(t, m))
	for series, v := range map[string]float64{
		"rstscope_frames_total": 100, "rstscope_tcp_packets_total": 90, "rstscope_dropped_frames_total": 3,
		"rstscope_open_connections": 7, "rstscope_evicted_connections_total": 2, "rstscope_expired_connections_total": 4,
		"rstscope_pending_verdicts": 1, "rstscope_kernel_reasons_enabled": 0,
	} {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
		}
	}
	if _, ok := got["process_resident_memory_bytes"]; !ok {
		t.Error("no process metrics")
	}
}

func TestVantage(t *testing.T) {
	for text, want := range map[string]string{
		"client host": "client_host", "server host": "server_host", "same host or link as both ends": "both_ends",
		"on the path (client 1 hops, server 2 hops)": "path", "3 hops from the server": "path", "unknown": "unknown", "": "unknown",
	} {
		if got := Vantage(text); got != want {
			t.Errorf("Vantage(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestPromtool: promtool, Prometheus's own linter, finds nothing to say
// about the exposition (names, units, help texts).
func TestPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("needs promtool (Debian package prometheus), and CI is set")
		}
		t.Skip("needs promtool (Debian package prometheus)")
	}
	m := New(Config{})
	m.Verdict(verdict(5, 5, rstanalysis.OriginServer, rstanalysis.CauseServerAbort, 80, "server host", rstanalysis.RuleTTLMatch))
	m.Kernel(nil)
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, m))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestServe(t *testing.T) {
	m := New(Config{})
	s, err := Serve("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "rstscope_tcp_packets_total 0") {
		t.Errorf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	// The address is taken: a second server says so, naming the flag.
	if _, err := Serve(s.Addr().String(), m); err == nil || !strings.Contains(err.Error(), "--metrics") {
		t.Errorf("second Serve on %s: %v, want an error naming --metrics", s.Addr(), err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/metrics"); err == nil {
		t.Error("still serving after Close")
	}
}
