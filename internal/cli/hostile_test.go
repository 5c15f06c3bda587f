package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/report"
)

// hostileCapture writes a capture of one HTTP connection whose request path
// and Host header carry terminal escapes (ESC[2J, OSC 52 ended by BEL), NUL,
// invalid UTF-8, U+202E and a CR (which ends the request line), reset by
// the server.
func hostileCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cl, sv := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	req := "GET /\x1b[2J\x1b]52;c;aGVsbG8=\x07\x00\xff\xfe\u202eevil\rx HTTP/1.1\r\nHost: h\x1b[31m\r\n\r\n"
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type seg struct {
		fromClient     bool
		syn, ack, rst  bool
		seq, ackNo     uint32
		payload        string
		afterMillisecs int
	}
	segs := []seg{
		{true, true, false, false, 100, 0, "", 0},
		{false, true, true, false, 500, 101, "", 1},
		{true, false, true, false, 101, 501, "", 2},
		{true, false, true, false, 101, 501, req, 3},
		{false, false, true, true, 501, 101 + uint32(len(req)), "", 4},
	}
	for _, s := range segs {
		src, dst, sport, dport := cl, sv, layers.TCPPort(40000), layers.TCPPort(80)
		if !s.fromClient {
			src, dst, sport, dport = sv, cl, dport, sport
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: sport, DstPort: dport, Seq: s.seq, Ack: s.ackNo, SYN: s.syn, ACK: s.ack, RST: s.rst,
			PSH: s.payload != "", Window: 64240}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(s.payload)); err != nil {
			t.Fatal(err)
		}
		ts := t0.Add(time.Duration(s.afterMillisecs) * time.Millisecond)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestReadHostileRequest: a request that carries terminal escapes, NUL,
// CR, invalid UTF-8 and U+202E reaches no format raw: every output is valid
// UTF-8 with no control byte but newlines, the text formats show the
// escapes as \x1b, and JSON keeps the text with its escapes.
func TestReadHostileRequest(t *testing.T) {
	path := hostileCapture(t)
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			code, out, errs := run(t, nil, "read", "-o", format, "-v", "--width", "400", path)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !utf8.ValidString(out) {
				t.Error("output is not valid UTF-8")
			}
			for i := 0; i < len(out); i++ {
				if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
					t.Fatalf("control byte %#x in %q", c, out[max(i-20, 0):min(i+20, len(out))])
				}
			}
			if format == "json" {
				var v struct{ Request string }
				if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &v); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(v.Request, "/\x1b[2J\x1b]52;c;aGVsbG8=\x07\x00\uFFFD\uFFFD\u202eevil") {
					t.Errorf("JSON request %q: want the path with invalid bytes replaced", v.Request)
				}
				return
			}
			if strings.Contains(out, "\u202e") || !strings.Contains(out, `x1b[2J`) || !strings.Contains(out, `u202e`) {
				t.Errorf("output %q: want the escapes shown as text", out)
			}
		})
	}
}
