package rstanalysis

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/capture"
)

// steadyCapture returns a classic pcap, in memory, of conns connections
// exchanging data (handshake, then requests and responses, no RST), n
// packets in all.
func steadyCapture(tb testing.TB, conns, n int) []byte {
	tb.Helper()
	cs := make([]*conv, conns)
	for i := range cs {
		cs[i] = newConv(uint16(40000 + i))
		cs[i].rtt = time.Millisecond
		cs[i].handshake()
	}
	for i := 0; len(cs[0].pkts)*conns < n; i++ {
		for _, c := range cs {
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
			c.after(time.Millisecond).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
		}
	}
	return pcapOf(tb, merge(cs...))
}

// churnCapture returns a classic pcap, in memory, of short connections
// (handshake, request, response, both FINs, the last ACK, no RST), conns
// at a time, a new one every 5 ms of capture time for span: connections
// are made, promoted from half-open, closed, compacted and expired all
// along.
func churnCapture(tb testing.TB, span time.Duration) []byte {
	tb.Helper()
	var cs []*conv
	for i := 0; time.Duration(i)*5*time.Millisecond < span; i++ {
		c := newConv(uint16(1024 + i%60000))
		c.now = time.Duration(i) * 5 * time.Millisecond
		c.handshake().request()
		c.after(time.Millisecond).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		c.after(time.Millisecond).cli(capture.FIN|capture.ACK, "")
		c.after(c.rtt).srv(capture.FIN|capture.ACK, "")
		c.after(time.Millisecond).cli(capture.ACK, "")
		cs = append(cs, c)
	}
	return pcapOf(tb, merge(cs...))
}

// pcapOf writes pkts as an Ethernet classic pcap.
func pcapOf(tb testing.TB, pkts []capture.Packet) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	sb := gopacket.NewSerializeBuffer()
	for _, p := range pkts {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: p.TTL, Id: p.IPID, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
			SrcIP: p.Src.AsSlice(), DstIP: p.Dst.AsSlice()}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.SrcPort), DstPort: layers.TCPPort(p.DstPort), Seq: p.Seq, Ack: p.Ack,
			SYN: p.Flags&capture.SYN != 0, ACK: p.Flags&capture.ACK != 0, PSH: p.Flags&capture.PSH != 0,
			FIN: p.Flags&capture.FIN != 0, RST: p.Flags&capture.RST != 0, Window: p.Window}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(p.Payload())); err != nil {
			tb.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}
		if err := w.WritePacket(ci, sb.Bytes()); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestPerPacketAllocs: once the connection table has grown to its working
// size, decoding a frame and updating its connection allocate nothing:
// with the same connections exchanging data, and with connections made,
// promoted from half-open records, closed, compacted and expired all along
// (after 20 s of capture time, twice ClosedTimeout).
func TestPerPacketAllocs(t *testing.T) {
	for _, c := range []struct {
		name   string
		data   []byte
		warmup int
	}{
		{"steady", steadyCapture(t, 50, 6000), 1000},
		{"churn", churnCapture(t, 30*time.Second), 20 * 200 * 9},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := capture.NewReader(bytes.NewReader(c.data), c.name, capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			an := New(Config{}, func(*Verdict) { t.Error("no RST in this capture") })
			var p capture.Packet
			step := func() {
				if err := src.Next(&p); err != nil {
					t.Fatalf("capture ran out: %v", err)
				}
				an.Packet(&p)
			}
			for range c.warmup { // every record made, buffers grown
				step()
			}
			if allocs := testing.AllocsPerRun(4000, step); allocs != 0 {
				t.Errorf("%v allocations per packet in steady state, want 0", allocs)
			}
		})
	}
}

// BenchmarkPipeline measures decode + connection update + analysis per
// packet over an in-memory capture.
func BenchmarkPipeline(b *testing.B) {
	data := steadyCapture(b, 200, 100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for b.Loop() {
		src, err := capture.NewReader(bytes.NewReader(data), "steady", capture.Options{})
		if err != nil {
			b.Fatal(err)
		}
		an := New(Config{}, func(*Verdict) {})
		var p capture.Packet
		for src.Next(&p) == nil {
			an.Packet(&p)
			packets++
		}
		an.Flush()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkAttribution measures the work per RST: 1,000 connections, each
// with a handshake and a request, then a RST judged and emitted, with the
// verdicts' Findings and Ladders their own or lent (Config.Lend).
func BenchmarkAttribution(b *testing.B) {
	pkts := attributionPackets()
	for _, lend := range []bool{false, true} {
		b.Run(fmt.Sprintf("lend=%v", lend), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				a := New(Config{Lend: lend}, func(*Verdict) { n++ })
				for i := range pkts {
					a.Packet(&pkts[i])
				}
				a.Flush()
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "RSTs/s")
		})
	}
}

// attributionPackets returns 1,000 connections, 1 ms apart, each a
// handshake and a request that the server resets 5 ms later.
func attributionPackets() []capture.Packet {
	var cs []*conv
	for i := range 1000 {
		c := newConv(uint16(20000 + i)).after(time.Duration(i) * time.Millisecond)
		c.handshake().request()
		c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
		cs = append(cs, c)
	}
	return merge(cs...)
}

// TestPendingSize: a verdict in the making fits the 768-byte allocation
// size class, as its layout intends; a field added past it costs the next
// class, 896 bytes, for every RST that cannot reuse a record.
func TestPendingSize(t *testing.T) {
	if n := unsafe.Sizeof(pending{}); n > 768 {
		t.Errorf("pending is %d bytes, want at most 768", n)
	}
}
