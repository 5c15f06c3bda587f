package rstanalysis_test

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// corpusDir holds public captures from other projects' test suites with
// their tools' labels (../shared/corpus, beside the repository). A user's
// clone does not have it; CI does.
const corpusDir = "../../shared/corpus"

// readAll runs a capture file through the analysis and returns the verdicts
// and the number of RST segments the source returned.
func readAll(t *testing.T, path string) ([]rstanalysis.Verdict, int, error) {
	t.Helper()
	src, err := capture.Open(path, capture.Options{})
	if err != nil {
		return nil, 0, err
	}
	defer src.Close()
	var vs []rstanalysis.Verdict
	an := rstanalysis.New(rstanalysis.Config{}, func(v *rstanalysis.Verdict) { vs = append(vs, *v) })
	var p capture.Packet
	rsts := 0
	for {
		if err = src.Next(&p); err != nil {
			break
		}
		if p.Flags&capture.RST != 0 {
			rsts++
		}
		an.Packet(&p)
	}
	an.Flush()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return vs, rsts, err
}

type corpusEntry struct {
	file    string
	packets int
	rsts    int
	encap   string
}

func corpusIndex(t *testing.T) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "index.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no corpus at %s (it sits beside the repository in CI)", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	var col map[string]int
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = map[string]int{}
			for i, name := range fs {
				col[name] = i
			}
			continue
		}
		pk, _ := strconv.Atoi(fs[col["packets"]])
		rs, _ := strconv.Atoi(fs[col["rsts"]])
		out = append(out, corpusEntry{file: fs[col["file"]], packets: pk, rsts: rs, encap: fs[col["encap"]]})
	}
	if len(out) == 0 {
		t.Fatal("empty corpus index")
	}
	return out
}

// label is one connection of a peer tool's .gt.tsv that says which side
// sent a RST. Zeek's originator is the side that sent the first packet (the
// SYN sender); Suricata's and nDPI's client likewise. Unknown hosts and ports
// ("?" in the file) match any.
type label struct {
	oHost, rHost netip.Addr // invalid: unknown
	oPort, rPort int        // -1: unknown
	orig, resp   bool       // which side sent a RST
	line         string
}

func (l *label) matches(client, server netip.AddrPort) bool {
	ok := func(h netip.Addr, p int, ap netip.AddrPort) bool {
		return (!h.IsValid() || h == ap.Addr()) && (p < 0 || p == int(ap.Port()))
	}
	return ok(l.oHost, l.oPort, client) && ok(l.rHost, l.rPort, server)
}

// wildcard reports whether the label names no endpoint at all.
func (l *label) wildcard() bool {
	return !l.oHost.IsValid() && !l.rHost.IsValid() && l.oPort < 0 && l.rPort < 0
}

// rstLabels reads a .gt.tsv beside a capture: the connections whose peer
// tool says which side sent a RST. Tools that give no side (Arkime's rst
// count, nDPI's scan names) contribute nothing.
func rstLabels(t *testing.T, path string) []label {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	host := func(s string) netip.Addr {
		if s == "?" {
			return netip.Addr{}
		}
		return netip.MustParseAddr(s)
	}
	port := func(s string) int {
		p, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return p
	}
	var out []label
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Split(line, "\t")
		attrs := map[string]string{}
		for _, kv := range fs {
			if k, v, ok := strings.Cut(kv, "="); ok {
				attrs[k] = v
			}
		}
		l := label{line: line}
		if len(fs) >= 6 && fs[1] != "flow" || strings.HasPrefix(fs[0], "suricata") {
			l.oHost, l.oPort, l.rHost, l.rPort = host(fs[2]), port(fs[3]), host(fs[4]), port(fs[5])
		}
		switch kind := fs[1]; {
		case kind == "conn": // Zeek history: R = originator sent a RST, r = responder
			l.orig, l.resp = strings.Contains(attrs["history"], "R"), strings.Contains(attrs["history"], "r")
		case kind == "endpoints": // Zeek endpoint state RESET = that endpoint sent a RST
			l.orig = strings.Contains(attrs["orig_endpoint_state"], "RESET")
			l.resp = strings.Contains(attrs["resp_endpoint_state"], "RESET")
		case kind == "flow" && strings.HasPrefix(fs[0], "suricata"):
			l.orig, l.resp = attrs["client(src)_sent_RST"] == "yes", attrs["server(dest)_sent_RST"] == "yes"
		case kind == "flow" && strings.HasPrefix(fs[0], "nDPI"):
			c, s := netip.MustParseAddrPort(fs[2]), netip.MustParseAddrPort(fs[3])
			l.oHost, l.oPort, l.rHost, l.rPort = c.Addr(), int(c.Port()), s.Addr(), int(s.Port())
			l.orig = strings.Contains(attrs["risk_info"], "Connection refused (client)")
			l.resp = strings.Contains(attrs["risk_info"], "Connection refused (server)")
		}
		if l.orig || l.resp {
			out = append(out, l)
		}
	}
	return out
}

func pairKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

