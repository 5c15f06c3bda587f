package capture

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// rawLinkTypes are the raw IP link types a capture file may carry:
// LINKTYPE_RAW and the two platforms' DLT_RAW.
var rawLinkTypes = []layers.LinkType{layers.LinkTypeRaw, linkTypeDLTRaw, linkTypeDLTRawOpenBSD}

// rawSeg is a raw IP frame (no link header): IPv4 or IPv6, then TCP or UDP
// between the given ports.
func rawSeg(t testing.TB, v6 bool, proto layers.IPProtocol, sport, dport uint16) []byte {
	var net gopacket.NetworkLayer
	var nl gopacket.SerializableLayer
	if v6 {
		ip := ip6(proto)
		net, nl = ip, ip
	} else {
		ip := ip4(proto)
		net, nl = ip, ip
	}
	if proto == layers.IPProtocolUDP {
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		udp.SetNetworkLayerForChecksum(net)
		return serialize(t, nl, udp, gopacket.Payload("dns?"))
	}
	tcp := tcpSeg(net, false, true, false, nil)
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(sport), layers.TCPPort(dport)
	return serialize(t, nl, tcp, gopacket.Payload(httpGet))
}

func TestDLTOf(t *testing.T) {
	dltRaw := linkTypeDLTRaw
	if runtime.GOOS == "openbsd" {
		dltRaw = linkTypeDLTRawOpenBSD
	}
	for _, tc := range []struct{ in, want layers.LinkType }{
		{layers.LinkTypeRaw, dltRaw},
		{linkTypeDLTRaw, dltRaw},
		{linkTypeDLTRawOpenBSD, dltRaw},
		{layers.LinkTypeEthernet, layers.LinkTypeEthernet},
		{layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL},
		{layers.LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL2},
		{layers.LinkTypeNull, layers.LinkTypeNull},
		{layers.LinkTypeIPv4, layers.LinkTypeIPv4},
		{layers.LinkTypeIPv6, layers.LinkTypeIPv6},
	} {
		if got := dltOf(tc.in); got != tc.want {
			t.Errorf("dltOf(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestFilterRawLinkTypes compiles "tcp" for every raw IP link type and runs
// it over raw frames: libpcap must see DLT_RAW, whatever the file said.
func TestFilterRawLinkTypes(t *testing.T) {
	frames := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"ipv4 tcp", rawSeg(t, false, layers.IPProtocolTCP, 40000, 80), true},
		{"ipv6 tcp", rawSeg(t, true, layers.IPProtocolTCP, 40000, 80), true},
		{"ipv4 udp", rawSeg(t, false, layers.IPProtocolUDP, 5353, 53), false},
		{"ipv6 udp", rawSeg(t, true, layers.IPProtocolUDP, 5353, 53), false},
	}
	for _, lt := range rawLinkTypes {
		fl := filter{expr: "tcp"}
		if _, err := fl.prog(lt); err != nil {
			t.Errorf("link type %d: %v", lt, err)
			continue
		}
		for _, fr := range frames {
			ci := gopacket.CaptureInfo{CaptureLength: len(fr.data), Length: len(fr.data)}
			got, err := fl.match(lt, ci, fr.data)
			if err != nil || got != fr.match {
				t.Errorf("link type %d, %s: match = %v, %v; want %v", lt, fr.name, got, err, fr.match)
			}
		}
	}
}

// TestFilterRawCapture reads raw IP captures, pcap and pcapng, of every raw
// link type through Options.Filter "tcp port 80": exactly the TCP segments
// to or from port 80 come out, with their frame numbers.
func TestFilterRawCapture(t *testing.T) {
	t0 := time.Unix(1.7e9, 0).UTC()
	var recs []rec
	for i, data := range [][]byte{
		rawSeg(t, false, layers.IPProtocolTCP, 40000, 80),   // 1: kept
		rawSeg(t, false, layers.IPProtocolTCP, 40000, 443),  // 2
		rawSeg(t, true, layers.IPProtocolTCP, 80, 40001),    // 3: kept
		rawSeg(t, true, layers.IPProtocolTCP, 40001, 443),   // 4
		rawSeg(t, false, layers.IPProtocolUDP, 5353, 80),    // 5: UDP
		rawSeg(t, false, layers.IPProtocolTCP, 8080, 40002), // 6
	} {
		recs = append(recs, rec{data: data, ts: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	for _, lt := range rawLinkTypes {
		for _, format := range []string{"pcap", "pcapng"} {
			t.Run(fmt.Sprintf("%s link type %d", format, lt), func(t *testing.T) {
				var data []byte
				if format == "pcap" {
					data = pcapgoClassic(t, lt, recs)
				} else {
					data = pcapng(t, []layers.LinkType{lt}, recs)
				}
				src, err := NewReader(bytes.NewReader(data), "raw."+format, Options{Filter: "tcp port 80"})
				if err != nil {
					t.Fatal(err)
				}
				var frames []uint64
				for {
					var p Packet
					err := src.Next(&p)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if p.SrcPort != 80 && p.DstPort != 80 {
						t.Errorf("frame %d (%v -> %v) passed the filter", p.Frame, p.SrcAddrPort(), p.DstAddrPort())
					}
					frames = append(frames, p.Frame)
				}
				if want := []uint64{1, 3}; !slices.Equal(frames, want) {
					t.Errorf("frames %v, want %v", frames, want)
				}
				if st := src.Stats(); st.Frames != 6 || st.Filtered != 4 || st.TCP != 2 {
					t.Errorf("stats %+v, want 6 frames, 4 filtered, 2 TCP", st)
				}
			})
		}
	}
}

// pcapgoClassic writes a little-endian microsecond pcap with pcapgo's Writer.
func pcapgoClassic(t testing.TB, lt layers.LinkType, recs []rec) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: len(r.data)}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
