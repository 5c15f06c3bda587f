package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// testConfig is a small capture with many resets of every kind.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Packets = 40_000
	cfg.Concurrency = 300
	cfg.Seed = 7
	cfg.IPv6 = 0.25
	cfg.Resets = 0.5
	return cfg
}

func generate(t testing.TB, cfg Config) (capture, truth []byte, st Stats) {
	t.Helper()
	var cb, tb bytes.Buffer
	st, err := Generate(context.Background(), &cb, &tb, cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return cb.Bytes(), tb.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
	}{
		{"pcap", FormatPcap},
		{"pcapng", FormatPcapNG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Packets = 20_000
			cfg.Format = tc.format
			c1, t1, _ := generate(t, cfg)
			c2, t2, _ := generate(t, cfg)
			if !bytes.Equal(c1, c2) {
				t.Errorf("two runs with the same config differ (%d vs %d bytes)", len(c1), len(c2))
			}
			if !bytes.Equal(t1, t2) {
				t.Errorf("two runs with the same config wrote different truth")
			}
			cfg.Seed++
			c3, _, _ := generate(t, cfg)
			if bytes.Equal(c1, c3) {
				t.Errorf("seeds %d and %d gave the same capture", cfg.Seed-1, cfg.Seed)
			}
		})
	}
}

// pkt is what the tests need of one decoded frame.
type pkt struct {
	frame    int
	ts       time.Time
	flow     string // canonical 5-tuple
	src      string
	v6       bool
	ttl      uint8
	id       uint16
	df       bool
	flags    uint8
	seq, ack uint32
	win      uint16
	opts     int
	payload  []byte
}

func (p *pkt) is(f uint8) bool { return p.flags&f == f }

// decodeAll reads the capture with pcapgo and decodes every frame with
// gopacket, failing on any frame that is not a valid Ethernet/IP/TCP packet
// with correct IPv4 header and TCP checksums.
func decodeAll(t *testing.T, data []byte, format Format) []pkt {
	t.Helper()
	_, recs := readRecords(t, data, format)
	var out []pkt
	for i, rec := range recs {
		frame, raw, ci := i+1, rec.data, rec.ci
		p := gopacket.NewPacket(raw, layers.LayerTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("frame %d: decode error: %v", frame, el.Error())
		}
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("frame %d: no TCP layer: %v", frame, p)
		}
		q := pkt{frame: frame, ts: ci.Timestamp, seq: tcp.Seq, ack: tcp.Ack, win: tcp.Window,
			opts: len(tcp.Options), payload: tcp.Payload}
		for _, f := range []struct {
			set bool
			bit uint8
		}{{tcp.FIN, flagFIN}, {tcp.SYN, flagSYN}, {tcp.RST, flagRST}, {tcp.PSH, flagPSH}, {tcp.ACK, flagACK}} {
			if f.set {
				q.flags |= f.bit
			}
		}
		var a, b string
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			if !rfc1071Valid(ip.Contents) {
				t.Fatalf("frame %d: bad IPv4 header checksum", frame)
			}
			q.ttl, q.id, q.df = ip.TTL, ip.Id, ip.Flags&layers.IPv4DontFragment != 0
			a, b = ip.SrcIP.String(), ip.DstIP.String()
			tcp.SetNetworkLayerForChecksum(ip)
		case *layers.IPv6:
			q.ttl, q.v6 = ip.HopLimit, true
			a, b = ip.SrcIP.String(), ip.DstIP.String()
			tcp.SetNetworkLayerForChecksum(ip)
		default:
			t.Fatalf("frame %d: network layer %T", frame, ip)
		}
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("frame %d: TCP checksum %#04x, want %#04x (err %v)", frame, res.Actual, res.Correct, err)
		}
		a += ":" + strconv.Itoa(int(tcp.SrcPort))
		b += ":" + strconv.Itoa(int(tcp.DstPort))
		q.src = a
		if a > b {
			a, b = b, a
		}
		q.flow = a + " " + b
		out = append(out, q)
	}
	return out
}

