package report

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
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
			Findings: []rstanalysis.Finding{
				{Rule: "seq.syn_answer", Weight: -2, Text: "answers the SYN with ack = ISN+1: the normal refusal (RFC 9293 §3.10.7.1)", Frames: []uint64{1}},
				{Rule: "ttl.match", Weight: -1, Text: "ttl 64 matches the server's SYN-ACKs seen earlier on this host"},
			},
			Flags: "R.", TTL: 64, Seq: 0, Ack: 2717134850, Event: 3, Vantage: "client host",
		},
		{
			Frame: 57, Time: at(1500 * time.Millisecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Findings: []rstanalysis.Finding{
				{Rule: "ttl.mismatch", Weight: 1, Text: "ttl: 52 vs server 44 (8 hops nearer than the server)", Frames: []uint64{54}},
				{Rule: "ipid.jump", Weight: 1, Text: "ip id: 54321 after the server's 1204 (jump of 53117)", Frames: []uint64{54}},
				{Rule: "race.data_after_reset", Weight: 1, Text: "race: the server's ServerHello arrived 41.2ms after this RST", Frames: []uint64{61}},
				{Rule: "burst.seq_jump", Weight: 0.6, Text: "burst: 4 RSTs in 0.3ms at seq X, X+1460, X+4380 (Wang et al., IMC 2017)", Frames: []uint64{58, 59, 60}},
			},
			Flags: "R", TTL: 52, Seq: 3098123001, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Vantage: "client host",
		},
		{
			Frame: 58, Time: at(1500*time.Millisecond + 90*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Findings: []rstanalysis.Finding{{Rule: "ttl.mismatch", Weight: 1, Text: "ttl: 52 vs server 44 (8 hops nearer than the server)", Frames: []uint64{54}}},
			Flags:    "R.", TTL: 52, Seq: 3098123001, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "same seq as #57, now with ACK",
			Vantage: "client host",
		},
		{
			Frame: 59, Time: at(1500*time.Millisecond + 180*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Findings: []rstanalysis.Finding{{Rule: "ttl.mismatch", Weight: 1, Text: "ttl: 52 vs server 44 (8 hops nearer than the server)", Frames: []uint64{54}}},
			Flags:    "R.", TTL: 52, Seq: 3098124461, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "seq #57+1460",
			Vantage: "client host",
		},
		{
			Frame: 60, Time: at(1500*time.Millisecond + 301*time.Microsecond), Client: ap("192.168.1.20:53422"), Server: ap("93.184.216.34:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.92,
			Phase: rstanalysis.PhaseTLSHandshake, Cause: rstanalysis.CauseInjected,
			Findings: []rstanalysis.Finding{{Rule: "ttl.mismatch", Weight: 1, Text: "ttl: 52 vs server 44 (8 hops nearer than the server)", Frames: []uint64{54}}},
			Flags:    "R.", TTL: 52, Seq: 3098127381, Ack: 1774002113, RTT: 182400 * time.Microsecond,
			Request: "TLS ClientHello sni=blocked.example.org", Event: 57, Relation: "seq #57+4380",
			Vantage: "client host",
		},
		{
			Frame: 311, Time: at(12*time.Second + 4567*time.Microsecond), Client: ap("[2001:db8:1::10]:40112"), Server: ap("[2001:db8:2::443]:443"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginServer, Confidence: 0.8,
			Phase: rstanalysis.PhaseResponse, Cause: rstanalysis.CauseServerAbort,
			Findings: []rstanalysis.Finding{
				{Rule: "seq.next", Weight: -1, Text: "seq = the server's next sequence number: its own stack aborted", Frames: []uint64{309}},
				{Rule: "ttl.match", Weight: -1, Text: "hop limit 57 matches the server's packets (7 hops)", Frames: []uint64{309}},
				{Rule: "payload.short_body", Weight: 0, Text: "the server had sent 14600 of 52000 announced bytes", Frames: []uint64{309}},
			},
			Flags: "R.", TTL: 57, Seq: 401224, Ack: 88121, RTT: 23100 * time.Microsecond,
			Request: "GET api.example.com/v1/items?page=2", Response: "HTTP 200, Content-Length 52000",
			Event: 311, Vantage: "client host",
		},
		{
			Frame: 802, Time: at(40*time.Second + 250*time.Millisecond), Client: ap("10.0.0.5:49152"), Server: ap("10.20.0.7:5432"),
			From: rstanalysis.Server, Origin: rstanalysis.OriginMiddlebox, Confidence: 0.6,
			Phase: rstanalysis.PhaseMidstream, Cause: rstanalysis.CauseIdleTimeout, Midstream: true,
			Findings: []rstanalysis.Finding{
				{Rule: "timing.too_fast", Weight: 2, Text: "answers the first segment after 412s idle within 0.2ms, faster than any reply from the server", Frames: []uint64{801}},
				{Rule: "ttl.mismatch", Weight: 1, Text: "ttl: 63 vs server 61 (2 hops nearer than the server)", Frames: []uint64{800}},
			},
			Flags: "R", TTL: 63, Seq: 1190000, Event: 802, Vantage: "between client and server",
		},
		{
			Frame: 1200, Time: at(55 * time.Second), Client: ap("10.0.0.5:51514"), Server: ap("10.0.0.9:8080"),
			From: rstanalysis.Client, Origin: rstanalysis.OriginClient, Confidence: 0.85,
			Phase: rstanalysis.PhaseResponse, Cause: rstanalysis.CauseClientAbort,
			Findings: []rstanalysis.Finding{
				{Rule: "ttl.local", Weight: -2, Text: "ttl 64, 0 hops: sent by the capturing host itself"},
				{Rule: "seq.next", Weight: -1, Text: "seq = the client's next sequence number", Frames: []uint64{1199}},
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
			Findings: []rstanalysis.Finding{
				{Rule: "idle.keepalive_race", Weight: 0.6, Text: "the server's FIN came 4.9s before this request: keep-alive reuse race", Frames: []uint64{1490, 1501}},
				{Rule: "seq.no_socket", Weight: -0.3, Text: "seq = the ack of the client's request: no socket left on the server", Frames: []uint64{1501}},
			},
			Flags: "R", TTL: 57, Seq: 99817, RTT: 22900 * time.Microsecond,
			Request: "GET api.example.com/v1/health", Event: 1502, Vantage: "client host",
		},
	}
}

// withLadders gives the fixture's refusal and injected burst the packets
// around them, as rstanalysis records them.
func withLadders(vs []rstanalysis.Verdict) []rstanalysis.Verdict {
	seg := func(frame uint64, d time.Duration, from rstanalysis.Side, flags capture.Flags, seq, ack uint32, n int, ttl uint8, rst bool) rstanalysis.Segment {
		return rstanalysis.Segment{Frame: frame, Time: at(d), From: from, Flags: flags, Seq: seq, Ack: ack, Len: n, TTL: ttl, RST: rst}
	}
	const c, s = rstanalysis.Client, rstanalysis.Server
	const S, A, P, R = capture.SYN, capture.ACK, capture.PSH, capture.RST
	ms := time.Millisecond
	vs[0].Ladder = &rstanalysis.Ladder{Segments: []rstanalysis.Segment{
		seg(1, -200*time.Microsecond, c, S, 2717134849, 0, 0, 64, false),
		seg(3, 0, s, R|A, 0, 2717134850, 0, 64, true),
	}}
	vs[1].Ladder = &rstanalysis.Ladder{Segments: []rstanalysis.Segment{
		seg(50, 1500*ms-185*ms, c, S, 1774001595, 0, 0, 64, false),
		seg(52, 1500*ms-2*ms, s, S|A, 3098123000, 1774001596, 0, 44, false),
		seg(53, 1500*ms-1*ms, c, A, 1774001596, 3098123001, 0, 64, false),
		seg(54, 1500*ms-300*time.Microsecond, c, P|A, 1774001596, 3098123001, 517, 64, false),
		seg(57, 1500*ms, s, R, 3098123001, 0, 0, 52, true),
		seg(58, 1500*ms+90*time.Microsecond, s, R|A, 3098123001, 1774002113, 0, 52, false),
		seg(61, 1541*ms, s, P|A, 3098123001, 1774002113, 1400, 44, false),
	}}
	return vs
}

var fixtureSummary = Summary{
	Inputs: []string{"incident-4411.pcapng"}, Frames: 1630, TCPPackets: 1544, Connections: 212, MaxOpen: 57,
	Evicted: 3, RSTs: 10, Elapsed: 412 * time.Millisecond, First: at(-2 * time.Second), Last: at(62 * time.Second),
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

// texts is what the evidence shows for v: its findings' texts, in order.
func texts(v *rstanalysis.Verdict) []string {
	ts := make([]string, len(v.Findings))
	for i, f := range v.Findings {
		ts[i] = f.Text
	}
	return ts
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
		{"table", FormatTable, Options{}, withLadders(fixture()), fixtureSummary},
		{"table_80", FormatTable, Options{Width: 80}, withLadders(fixture()), fixtureSummary},
		{"table_rsts", FormatTable, Options{RSTs: true, Width: 120}, fixture(), fixtureSummary},
		{"table_tz", FormatTable, Options{Width: 120, Location: time.FixedZone("+0530", 5*3600+1800)}, fixture(), fixtureSummary},
		{"table_verbose", FormatTable, Options{Verbose: true}, fixture(), fixtureSummary},
		{"table_stream", FormatTable, Options{Stream: true}, fixture(), fixtureSummary},
		{"table_filtered", FormatTable, Options{Filter: Filter{Origins: []rstanalysis.Origin{rstanalysis.OriginMiddlebox}}},
			fixture(), fixtureSummary},
		{"table_files", FormatTable, Options{TopServers: 2}, twoFiles(),
			Summary{Inputs: []string{"a.pcap", "b.pcap"}, Frames: 90, TCPPackets: 88, Connections: 3, RSTs: 4, Elapsed: 20 * time.Millisecond}},
		{"table_empty", FormatTable, Options{}, nil, Summary{Inputs: []string{"quiet.pcap"}, Frames: 10, TCPPackets: 8, Connections: 1}},
		{"markdown", FormatMarkdown, Options{}, withLadders(fixture()), fixtureSummary},
		{"markdown_rsts", FormatMarkdown, Options{RSTs: true, Ladders: []uint64{58}}, withLadders(fixture()), fixtureSummary},
		{"html", FormatHTML, Options{Verbose: true}, withLadders(fixture()), fixtureSummary},
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
		{"table stream", FormatTable, true, true, "10.0.0.9:8080"},
		{"markdown stream", FormatMarkdown, true, true, "| 3 |"},
		{"csv stream", FormatCSV, true, true, "10.0.0.9:8080"},
		{"json stream", FormatJSON, true, true, `"frame":3`},
		{"table buffered", FormatTable, false, false, ""},
		{"markdown buffered", FormatMarkdown, false, false, ""},
		{"html, a document, buffered even in stream mode", FormatHTML, true, false, ""},
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

// TestWriteKeepsNoAlias checks that a buffering writer keeps nothing of
// the verdict it is given: the pipeline may reuse its Verdict, findings and
// all, for the next RST.
func TestWriteKeepsNoAlias(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatHTML} {
		t.Run(f.String(), func(t *testing.T) {
			var want, got bytes.Buffer
			vs := withLadders(fixture())
			opts := Options{Verbose: true, Ladders: []uint64{58}}
			ww := NewWriter(f, &want, opts)
			gw := NewWriter(f, &got, opts)
			var reused rstanalysis.Verdict
			for i := range vs {
				if err := ww.Write(&vs[i]); err != nil {
					t.Fatal(err)
				}
				reused = vs[i]
				reused.Findings = append(reused.Findings[:0:0], vs[i].Findings...)
				if vs[i].Ladder != nil {
					l := *vs[i].Ladder
					l.Segments = append(l.Segments[:0:0], l.Segments...)
					reused.Ladder = &l
				}
				if err := gw.Write(&reused); err != nil {
					t.Fatal(err)
				}
				reused.Frame, reused.Origin, reused.Request = 999999, rstanalysis.OriginClient, "overwritten"
				for j := range reused.Findings {
					reused.Findings[j] = rstanalysis.Finding{Rule: "x.overwritten", Text: "overwritten"}
				}
				if reused.Ladder != nil {
					for j := range reused.Ladder.Segments {
						reused.Ladder.Segments[j] = rstanalysis.Segment{Frame: 999999}
					}
				}
			}
			_, _ = ww.Close(fixtureSummary), gw.Close(fixtureSummary)
			if got.String() != want.String() {
				t.Errorf("output changed when the caller reused its Verdict:\n%s", testenv.LineDiff(want.String(), got.String()))
			}
		})
	}
}
