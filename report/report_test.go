package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/rstscope/rstscope/internal/testenv"
	"github.com/rstscope/rstscope/rstanalysis"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// t0 is just before midnight, so the fixture crosses a UTC date.
var t0 = time.Date(2026, 11, 21, 23, 59, 0, 123456789, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// fixture is a realistic run: a refused connection, a Great-Firewall-style
// burst of four injected RSTs, an IPv6 server abort and keep-alive race, a
// middlebox idle timeout on a connection caught mid-stream, a client abort
// and a lone RST with no evidence.
func fixture() []rstanalysis.Verdict {
	return []rstanalysis.Verdict{
		{
			Frame: 3, Time: at(0), Client: ap("10.0.0.5:51000"), Server: ap("10.0.0.9:8080"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginServer, Confidence: 0.95,
			Phase: rstanalysis.PhaseSYN, Cause: rstanalysis.CauseRefused,
			Evidence: []string{
				"answers the SYN with ack = ISN+1: the normal refusal (RFC 9293 §3.10.7.1)",
				"ttl 64 matches the server's SYN-ACKs seen earlier on this host",
			},
			Flags: "R.", TTL: 64, Seq: 0, Ack: 2717134850, Event: 3, Vantage: "client host",
		},
		{
			Frame: 57, Time: at(1500 * time.Millisecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Evidence: []string{
				"ttl: 52 vs server 44 (8 hops nearer than the server)",
				"ip id: 54321 after the server's 1204 (jump of 53117)",
				"race: the server's ServerHello arrived 41.2ms after this RST",
				"burst: 4 RSTs in 0.3ms at seq X, X+1460, X+4380 (Wang et al., IMC 2017)",
			},
			Flags: "R", TTL: 52, Seq: 3098123001, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Vantage: "client host",
		},
		{
			Frame: 58, Time: at(1500*time.Millisecond + 90*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Evidence: []string{"ttl: 52 vs server 44 (8 hops nearer than the server)"},
			Flags:    "R.", TTL: 52, Seq: 3098123001, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "same seq as #57, now with ACK",
			Vantage: "client host",
		},
		{
			Frame: 59, Time: at(1500*time.Millisecond + 180*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Evidence: []string{"ttl: 52 vs server 44 (8 hops nearer than the server)"},
			Flags:    "R.", TTL: 52, Seq: 3098124461, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "seq #57+1460",
			Vantage: "client host",
		},
		{
			Frame: 60, Time: at(1500*time.Millisecond + 301*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Evidence: []string{"ttl: 52 vs server 44 (8 hops nearer than the server)"},
			Flags:    "R.", TTL: 52, Seq: 3098127381, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "seq #57+4380",
			Vantage: "client host",
		},
		{
			Frame: 311, Time: at(12*time.Second + 4567*time.Microsecond), Client: ap("[2001:db8:1::10]:40112"), Server: ap("[2001:db8:2::443]:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginServer, Confidence: 0.8,
			Phase: rstanalysis.PhaseResponse, Cause: rstanalysis.CauseServerAbort,
			Evidence: []string{
				"seq = the server's next sequence number: its own stack aborted",
				"hop limit 57 matches the server's packets (7 hops)",
				"the server had sent 14600 of 52000 announced bytes",
			},
			Flags: "R.", TTL: 57, Seq: 401224, Ack: 88121, RTT: 23100 * time.Microsecond,
			Request: "GET api.example.com/v1/items?page=2", Response: "HTTP 200, Content-Length 52000",
			Event: 311, Vantage: "client host",
		},
		{
			Frame: 802, Time: at(40*time.Second + 250*time.Millisecond), Client: ap("10.0.0.5:49152"), Server: ap("10.20.0.7:5432"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.6,
			Phase: rstanalysis.PhaseMidstream, Cause: rstanalysis.CauseIdleTimeout, Midstream: true,
			Evidence: []string{
				"answers the first segment after 412s idle within 0.2ms, faster than any reply from the server",
				"ttl: 63 vs server 61 (2 hops nearer than the server)",
			},
			Flags: "R", TTL: 63, Seq: 1190000, Event: 802, Vantage: "between client and server",
		},
		{
			Frame: 1200, Time: at(55 * time.Second), Client: ap("10.0.0.5:51514"), Server: ap("10.0.0.9:8080"),
			From: rstanalysis.Client, Origin: rstanalysis.OriginClient, Confidence: 0.85,
			Phase: rstanalysis.PhaseResponse, Cause: rstanalysis.CauseClientAbort,
			Evidence: []string{
				"ttl 64, 0 hops: sent by the capturing host itself",
				"seq = the client's next sequence number",
			},
			Flags: "R.", TTL: 64, Seq: 5500, Ack: 913000, RTT: 150 * time.Microsecond,
			Request: "POST 10.0.0.9:8080/upload", Response: "HTTP 100 Continue",
			Event: 1200, Vantage: "client host",
		},
		{
			Frame: 1301, Time: at(59*time.Second + 999999*time.Microsecond), Client: ap("198.51.100.7:33000"), Server: ap("10.0.0.9:22"),
			From: rstanalysis.Client, Origin: rstanalysis.OriginUnknown, Confidence: 0.1,
			Phase: rstanalysis.PhaseUnknown, Cause: rstanalysis.CauseUnknown, Midstream: true,
			Flags: "R", TTL: 241, Seq: 77, Event: 1301,
		},
		{
			Frame: 1502, Time: at(61*time.Second + 7*time.Millisecond), Client: ap("[2001:db8:1::10]:40200"), Server: ap("[2001:db8:2::443]:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginServer, Confidence: 0.75,
			Phase: rstanalysis.PhaseClosing, Cause: rstanalysis.CauseKeepaliveReuse,
			Evidence: []string{
				"the server's FIN came 4.9s before this request: keep-alive reuse race",
				"seq = the ack of the client's request: no socket left on the server",
			},
			Flags: "R", TTL: 57, Seq: 99817, RTT: 22900 * time.Microsecond,
			Request: "GET api.example.com/v1/health", Event: 1502, Vantage: "client host",
		},
	}
}

var fixtureSummary = Summary{
	Inputs: []string{"incident-4411.pcapng"}, Frames: 1630, TCPPackets: 1544, Connections: 212, MaxOpen: 57,
	Evicted: 3, RSTs: 10, Elapsed: 412 * time.Millisecond,
	Warnings: []string{"incident-4411.pcapng: damaged after frame 1630: unexpected EOF"},
}

// twoFiles is the fixture split over two inputs, as a run over several
// captures sees it.
func twoFiles() []rstanalysis.Verdict {
	vs := fixture()[:4]
	for i := range vs {
		vs[i].File = "a.pcap"
		if i >= 1 {
			vs[i].File = "b.pcap"
		}
	}
	return vs
}

func render(t testing.TB, f Format, opts Options, vs []rstanalysis.Verdict, s Summary) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(f, &buf, opts)
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatalf("Write(frame %d): %v", vs[i].Frame, err)
		}
	}
	if err := w.Close(s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		f    Format
		opts Options
		vs   []rstanalysis.Verdict
		s    Summary
	}{
		{"table", FormatTable, Options{}, fixture(), fixtureSummary},
		{"table_verbose", FormatTable, Options{Verbose: true}, fixture(), fixtureSummary},
		{"table_stream", FormatTable, Options{Stream: true}, fixture(), fixtureSummary},
		{"table_files", FormatTable, Options{TopServers: 2}, twoFiles(),
			Summary{Inputs: []string{"a.pcap", "b.pcap"}, Frames: 90, TCPPackets: 88, Connections: 3, RSTs: 4, Elapsed: 20 * time.Millisecond}},
		{"table_empty", FormatTable, Options{}, nil, Summary{Inputs: []string{"quiet.pcap"}, Frames: 10, TCPPackets: 8, Connections: 1}},
		{"markdown", FormatMarkdown, Options{}, fixture(), fixtureSummary},
		{"markdown_stream", FormatMarkdown, Options{Stream: true}, twoFiles(), Summary{Inputs: []string{"a.pcap", "b.pcap"}, RSTs: 4}},
		{"csv", FormatCSV, Options{}, fixture(), fixtureSummary},
		{"csv_empty", FormatCSV, Options{}, nil, Summary{}},
		{"json", FormatJSON, Options{}, fixture(), fixtureSummary},
		{"json_summary", FormatJSON, Options{Summary: true}, twoFiles(),
			Summary{Inputs: []string{"a.pcap", "b.pcap"}, Frames: 90, TCPPackets: 88, Connections: 3, MaxOpen: 2, RSTs: 4, Elapsed: 20 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.f, tc.opts, tc.vs, tc.s)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (-want +got):\n%s", path, testenv.LineDiff(string(want), string(got)))
			}
		})
	}
}

func TestTableFitsWidth(t *testing.T) {
	for _, width := range []int{0, 200} {
		t.Run(fmt.Sprintf("width=%d", width), func(t *testing.T) {
			out := render(t, FormatTable, Options{Width: width}, fixture(), fixtureSummary)
			limit := width
			if limit == 0 {
				limit = defaultWidth
			}
			for i, line := range strings.Split(string(out), "\n") {
				if w := twwidth.Width(line); w > limit {
					t.Errorf("line %d is %d columns, want at most %d:\n%s", i+1, w, limit, line)
				}
			}
		})
	}
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
	required := map[string]string{ // key → JSON type
		"frame": "number", "ts": "string", "client": "string", "server": "string", "from": "string",
		"origin": "string", "confidence": "number", "phase": "string", "cause": "string", "evidence": "array",
		"flags": "string", "ttl": "number", "seq": "number", "ack": "number", "midstream": "bool",
		"event": "number", "vantage": "string",
	}
	for i, line := range lines {
		v := &vs[i]
		t.Run(fmt.Sprintf("line%d_frame%d", i+1, v.Frame), func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, line)
			}
			for k, typ := range required {
				got, ok := m[k]
				if !ok {
					t.Errorf("key %q missing", k)
					continue
				}
				if jt := jsonType(got); jt != typ {
					t.Errorf("key %q is a %s, want %s", k, jt, typ)
				}
			}
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
			ev, _ := m["evidence"].([]any)
			if len(ev) != len(v.Evidence) {
				t.Errorf("evidence has %d items, want %d", len(ev), len(v.Evidence))
			}
			for k, present := range map[string]bool{
				"file": v.File != "", "rtt_ms": v.RTT > 0, "request": v.Request != "",
				"response": v.Response != "", "relation": v.Relation != "",
			} {
				if _, ok := m[k]; ok != present {
					t.Errorf("key %q present = %v, want %v", k, ok, present)
				}
			}
			if v.RTT > 0 && m["rtt_ms"] != float64(v.RTT)/1e6 {
				t.Errorf("rtt_ms = %v, want %v", m["rtt_ms"], float64(v.RTT)/1e6)
			}
		})
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
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
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

func TestCSVRoundTrip(t *testing.T) {
	vs := fixture()
	out := render(t, FormatCSV, Options{}, vs, fixtureSummary)
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if len(recs) != len(vs)+1 {
		t.Fatalf("got %d records, want a header and %d rows", len(recs), len(vs))
	}
	if got := strings.Join(recs[0], ","); got != strings.Join(csvHeader, ",") {
		t.Errorf("header = %s", got)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for i, v := range vs {
		r := recs[i+1]
		t.Run(fmt.Sprintf("frame%d", v.Frame), func(t *testing.T) {
			checks := map[string]string{
				"frame": strconv.FormatUint(v.Frame, 10), "ts": timestamp(v.Time),
				"client": v.Client.String(), "server": v.Server.String(), "origin": v.Origin.String(),
				"cause": v.Cause.String(), "phase": v.Phase.String(), "request": v.Request,
				"midstream": strconv.FormatBool(v.Midstream),
			}
			for k, want := range checks {
				if got := r[col[k]]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var ev []string
			if s := r[col["evidence"]]; s != "" {
				ev = strings.Split(s, csvEvidenceSep)
			}
			if strings.Join(ev, "\n") != strings.Join(v.Evidence, "\n") || len(ev) != len(v.Evidence) {
				t.Errorf("evidence = %q, want %q", ev, v.Evidence)
			}
		})
	}
}

func TestTally(t *testing.T) {
	vs := fixture()
	tl := newTally()
	for i := range vs {
		tl.add(&vs[i])
	}
	if tl.total != len(vs) {
		t.Fatalf("total = %d, want %d", tl.total, len(vs))
	}
	sum := 0
	for _, n := range tl.byOrigin {
		sum += n
	}
	if sum != len(vs) {
		t.Errorf("origins add up to %d, want %d", sum, len(vs))
	}
	rowSum, share := 0, 0.0
	for _, r := range tl.causeRows() {
		rowSum += r.rsts
		share += r.share
	}
	if rowSum != len(vs) || math.Abs(share-1) > 1e-9 {
		t.Errorf("origin × cause rows add up to %d RSTs and share %v, want %d and 1", rowSum, share, len(vs))
	}
	srvSum := 0
	for _, r := range tl.serverRows() {
		srvSum += r.rsts
	}
	if srvSum != len(vs) {
		t.Errorf("server rows add up to %d, want %d", srvSum, len(vs))
	}

	// Counted by hand from the fixture.
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"connections", len(tl.conns), 7},
		{"servers", len(tl.servers), 5},
		{"middlebox RSTs", tl.byOrigin[rstanalysis.OriginMiddlebox], 5},
		{"server RSTs", tl.byOrigin[rstanalysis.OriginServer], 3},
		{"first cause row", fmt.Sprint(tl.causeRows()[0]), fmt.Sprint(causeRow{rstanalysis.OriginServer, rstanalysis.CauseKeepaliveReuse, 1, 0.1, 1, 1})},
		{"top server", endpoint(tl.serverRows()[0].server), "93.184.216.34:443"},
		{"top server connections", tl.serverRows()[0].conns, 1},
		{"IPv6 server", serverSummary(tl, "[2001:db8:2::443]:443"), "2 RSTs; server 2; keepalive_reuse 1, server_abort 1"},
		{"IPv4 server", serverSummary(tl, "10.0.0.9:8080"), "2 RSTs; client 1, server 1; client_abort 1, refused 1"},
		{"vantage", tl.vantageNote(), "client host (5 connections), between client and server (1 connection), unknown (1 connection)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func serverSummary(tl *tally, server string) string {
	for _, r := range tl.serverRows() {
		if endpoint(r.server) == server {
			return fmt.Sprintf("%d RSTs; %s; %s", r.rsts, r.origins, r.causes)
		}
	}
	return "no row for " + server
}

func TestParseFormat(t *testing.T) {
	cases := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"table", FormatTable, false},
		{"Markdown", FormatMarkdown, false},
		{"md", FormatMarkdown, false},
		{"csv", FormatCSV, false},
		{"json", FormatJSON, false},
		{" jsonl ", FormatJSON, false},
		{"", 0, true},
		{"xml", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if tc.wantErr {
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Name != tc.in {
					t.Fatalf("err = %v, want a *FormatError for %q", err, tc.in)
				}
				for _, name := range Formats() {
					if !strings.Contains(err.Error(), name) {
						t.Errorf("error %q does not list %q", err, name)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if back, err := ParseFormat(got.String()); err != nil || back != got {
				t.Errorf("String() %q does not parse back", got)
			}
		})
	}
}

// TestStreamWritesAtOnce checks that in stream mode each verdict reaches
// the output during Write, and that the buffered table writes nothing
// before Close.
func TestStreamWritesAtOnce(t *testing.T) {
	cases := []struct {
		name      string
		f         Format
		stream    bool
		wantEarly bool
		contains  string
	}{
		{"table stream", FormatTable, true, true, "10.0.0.5:51000 → 10.0.0.9:8080"},
		{"markdown stream", FormatMarkdown, true, true, "| 3 |"},
		{"csv stream", FormatCSV, true, true, "10.0.0.9:8080"},
		{"json stream", FormatJSON, true, true, `"frame":3`},
		{"table buffered", FormatTable, false, false, ""},
		{"markdown buffered", FormatMarkdown, false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(tc.f, &buf, Options{Stream: tc.stream})
			v := fixture()[0]
			if err := w.Write(&v); err != nil {
				t.Fatal(err)
			}
			if got := buf.Len() > 0; got != tc.wantEarly {
				t.Fatalf("output after one Write: %d bytes, want some = %v", buf.Len(), tc.wantEarly)
			}
			if !strings.Contains(buf.String(), tc.contains) {
				t.Errorf("output %q lacks %q", buf.String(), tc.contains)
			}
			if err := w.Close(Summary{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errDiskFull
}

func TestWriterErrors(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatCSV, FormatJSON} {
		t.Run(f.String()+"/write error", func(t *testing.T) {
			fw := &failWriter{}
			w := NewWriter(f, fw, Options{Stream: true})
			v := fixture()[0]
			if err := w.Write(&v); !errors.Is(err, errDiskFull) {
				t.Fatalf("Write = %v, want %v", err, errDiskFull)
			}
			if err := w.Write(&v); !errors.Is(err, errDiskFull) {
				t.Errorf("second Write = %v, want the same error", err)
			}
			if err := w.Close(Summary{}); !errors.Is(err, errDiskFull) {
				t.Errorf("Close = %v, want %v", err, errDiskFull)
			}
			if fw.n != 1 {
				t.Errorf("underlying Write called %d times after failing, want 1", fw.n)
			}
		})
		t.Run(f.String()+"/after close", func(t *testing.T) {
			w := NewWriter(f, &bytes.Buffer{}, Options{})
			if err := w.Close(Summary{}); err != nil {
				t.Fatal(err)
			}
			v := fixture()[0]
			if err := w.Write(&v); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Close = %v, want ErrClosed", err)
			}
			if err := w.Close(Summary{}); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close = %v, want ErrClosed", err)
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		w := NewWriter(Format(42), &bytes.Buffer{}, Options{})
		var fe *FormatError
		if err := w.Close(Summary{}); !errors.As(err, &fe) {
			t.Errorf("Close = %v, want a *FormatError", err)
		}
	})
}

// TestWriteKeepsNoAlias checks that a buffering writer copies the verdict:
// the pipeline may reuse its Verdict for the next RST.
func TestWriteKeepsNoAlias(t *testing.T) {
	var want, got bytes.Buffer
	vs := fixture()
	ww := NewWriter(FormatTable, &want, Options{Verbose: true})
	gw := NewWriter(FormatTable, &got, Options{Verbose: true})
	var reused rstanalysis.Verdict
	for i := range vs {
		if err := ww.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
		reused = vs[i]
		reused.Evidence = append(reused.Evidence[:0:0], vs[i].Evidence...)
		if err := gw.Write(&reused); err != nil {
			t.Fatal(err)
		}
		reused.Frame, reused.Origin = 999999, rstanalysis.OriginClient
		for j := range reused.Evidence {
			reused.Evidence[j] = "overwritten"
		}
	}
	_, _ = ww.Close(fixtureSummary), gw.Close(fixtureSummary)
	if got.String() != want.String() {
		t.Errorf("output changed when the caller reused its Verdict:\n%s", testenv.LineDiff(want.String(), got.String()))
	}
}

func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "GET example.com/", "GET example.com/"},
		{"unicode kept", "ttl: 64 → 57 (7 hops)", "ttl: 64 → 57 (7 hops)"},
		{"ansi escape", "GET evil/\x1b[2J", `GET evil/\x1b[2J`},
		{"newline and tab", "a\nb\tc", `a\x0ab\x09c`},
		{"invalid utf-8", "host=\xff\xfe", `host=\xff\xfe`},
		{"c1 control", "x\u0085y", `x\x85y`},
		{"bidi override", "a\u202eb", `a\u202eb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 4, "abc…"},
		{"cut drops trailing space", "ab cdef", 4, "ab…"},
		{"arrow counts one column", "a → bcdef", 5, "a →…"},
		{"tiny", "abcdef", 1, "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.width)
			if got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
			if w := twwidth.Width(got); w > max(tc.width, 1) {
				t.Errorf("result is %d columns wide, want at most %d", w, tc.width)
			}
		})
	}
}

func TestMarkdownEscapes(t *testing.T) {
	v := fixture()[0]
	v.Request = "GET a.example/x|y *z* `c` <script>"
	v.Evidence = []string{"pipe | inside"}
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

// TestMaxRows checks the cap on the RST table: the first MaxRows verdicts
// are listed, a line counts the others, the summaries still count all of
// them, and the writer keeps no more than MaxRows verdicts.
func TestMaxRows(t *testing.T) {
	vs := fixture()
	if len(vs) < 4 {
		t.Fatalf("fixture has %d verdicts; the test needs at least 4", len(vs))
	}
	frame := func(v rstanalysis.Verdict) string { return " " + strconv.FormatUint(v.Frame, 10) + " " }
	for _, md := range []bool{false, true} {
		f := FormatTable
		if md {
			f = FormatMarkdown
		}
		all := string(render(t, f, Options{Width: 200}, vs, Summary{}))
		capped := string(render(t, f, Options{Width: 200, MaxRows: 2}, vs, Summary{}))
		want := fmt.Sprintf("%d more RSTs are not listed: the table stops at the first 2", len(vs)-2)
		if !strings.Contains(capped, want) {
			t.Errorf("%v: no line %q in\n%s", f, want, capped)
		}
		if strings.Contains(all, "not listed") {
			t.Errorf("%v: uncapped output says RSTs are not listed", f)
		}
		// The summaries, after the RST table, are the same.
		sumAt := func(s string) string {
			i := strings.Index(s, "origin and cause")
			if i < 0 {
				t.Fatalf("%v: no summary in\n%s", f, s)
			}
			return s[i:]
		}
		if sumAt(all) != sumAt(capped) {
			t.Errorf("%v: summaries differ with MaxRows 2:\n%s\nwant\n%s", f, sumAt(capped), sumAt(all))
		}
		table := capped[:strings.Index(capped, "not listed")]
		for i, v := range vs {
			if listed := strings.Contains(table, frame(v)) || strings.Contains(table, "| "+strconv.FormatUint(v.Frame, 10)+" |"); listed != (i < 2) {
				t.Errorf("%v: frame %d listed = %v, want %v", f, v.Frame, listed, i < 2)
			}
		}
	}
	w := newTableWriter(io.Discard, Options{MaxRows: 2}, false)
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.rows) != 2 || w.unlisted != len(vs)-2 || w.tally.total != len(vs) {
		t.Errorf("kept %d rows, %d unlisted, %d tallied; want 2, %d, %d", len(w.rows), w.unlisted, w.tally.total, len(vs)-2, len(vs))
	}
}