// rfc1071Valid reports whether b's one's complement sum is all ones.
func rfc1071Valid(b []byte) bool {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

type truthRow struct {
	frame, conn                      int
	kind, from, origin, phase, cause string
}

func parseTruth(t *testing.T, data []byte) []truthRow {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	if !sc.Scan() || sc.Text() != TruthHeader {
		t.Fatalf("truth header = %q, want %q", sc.Text(), TruthHeader)
	}
	var rows []truthRow
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 7 {
			t.Fatalf("truth line %q has %d fields, want 7", sc.Text(), len(f))
		}
		frame, err1 := strconv.Atoi(f[0])
		conn, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("truth line %q: bad numbers", sc.Text())
		}
		rows = append(rows, truthRow{frame, conn, f[2], f[3], f[4], f[5], f[6]})
	}
	return rows
}

// TestCaptureDecodesAndMatchesTruth checks every frame with gopacket, then
// that the truth lists exactly the RST frames, that its per-kind counts
// are the ones Generate reports, and that every reset kind is present.
func TestCaptureDecodesAndMatchesTruth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
	}{
		{"pcap", FormatPcap},
		{"pcapng", FormatPcapNG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Format = tc.format
			data, truth, st := generate(t, cfg)
			pkts := decodeAll(t, data, tc.format)
			if len(pkts) != cfg.Packets || st.Packets != cfg.Packets {
				t.Fatalf("decoded %d frames, stats say %d, want %d", len(pkts), st.Packets, cfg.Packets)
			}
			rows := parseTruth(t, truth)
			inTruth := map[int]bool{}
			byKind := map[Kind]int{}
			for _, r := range rows {
				inTruth[r.frame] = true
				k, err := ParseKind(r.kind)
				if err != nil {
					t.Fatalf("truth frame %d: %v", r.frame, err)
				}
				byKind[k]++
			}
			rsts, v6 := 0, 0
			for _, p := range pkts {
				if p.is(flagRST) {
					rsts++
					if !inTruth[p.frame] {
						t.Errorf("frame %d is a RST missing from the truth", p.frame)
					}
				} else if inTruth[p.frame] {
					t.Errorf("truth lists frame %d, which is not a RST", p.frame)
				}
				if p.v6 {
					v6++
				}
			}
			if rsts != len(rows) || rsts != st.RSTs {
				t.Errorf("RSTs: %d in capture, %d in truth, %d in stats", rsts, len(rows), st.RSTs)
			}
			for _, k := range ResetKinds() {
				if byKind[k] == 0 {
					t.Errorf("no RST of kind %s", k)
				}
				if byKind[k] != st.RSTsByKind[k] {
					t.Errorf("kind %s: %d RSTs in truth, %d in stats", k, byKind[k], st.RSTsByKind[k])
				}
			}
			if frac := float64(v6) / float64(len(pkts)); frac < cfg.IPv6/2 || frac > cfg.IPv6*2 {
				t.Errorf("IPv6 share of packets = %.3f, want about %.2f", frac, cfg.IPv6)
			}
		})
	}
}

// flowInfo is what a RST's signature is checked against: the connection's
// packets before and after it.
type flowInfo struct {
	client  string // the SYN's sender
	syn     *pkt
	synack  *pkt
	packets []*pkt
}

func flows(pkts []pkt) map[string]*flowInfo {
	m := map[string]*flowInfo{}
	for i := range pkts {
		p := &pkts[i]
		f := m[p.flow]
		if f == nil {
			f = &flowInfo{}
			m[p.flow] = f
		}
		switch {
		case p.flags == flagSYN:
			f.syn, f.client = p, p.src
		case p.is(flagSYN | flagACK):
			f.synack = p
		}
		f.packets = append(f.packets, p)
	}
	return m
}

// nextSeq is the sequence number after the last segment src sent before frame.
func (f *flowInfo) nextSeq(src string, frame int) uint32 {
	var next uint32
	for _, p := range f.packets {
		if p.frame >= frame {
			break
		}
		if p.src == src && !p.is(flagRST) {
			next = p.seq + uint32(len(p.payload))
			if p.is(flagSYN) || p.is(flagFIN) {
				next++
			}
		}
	}
	return next
}

func hops(ttl uint8) int {
	for _, init := range []int{32, 64, 128, 255} {
		if int(ttl) <= init {
			return init - int(ttl)
		}
	}
	return 0
}