func sender(v *rstanalysis.Verdict) netip.AddrPort {
	if v.From == rstanalysis.Server {
		return v.Server
	}
	return v.Client
}

// TestCorpus reads every public capture of the corpus: every RST gets a
// verdict, `from` agrees with the side Zeek, Suricata and nDPI give, and
// nothing fails but a clear error for a link type we cannot decode.
func TestCorpus(t *testing.T) {
	for _, e := range corpusIndex(t) {
		t.Run(e.file, func(t *testing.T) {
			path := filepath.Join(corpusDir, e.file)
			vs, rsts, err := readAll(t, path)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if len(vs) != e.rsts || rsts != e.rsts {
				t.Errorf("%d verdicts for %d RSTs decoded; the index counts %d RSTs", len(vs), rsts, e.rsts)
			}
			for i := 1; i < len(vs); i++ {
				if vs[i].Frame <= vs[i-1].Frame {
					t.Errorf("verdicts out of capture order: frame %d after %d", vs[i].Frame, vs[i-1].Frame)
				}
			}
			for _, v := range vs {
				if v.Confidence < 0 || v.Confidence > 1 {
					t.Errorf("frame %d: confidence %v outside [0, 1]", v.Frame, v.Confidence)
				}
				if v.Origin == rstanalysis.OriginUnknown && v.Confidence != 0 {
					t.Errorf("frame %d: unknown origin with confidence %v", v.Frame, v.Confidence)
				}
				if len(v.Findings) == 0 {
					t.Errorf("frame %d: no evidence", v.Frame)
				}
			}
			checkSides(t, vs, rstLabels(t, strings.TrimSuffix(strings.TrimSuffix(path, ".pcap"), ".pcapng")+".gt.tsv"))
		})
	}
}

// checkSides compares, connection by connection, the endpoints our verdicts
// say sent a RST (`from`) with those the peer tool names.
func checkSides(t *testing.T, vs []rstanalysis.Verdict, labels []label) {
	t.Helper()
	type conn struct {
		client, server netip.AddrPort
		midstream      bool
		senders        map[netip.AddrPort]bool
	}
	conns := map[[2]netip.AddrPort]*conn{}
	var order [][2]netip.AddrPort
	for i := range vs {
		v := &vs[i]
		k := pairKey(v.Client, v.Server)
		c := conns[k]
		if c == nil {
			c = &conn{client: v.Client, server: v.Server, midstream: v.Midstream, senders: map[netip.AddrPort]bool{}}
			conns[k] = c
			order = append(order, k)
		}
		c.senders[sender(v)] = true
	}
	used := make([]bool, len(labels))
	for _, k := range order {
		c := conns[k]
		want := map[netip.AddrPort]bool{}
		for i := range labels {
			l := &labels[i]
			o, r := c.client, c.server
			switch {
			case l.matches(c.client, c.server):
			case !l.wildcard() && l.matches(c.server, c.client):
				o, r = c.server, c.client
			default:
				continue
			}
			if l.wildcard() && c.midstream {
				continue // the tool's originator is itself a guess here
			}
			used[i] = true
			if l.orig {
				want[o] = true
			}
			if l.resp {
				want[r] = true
			}
		}
		if len(want) > 0 && !sameSet(c.senders, want) {
			t.Errorf("connection %v → %v: RSTs from %v, the peer tool says %v", c.client, c.server, keys(c.senders), keys(want))
		}
	}
	for i, u := range used {
		if !u && !labels[i].wildcard() {
			t.Errorf("the peer tool saw a RST on a connection we report none for: %s", labels[i].line)
		}
	}
}

func sameSet(a, b map[netip.AddrPort]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[netip.AddrPort]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k.String())
	}
	sort.Strings(s)
	return s
}

// TestCorpusInjectedRST: in Zeek's rst-inject-rae trace the RST+ACK of frame
// 2 answers the SYN 0.23 s before the real SYN-ACK, with TTL 46 where the
// server's packets have 49, reserved flag bits, the SYN's IP ID and ack =
// ISN; the server's own RSTs (frames 7 and 9) follow the request.
func TestCorpusInjectedRST(t *testing.T) {
	path := filepath.Join(corpusDir, "zeek/tcp_rst-inject-rae.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no corpus: %v", err)
	}
	vs, _, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]rstanalysis.Origin{2: rstanalysis.OriginMiddlebox, 7: rstanalysis.OriginServer, 9: rstanalysis.OriginServer}
	for _, v := range vs {
		if o, ok := want[v.Frame]; ok {
			if v.Origin != o {
				t.Errorf("frame %d: origin %v, want %v; evidence:\n  %s", v.Frame, v.Origin, o, strings.Join(v.Texts(), "\n  "))
			}
			delete(want, v.Frame)
		}
	}
	if len(want) > 0 {
		t.Errorf("no verdict for frames %v", want)
	}
	if vs[0].Cause != rstanalysis.CauseInjected || vs[0].Phase != rstanalysis.PhaseSYN {
		t.Errorf("frame 2: phase %v cause %v, want syn injected", vs[0].Phase, vs[0].Cause)
	}
}
