package rstanalysis

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// compactInputs are the captures the compact records are checked on: the
// lab's, and the public corpus beside the repository when it is there.
func compactInputs(t *testing.T) []string {
	var files []string
	for _, g := range []string{"../testdata/lab/*.pcap*", "../../shared/corpus/*/*.pcap*", "../../shared/corpus/*/*/*.pcap*"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	return files
}

// verdictsWith reads path through an Analyzer with cfg.
func verdictsWith(t *testing.T, path string, cfg Config) []Verdict {
	t.Helper()
	src, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var vs []Verdict
	a := New(cfg, func(v *Verdict) { vs = append(vs, *v) })
	var p capture.Packet
	for src.Next(&p) == nil {
		a.Packet(&p)
	}
	a.Flush()
	return vs
}

// TestCompactSameVerdicts: holding half-open connections and quiet closed
// ones in compact records changes no verdict, byte for byte, on the lab's
// captures and the public corpus. With closed connections compacted at
// once (CompactAfter 1 ns) the late RSTs still get the same origin, phase,
// cause, history and conn_state: what shut keeps is what those rest on
// (their request, response and timing finding may go, see flows' shut).
func TestCompactSameVerdicts(t *testing.T) {
	for _, f := range compactInputs(t) {
		whole := verdictsWith(t, f, Config{noCompact: true})
		compact := verdictsWith(t, f, Config{})
		if !reflect.DeepEqual(whole, compact) {
			t.Errorf("%s: verdicts differ with compact records", f)
		}
		early := verdictsWith(t, f, Config{compactAfter: time.Nanosecond})
		if len(early) != len(whole) {
			t.Errorf("%s: %d verdicts compacting at once, %d whole", f, len(early), len(whole))
			continue
		}
		for i, v := range whole {
			if e := early[i]; e.Frame != v.Frame || e.Origin != v.Origin || e.Phase != v.Phase || e.Cause != v.Cause ||
				e.History != v.History || e.ConnState != v.ConnState {
				t.Errorf("%s frame %d: %v, %v, %v, %s %s compacting at once, %v, %v, %v, %s %s whole", f, v.Frame,
					e.Origin, e.Phase, e.Cause, e.History, e.ConnState, v.Origin, v.Phase, v.Cause, v.History, v.ConnState)
			}
		}
	}
}

// TestLateSegmentHistory: a late segment more than CompactAfter after its
// connection closed (here 2 s after both FINs, the record compacted) and
// the RST answering it show the connection's whole Zeek history and its
// conn_state, as without compact records.
func TestLateSegmentHistory(t *testing.T) {
	c := newConv(40000)
	c.handshake().request()
	c.after(time.Millisecond).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	c.after(time.Millisecond).cli(capture.FIN|capture.ACK, "")
	c.after(c.rtt).srv(capture.FIN|capture.ACK, "")
	c.after(time.Millisecond).cli(capture.ACK, "")
	c.cNxt -= 40 // a retransmission of the request's end, 2 s on
	c.after(2*time.Second).cli(capture.PSH|capture.ACK, strings.Repeat("x", 40))
	c.after(c.rtt).srv(capture.RST, "")
	pkts := merge(c)
	var got [2][]Verdict
	for i, cfg := range []Config{{noCompact: true}, {}} {
		a := New(cfg, func(v *Verdict) { got[i] = append(got[i], *v) })
		for j := range pkts {
			a.Packet(&pkts[j])
		}
		a.Flush()
		if st := a.Stats(); st.Conns != 1 {
			t.Fatalf("stats %+v: want the late packets on the closed connection", st)
		}
	}
	const want = "ShADadFfTr"
	for i, vs := range got {
		if len(vs) != 1 || vs[0].History != want || vs[0].ConnState != "SF" {
			t.Fatalf("compact %v: verdicts %d, history %q conn_state %q; want one, %s SF (a reset after both FINs: Zeek keeps SF)", i == 1, len(vs), vs[0].History, vs[0].ConnState, want)
		}
	}
}