// TestResetSignatures checks, from the decoded packets alone, that each RST
// has the real-world shape that rstanalysis's rules (rstanalysis.Rules)
// look for, given its truth.
func TestResetSignatures(t *testing.T) {
	cfg := testConfig()
	data, truth, _ := generate(t, cfg)
	pkts := decodeAll(t, data, cfg.Format)
	fl := flows(pkts)
	rows := parseTruth(t, truth)

	type check struct {
		name string
		ok   func(r truthRow, p *pkt, f *flowInfo) bool
	}
	serverTTL := func(f *flowInfo) uint8 { return f.synack.ttl }
	before := func(f *flowInfo, p *pkt, want func(q *pkt) bool) bool {
		for _, q := range f.packets {
			if q.frame >= p.frame {
				return false
			}
			if want(q) {
				return true
			}
		}
		return false
	}
	after := func(f *flowInfo, p *pkt, want func(q *pkt) bool) bool {
		for _, q := range f.packets {
			if q.frame > p.frame && want(q) {
				return true
			}
		}
		return false
	}
	// gapBefore is the idle time before the client packet the RST answers.
	gapBefore := func(f *flowInfo, p *pkt) time.Duration {
		var prev, trig *pkt
		for _, q := range f.packets {
			if q.frame >= p.frame {
				break
			}
			prev, trig = trig, q
		}
		if prev == nil || trig == nil {
			return 0
		}
		return trig.ts.Sub(prev.ts)
	}
	checks := map[string][]check{
		"refused": {
			{"RST+ACK with ack = ISN+1", func(r truthRow, p *pkt, f *flowInfo) bool {
				return p.is(flagRST|flagACK) && f.syn != nil && p.ack == f.syn.seq+1
			}},
			{"no SYN-ACK", func(r truthRow, p *pkt, f *flowInfo) bool { return f.synack == nil }},
		},
		"firewall_reject": {
			{"netfilter shape: ID 0, DF, window 0, no options", func(r truthRow, p *pkt, f *flowInfo) bool {
				return (p.v6 || (p.id == 0 && p.df)) && p.win == 0 && p.opts == 0
			}},
			{"ack = ISN+1", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ack == f.syn.seq+1 }},
		},
		"server_abort": {
			{"server TTL", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl == serverTTL(f) }},
			{"seq = server's snd.nxt", func(r truthRow, p *pkt, f *flowInfo) bool {
				return p.is(flagACK) && p.seq == f.nextSeq(p.src, p.frame)
			}},
		},
		"client_abort": {
			{"client TTL 64", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl == 64 && p.src == f.client }},
			{"seq = client's snd.nxt", func(r truthRow, p *pkt, f *flowInfo) bool { return p.seq == f.nextSeq(p.src, p.frame) }},
		},
		"keepalive_reuse": {
			{"server TTL", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl == serverTTL(f) }},
			{"after the server's FIN", func(r truthRow, p *pkt, f *flowInfo) bool {
				return before(f, p, func(q *pkt) bool { return q.is(flagFIN) && q.src != f.client })
			}},
		},
		"idle_timeout": {
			{"nearer than the server", func(r truthRow, p *pkt, f *flowInfo) bool { return hops(p.ttl) < hops(serverTTL(f)) }},
			{"after an idle gap of at least 60 s", func(r truthRow, p *pkt, f *flowInfo) bool { return gapBefore(f, p) >= 60*time.Second }},
		},
		"injected": {
			{"TTL differs from the server's", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl != serverTTL(f) }},
			{"the real server's data follows", func(r truthRow, p *pkt, f *flowInfo) bool {
				return after(f, p, func(q *pkt) bool { return q.src != f.client && !q.is(flagRST) && len(q.payload) > 0 })
			}},
		},
		"tls_reject": {
			{"server TTL", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl == serverTTL(f) }},
			{"answers a ClientHello", func(r truthRow, p *pkt, f *flowInfo) bool {
				return before(f, p, func(q *pkt) bool { return len(q.payload) > 5 && q.payload[0] == 0x16 && q.payload[5] == 1 })
			}},
		},
		"backlog_overflow": {
			{"seq = ISN+1 without ACK", func(r truthRow, p *pkt, f *flowInfo) bool {
				return !p.is(flagACK) && p.seq == f.synack.seq+1
			}},
		},
		"stale_connection": {
			{"server TTL", func(r truthRow, p *pkt, f *flowInfo) bool { return p.ttl == serverTTL(f) }},
			{"after an idle gap of at least 20 s", func(r truthRow, p *pkt, f *flowInfo) bool { return gapBefore(f, p) >= 20*time.Second }},
		},
		"late_segment": {
			{"an earlier RST in the connection", func(r truthRow, p *pkt, f *flowInfo) bool {
				return before(f, p, func(q *pkt) bool { return q.is(flagRST) })
			}},
			{"seq = the answered segment's ack", func(r truthRow, p *pkt, f *flowInfo) bool {
				return before(f, p, func(q *pkt) bool { return q.src != p.src && q.ack == p.seq })
			}},
		},
	}
	seen := map[string]int{}
	gfw := map[int][]*pkt{}
	for _, r := range rows {
		p := &pkts[r.frame-1]
		f := fl[p.flow]
		from := "server"
		if p.src == f.client {
			from = "client"
		}
		if from != r.from {
			t.Errorf("frame %d: truth says from %s, the packet is from the %s", r.frame, r.from, from)
		}
		switch r.origin {
		case "server":
			if f.synack != nil && p.ttl != serverTTL(f) {
				t.Errorf("frame %d (%s): origin server but TTL %d, server's %d", r.frame, r.kind, p.ttl, serverTTL(f))
			}
		case "client":
			if p.ttl != 64 {
				t.Errorf("frame %d (%s): origin client but TTL %d", r.frame, r.kind, p.ttl)
			}
		}
		if r.kind == "gfw" && r.cause == "injected" {
			gfw[r.conn] = append(gfw[r.conn], p)
		}
		seen[r.cause]++
		for _, c := range checks[r.cause] {
			if !c.ok(r, p, f) {
				t.Errorf("frame %d (%s, %s): not %s", r.frame, r.kind, r.cause, c.name)
			}
		}
	}
	for cause := range checks {
		if seen[cause] == 0 {
			t.Errorf("no RST with cause %s to check", cause)
		}
	}
	if len(gfw) == 0 {
		t.Fatal("no GFW burst")
	}
	for conn, ps := range gfw {
		if len(ps) != 4 {
			t.Errorf("conn %d: GFW burst of %d RSTs, want 4", conn, len(ps))
			continue
		}
		x := ps[0].seq
		if ps[0].is(flagACK) || !ps[1].is(flagACK) || ps[1].seq != x || ps[2].seq != x+1460 || ps[3].seq != x+4380 {
			t.Errorf("conn %d: GFW burst %s, want R x, R. x, R. x+1460, R. x+4380", conn, burst(ps))
		}
	}
}

