package flows

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/capture"
)

// wseg is seg with an open window, as real segments have.
func wseg(frame uint64, a, b string, flags capture.Flags, seq, ack uint32, payload string) *capture.Packet {
	p := seg(frame, 0, a, b, flags, seq, ack, payload)
	p.Window = 64240
	return p
}

func TestHistory(t *testing.T) {
	const S, A, P, F, R = capture.SYN, capture.ACK, capture.PSH, capture.FIN, capture.RST
	tests := []struct {
		name        string
		pkts        []*capture.Packet
		hist, state string
	}{
		{"refused", []*capture.Packet{
			wseg(1, cl, sv, S, 100, 0, ""),
			wseg(2, sv, cl, R|A, 0, 101, ""),
		}, "Sr", "REJ"},
		{"server abort after the request", []*capture.Packet{
			wseg(1, cl, sv, S, 100, 0, ""),
			wseg(2, sv, cl, S|A, 500, 101, ""),
			wseg(3, cl, sv, A, 101, 501, ""),
			wseg(4, cl, sv, P|A, 101, 501, "GET / HTTP/1.1\r\n\r\n"),
			wseg(5, sv, cl, A, 501, 119, ""),
			wseg(6, sv, cl, R|A, 501, 119, ""),
		}, "ShADar", "RSTR"},
		{"client aborts a half-open handshake", []*capture.Packet{
			wseg(1, cl, sv, S, 100, 0, ""),
			wseg(2, sv, cl, A, 0, 101, ""), // an ACK before any SYN-ACK
			wseg(3, cl, sv, R, 101, 0, ""),
		}, "SaR", "RSTOS0"},
		{"retransmission, repeated RST at another seq, capture from the SYN-ACK", []*capture.Packet{
			wseg(1, sv, cl, S|A, 500, 101, ""),
			wseg(2, cl, sv, A, 101, 501, ""),
			wseg(3, cl, sv, P|A, 101, 501, "hello"),
			wseg(4, cl, sv, P|A, 101, 501, "hello"),
			wseg(5, sv, cl, R, 501, 0, ""),
			wseg(6, sv, cl, R, 501, 0, ""),
			wseg(7, sv, cl, R, 502, 0, ""),
		}, "^hADTrr", "RSTR"},
		{"lone RST", []*capture.Packet{
			wseg(1, cl, sv, R, 7, 0, ""),
		}, "R", "OTH"},
		{"both close", []*capture.Packet{
			wseg(1, cl, sv, S, 100, 0, ""),
			wseg(2, sv, cl, S|A, 500, 101, ""),
			wseg(3, cl, sv, A, 101, 501, ""),
			wseg(4, cl, sv, F|A, 101, 501, ""),
			wseg(5, sv, cl, F|A, 501, 102, ""),
		}, "ShAFf", "SF"},
		{"crafted RST+FIN", []*capture.Packet{
			wseg(1, cl, sv, S, 100, 0, ""),
			wseg(2, sv, cl, R|F, 0, 0, ""),
		}, "Si", "REJ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := feed(NewTable(Config{}), tt.pkts...)
			if got := c.Hist.String(); got != tt.hist {
				t.Errorf("history %q, want %q", got, tt.hist)
			}
			if got := c.ConnState(); got != tt.state {
				t.Errorf("conn_state %s, want %s", got, tt.state)
			}
		})
	}
}

func TestHistoryZeroWindowAndCap(t *testing.T) {
	tb := NewTable(Config{})
	c := feed(tb, wseg(1, cl, sv, capture.SYN, 100, 0, ""), wseg(2, sv, cl, capture.SYN|capture.ACK, 500, 101, ""))
	for i := range 12 {
		p := wseg(uint64(3+i), sv, cl, capture.ACK, 501, 101, "")
		p.Window = 0
		c = feed(tb, p)
	}
	if got, want := c.Hist.String(), "Shaww"; got != want { // the server's ACK, its 1st and 10th zero window
		t.Errorf("history %q, want %q", got, want)
	}
	var h History
	for range historyCap + 3 {
		h.add(Client, 'D')
	}
	if s := h.String(); len(s) != historyCap+1 || !strings.HasSuffix(s, "+") {
		t.Errorf("overflowed history %q: want %d letters and a '+'", s, historyCap)
	}
}

// TestHistoryAgainstZeek compares, on the public captures, each connection's
// history and conn_state with Zeek's conn.log for the same capture (the
// corpus's *.gt.tsv). Zeek's G (content gap) and C (bad checksum) letters,
// which rstscope does not record, are left out of the comparison.
func TestHistoryAgainstZeek(t *testing.T) {
	const dir = "../../shared/corpus"
	gts, _ := filepath.Glob(filepath.Join(dir, "*", "*.gt.tsv"))
	if len(gts) == 0 {
		t.Skipf("no corpus at %s (it sits beside the repository in CI)", dir)
	}
	compared := 0
	for _, gt := range gts {
		want := zeekLabels(t, gt)
		if len(want) == 0 {
			continue
		}
		base := strings.TrimSuffix(gt, ".gt.tsv")
		caps, _ := filepath.Glob(base + ".pcap*")
		if len(caps) == 0 {
			continue
		}
		got := histories(t, caps[0])
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Errorf("%s: Zeek logs %v, rstscope tracked no such connection", filepath.Base(caps[0]), k)
				continue
			}
			compared++
			if zh := stripGC(w.history); zh != "" && g.history != zh {
				t.Errorf("%s %v: history %q, Zeek %q", filepath.Base(caps[0]), k, g.history, w.history)
			}
			if w.state != "" && w.state != "?" && g.state != w.state {
				t.Errorf("%s %v: conn_state %s, Zeek %s", filepath.Base(caps[0]), k, g.state, w.state)
			}
		}
	}
	if compared == 0 {
		t.Error("no connection of the corpus compared")
	}
}

type connLabel struct{ history, state string }

// zeekKey names a conn.log line: the originator's address (and port, 0 when
// Zeek's label leaves it out) and the responder's.
type zeekKey struct {
	orig netip.AddrPort
	resp netip.AddrPort
}

// zeekLabels reads the conn.log lines of a *.gt.tsv; a 5-tuple Zeek logs
// more than once (a reused port) is left out.
func zeekLabels(t *testing.T, path string) map[zeekKey]connLabel {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, dup := map[zeekKey]connLabel{}, map[zeekKey]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) < 8 || fs[1] != "conn" || fs[3] == "?" {
			continue
		}
		k, ok := parseZeekKey(fs[2], fs[3], fs[4], fs[5])
		if !ok {
			continue
		}
		var l connLabel
		for _, kv := range fs[6:] {
			if v, ok := strings.CutPrefix(kv, "history="); ok {
				l.history = v
			} else if v, ok := strings.CutPrefix(kv, "conn_state="); ok {
				l.state = v
			}
		}
		if _, seen := out[k]; seen {
			dup[k] = true
		}
		out[k] = l
	}
	for k := range dup {
		delete(out, k)
	}
	return out
}

func parseZeekKey(oa, op, ra, rp string) (zeekKey, bool) {
	oAddr, err1 := netip.ParseAddr(oa)
	rAddr, err2 := netip.ParseAddr(ra)
	oPort, err3 := parsePort(op)
	rPort, err4 := parsePort(rp)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return zeekKey{}, false
	}
	return zeekKey{netip.AddrPortFrom(oAddr, oPort), netip.AddrPortFrom(rAddr, rPort)}, true
}

func parsePort(s string) (uint16, error) {
	ap, err := netip.ParseAddrPort("0.0.0.0:" + s)
	return ap.Port(), err
}

func stripGC(h string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'G', 'g', 'C', 'c':
			return -1
		}
		return r
	}, h)
}

// histories runs a capture through a connection table and returns each
// connection's history and conn_state when it ends.
func histories(t *testing.T, path string) map[zeekKey]connLabel {
	t.Helper()
	src, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := map[zeekKey]connLabel{}
	tb := NewTable(Config{})
	tb.SetHooks(endFunc(func(c *Conn) {
		out[zeekKey{c.Client(), c.Server()}] = connLabel{c.Hist.String(), c.ConnState()}
	}))
	var p capture.Packet
	for {
		if err := src.Next(&p); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("%s: %v", path, err)
			}
			break
		}
		tb.Step(&p)
	}
	tb.Flush()
	return out
}

type endFunc func(*Conn)

func (endFunc) Segment(*Conn, Side, *capture.Packet) {}
func (f endFunc) End(c *Conn, _ EndReason)           { f(c) }
func (endFunc) Keep(*Conn) bool                      { return false }