func burst(ps []*pkt) string {
	var s []string
	for _, p := range ps {
		f := "R"
		if p.is(flagACK) {
			f = "R."
		}
		s = append(s, f+" "+strconv.FormatUint(uint64(p.seq-ps[0].seq), 10))
	}
	return strings.Join(s, ", ")
}

// TestConcurrency counts, from the packets, connections open at once (from
// their first to their last packet).
func TestConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
	}{
		{"ten", 10},
		{"two hundred", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Packets = 40_000 // enough for each slot to turn over a few times
			cfg.Concurrency = tc.concurrency
			data, _, st := generate(t, cfg)
			pkts := decodeAll(t, data, cfg.Format)
			last := map[string]int{}
			for _, p := range pkts {
				last[p.flow] = p.frame
			}
			open, most := map[string]bool{}, 0
			for _, p := range pkts {
				open[p.flow] = true
				most = max(most, len(open))
				if last[p.flow] == p.frame {
					delete(open, p.flow)
				}
			}
			if most > tc.concurrency || most < tc.concurrency*9/10 {
				t.Errorf("max open connections = %d, want about %d (at most)", most, tc.concurrency)
			}
			// The generator counts a connection cut by the end of the
			// capture as open to the end, so its count can only be higher.
			if st.MaxOpen < most || st.MaxOpen > tc.concurrency {
				t.Errorf("stats say max %d open, the packets %d, the flag %d", st.MaxOpen, most, tc.concurrency)
			}
		})
	}
}

// TestTshark has Wireshark's dissectors read the capture: the same RST
// frames as the truth, and nothing malformed or in error (checksums
// checked).
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	for _, tc := range []struct {
		name   string
		format Format
	}{
		{"pcap", FormatPcap},
		{"pcapng", FormatPcapNG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Packets = 20_000
			cfg.Format = tc.format
			data, truth, _ := generate(t, cfg)
			file := filepath.Join(t.TempDir(), "gen.pcap")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, r := range parseTruth(t, truth) {
				want = append(want, strconv.Itoa(r.frame))
			}
			got := tshark(t, file, "tcp.flags.reset==1")
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("tshark finds %d RSTs, the truth lists %d", len(got), len(want))
			}
			if bad := tshark(t, file, "_ws.malformed || _ws.expert.severity == error"); len(bad) > 0 {
				t.Errorf("tshark reports %d malformed or erroneous frames, first %s", len(bad), bad[0])
			}
		})
	}
}

// tshark returns the frame numbers that match filter, with IP and TCP
// checksum validation on.
func tshark(t *testing.T, file, filter string) []string {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", filter, "-T", "fields", "-e", "frame.number")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -Y %q: %v: %s", filter, err, stderr.String())
	}
	return strings.Fields(string(out))
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
	}{
		{"no packets", func(c *Config) { c.Packets = 0 }},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }},
		{"more connections than 5-tuples", func(c *Config) { c.Concurrency = maxConcurrency + 1 }},
		{"ipv6 above 1", func(c *Config) { c.IPv6 = 1.5 }},
		{"negative resets", func(c *Config) { c.Resets = -0.1 }},
		{"short span", func(c *Config) { c.Span = time.Millisecond }},
		{"mix of zeros", func(c *Config) { c.Mix = Mix{KindGFW: 0} }},
		{"unknown format", func(c *Config) { c.Format = 9 }},
		{"snaplen below the longest header", func(c *Config) { c.Snaplen = MinSnaplen - 1 }},
		{"snaplen of one byte", func(c *Config) { c.Snaplen = 1 }},
		{"negative snaplen", func(c *Config) { c.Snaplen = -1 }},
		{"snaplen above libpcap's maximum", func(c *Config) { c.Snaplen = maxSnaplen + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.modify(&cfg)
			var buf bytes.Buffer
			_, err := Generate(context.Background(), &buf, nil, cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Generate = %v, want ErrConfig", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func TestSnaplenErrorNamesMinimum(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Snaplen = 64
	_, err := Generate(context.Background(), io.Discard, nil, cfg)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "at least "+strconv.Itoa(MinSnaplen)+" bytes") {
		t.Fatalf("Generate with snaplen 64 = %v, want ErrConfig naming the minimum %d bytes", err, MinSnaplen)
	}
}

// record is one record of a capture file as pcapgo reads it.
type record struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// readRecords reads every record of a pcap or pcapng capture of Ethernet
// frames with pcapgo, and the snap length its file header (or pcapng
// interface) declares.
func readRecords(t *testing.T, data []byte, format Format) (snaplen int, recs []record) {
	t.Helper()
	var src gopacket.PacketDataSource
	if format == FormatPcapNG {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("open pcapng: %v", err)
		}
		// The interface block is read with the first packet.
		raw, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("first pcapng record: %v", err)
		}
		recs = append(recs, record{ci, bytes.Clone(raw)})
		intf, err := r.Interface(0)
		if err != nil {
			t.Fatalf("pcapng interface 0: %v", err)
		}
		if intf.LinkType != layers.LinkTypeEthernet {
			t.Fatalf("link type = %v, want Ethernet", intf.LinkType)
		}
		snaplen, src = int(intf.SnapLength), r
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("open pcap: %v", err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			t.Fatalf("link type = %v, want Ethernet", r.LinkType())
		}
		snaplen, src = int(r.Snaplen()), r
	}
	for {
		raw, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return snaplen, recs
		}
		if err != nil {
			t.Fatalf("record %d: %v", len(recs)+1, err)
		}
		recs = append(recs, record{ci, bytes.Clone(raw)})
	}
}

// TestSnaplen checks that Snaplen only cuts: the same Config with and
// without it writes the same frames, in the same order, with the same
// timestamps and original lengths, the cut ones keeping their first Snaplen
// bytes, and the file header declaring the snap length.
func TestSnaplen(t *testing.T) {
	for _, format := range []Format{FormatPcap, FormatPcapNG} {
		cfg := testConfig()
		cfg.Packets = 4000
		cfg.Concurrency = 200
		cfg.Format = format
		whole, wholeTruth, wholeSt := generate(t, cfg)
		wantSnap, full := readRecords(t, whole, format)
		if wantSnap != maxSnaplen {
			t.Errorf("format %d, snaplen 0: header snap length %d, want %d", format, wantSnap, maxSnaplen)
		}
		if len(full) != cfg.Packets {
			t.Fatalf("format %d, snaplen 0: %d records, want %d", format, len(full), cfg.Packets)
		}
		var fullBytes int64
		for _, r := range full {
			if r.ci.CaptureLength != r.ci.Length || len(r.data) != r.ci.Length {
				t.Fatalf("format %d, snaplen 0: record with captured %d, length %d, %d data bytes: want whole frames",
					format, r.ci.CaptureLength, r.ci.Length, len(r.data))
			}
			fullBytes += int64(r.ci.Length)
		}
		if wholeSt.Bytes != fullBytes {
			t.Errorf("format %d, snaplen 0: Stats.Bytes = %d, records hold %d", format, wholeSt.Bytes, fullBytes)
		}

		for _, snap := range []int{MinSnaplen, 128, 200, 1500} {
			cfg.Snaplen = snap
			cut, cutTruth, cutSt := generate(t, cfg)
			gotSnap, recs := readRecords(t, cut, format)
			if gotSnap != snap {
				t.Errorf("format %d, snaplen %d: header snap length %d", format, snap, gotSnap)
			}
			if len(recs) != len(full) {
				t.Fatalf("format %d, snaplen %d: %d records, want %d as without snaplen", format, snap, len(recs), len(full))
			}
			var capBytes int64
			nCut, nWhole := 0, 0
			for i, r := range recs {
				f := full[i]
				switch {
				case r.ci.CaptureLength > snap:
					t.Fatalf("format %d, snaplen %d, record %d: captured %d bytes", format, snap, i+1, r.ci.CaptureLength)
				case r.ci.Length < r.ci.CaptureLength:
					t.Fatalf("format %d, snaplen %d, record %d: length %d < captured %d", format, snap, i+1, r.ci.Length, r.ci.CaptureLength)
				case r.ci.Length != f.ci.Length:
					t.Fatalf("format %d, snaplen %d, record %d: length %d, %d without snaplen", format, snap, i+1, r.ci.Length, f.ci.Length)
				case r.ci.CaptureLength != min(f.ci.Length, snap):
					t.Fatalf("format %d, snaplen %d, record %d: captured %d of a %d-byte frame, want %d",
						format, snap, i+1, r.ci.CaptureLength, f.ci.Length, min(f.ci.Length, snap))
				case len(r.data) != r.ci.CaptureLength:
					t.Fatalf("format %d, snaplen %d, record %d: %d data bytes, captured length %d", format, snap, i+1, len(r.data), r.ci.CaptureLength)
				case !bytes.Equal(r.data, f.data[:r.ci.CaptureLength]):
					t.Fatalf("format %d, snaplen %d, record %d: bytes differ from the first %d of the whole frame", format, snap, i+1, r.ci.CaptureLength)
				case !r.ci.Timestamp.Equal(f.ci.Timestamp):
					t.Fatalf("format %d, snaplen %d, record %d: time %v, %v without snaplen", format, snap, i+1, r.ci.Timestamp, f.ci.Timestamp)
				}
				if f.ci.Length > snap {
					nCut++
				} else {
					nWhole++
				}
				capBytes += int64(r.ci.CaptureLength)
			}
			// The capture has frames both above and below 128 and 200
			// bytes, so those runs check both branches; MinSnaplen cuts
			// nearly everything but pure ACKs, 1500 almost nothing.
			if snap == 128 || snap == 200 {
				if nCut == 0 || nWhole == 0 {
					t.Errorf("format %d, snaplen %d: %d frames cut, %d whole; want some of each", format, snap, nCut, nWhole)
				}
			}
			if cutSt.Bytes != capBytes {
				t.Errorf("format %d, snaplen %d: Stats.Bytes = %d, records capture %d bytes", format, snap, cutSt.Bytes, capBytes)
			}
			if cutSt.Packets != wholeSt.Packets || cutSt.RSTs != wholeSt.RSTs || cutSt.Connections != wholeSt.Connections ||
				cutSt.MaxOpen != wholeSt.MaxOpen || cutSt.Duration != wholeSt.Duration {
				t.Errorf("format %d, snaplen %d: stats %+v, without snaplen %+v (only Bytes may differ)", format, snap, cutSt, wholeSt)
			}
			if !bytes.Equal(cutTruth, wholeTruth) {
				t.Errorf("format %d, snaplen %d: truth differs from the capture without snaplen", format, snap)
			}
		}
	}
}

// TestMinSnaplenIsLongestHeader checks MinSnaplen against the frames: no
// frame's Ethernet + IP + TCP header (options included) is longer, and some
// frame's is exactly that long, so MinSnaplen is the bound frame.go needs.
// At Snaplen = MinSnaplen every frame still decodes up to its TCP header.
func TestMinSnaplenIsLongestHeader(t *testing.T) {
	cfg := testConfig()
	cfg.Packets = 4000
	cfg.Concurrency = 200
	cfg.IPv6 = 0.5
	headers := func(data []byte) int {
		ip := 20
		if binary.BigEndian.Uint16(data[12:]) == 0x86dd {
			ip = 40
		}
		return 14 + ip + int(data[14+ip+12]>>4)*4
	}
	whole, _, _ := generate(t, cfg)
	_, full := readRecords(t, whole, cfg.Format)
	longest := 0
	for i, r := range full {
		h := headers(r.data)
		if h > MinSnaplen {
			t.Fatalf("record %d: headers are %d bytes, more than MinSnaplen %d", i+1, h, MinSnaplen)
		}
		longest = max(longest, h)
	}
	if longest != MinSnaplen {
		t.Errorf("longest header is %d bytes, MinSnaplen %d", longest, MinSnaplen)
	}

	cfg.Snaplen = MinSnaplen
	cut, _, _ := generate(t, cfg)
	_, recs := readRecords(t, cut, cfg.Format)
	for i, r := range recs {
		if h := headers(r.data); h > r.ci.CaptureLength {
			t.Fatalf("record %d: %d-byte headers, %d bytes captured", i+1, h, r.ci.CaptureLength)
		}
		p := gopacket.NewPacket(r.data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("record %d: no TCP layer in the first %d bytes: %v", i+1, MinSnaplen, p)
		}
		if want := full[i].data[headers(full[i].data)-len(tcp.Contents):]; !bytes.Equal(tcp.Contents, want[:len(tcp.Contents)]) {
			t.Fatalf("record %d: TCP header differs from the whole frame's", i+1)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Mix
		wantErr bool
	}{
		{"empty is nil", "", nil, false},
		{"two kinds", "refused=2, gfw=0.5", Mix{KindRefused: 2, KindGFW: 0.5}, false},
		{"unknown kind", "teleport=1", nil, true},
		{"normal is not a reset", "normal=1", nil, true},
		{"no weight", "refused", nil, true},
		{"negative weight", "refused=-1", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMix(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseMix(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseMix(%q) = %v, want %v", tc.in, got, tc.want)
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("ParseMix(%q)[%s] = %v, want %v", tc.in, k, got[k], w)
				}
			}
		})
	}
}

// TestMixOnlyListedKinds checks that a mix limits resets to its kinds.
func TestMixOnlyListedKinds(t *testing.T) {
	cfg := testConfig()
	cfg.Packets = 10_000
	cfg.Mix = Mix{KindRefused: 1, KindTLSReject: 1}
	_, _, st := generate(t, cfg)
	for k, n := range st.RSTsByKind {
		if k != KindRefused && k != KindTLSReject {
			t.Errorf("%d RSTs of kind %s, which the mix leaves out", n, k)
		}
	}
	if st.RSTsByKind[KindRefused] == 0 || st.RSTsByKind[KindTLSReject] == 0 {
		t.Errorf("RSTs by kind = %v, want both refused and tls_reject", st.RSTsByKind)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := testConfig()
	cfg.Packets = 1 << 20
	_, err := Generate(ctx, io.Discard, nil, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate = %v, want context.Canceled", err)
	}
}

// BenchmarkGenerate writes 100k packets per op of the default benchmark
// shape (concurrency scaled down with the packet count).
func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Packets = 100_000
	cfg.Concurrency = 1_000
	b.ReportAllocs()
	var bytes int64
	for b.Loop() {
		st, err := Generate(context.Background(), io.Discard, nil, cfg)
		if err != nil {
			b.Fatal(err)
		}
		bytes = st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(cfg.Packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
