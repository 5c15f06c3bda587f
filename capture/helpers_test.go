package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Test frames are built from gopacket's serializable layers, with lengths
// and checksums computed by gopacket; headers gopacket cannot serialize
// (SLL, SLL2, FDDI) are written byte by byte from their specifications.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xb}
	v4A  = net.IP{192, 0, 2, 1}
	v4B  = net.IP{198, 51, 100, 7}
	v6A  = net.ParseIP("2001:db8::a")
	v6B  = net.ParseIP("2001:db8::b")
)

const httpGet = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// synOpts are the options of a Linux SYN: MSS, SACK permitted, timestamps,
// NOP, window scale (kinds 2, 4, 8, 1, 3).
var synOpts = []layers.TCPOption{
	{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
	{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
	{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
	{OptionType: layers.TCPOptionKindNop},
	{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
}

const synOptKinds = 1<<2 | 1<<4 | 1<<8 | 1<<1 | 1<<3

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 61, Id: 0x1234, Flags: layers.IPv4DontFragment,
		Protocol: proto, SrcIP: v4A, DstIP: v4B}
}

func ip6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 57, NextHeader: next, SrcIP: v6A, DstIP: v6B}
}

// tcpSeg returns a TCP layer (with checksum context net) and its payload.
func tcpSeg(net gopacket.NetworkLayer, syn, ack, rst bool, opts []layers.TCPOption) *layers.TCP {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, Window: 512,
		SYN: syn, ACK: ack, RST: rst, Options: opts}
	if net != nil {
		tcp.SetNetworkLayerForChecksum(net)
	}
	return tcp
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

// v4Get is IPv4 + TCP (ACK|PSH) with the HTTP request as payload.
func v4Get(t testing.TB) []byte {
	ip := ip4(layers.IPProtocolTCP)
	tcp := tcpSeg(ip, false, true, false, nil)
	tcp.PSH = true
	return serialize(t, ip, tcp, gopacket.Payload(httpGet))
}

// v6Syn is IPv6 + TCP SYN with Linux options.
func v6Syn(t testing.TB) []byte {
	ip := ip6(layers.IPProtocolTCP)
	return serialize(t, ip, tcpSeg(ip, true, false, false, synOpts))
}

// rec is one record of a test capture.
type rec struct {
	data  []byte
	ts    time.Time
	orig  int // original length; 0 means len(data)
	iface int
}

// classicPcap writes a classic pcap by hand, in either byte order and
// either timestamp resolution (pcapgo.Writer writes little-endian only).
func classicPcap(order binary.ByteOrder, nanos bool, lt layers.LinkType, snaplen uint32, recs []rec) []byte {
	var b bytes.Buffer
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], snaplen)
	order.PutUint32(hdr[20:], uint32(lt))
	b.Write(hdr)
	for _, r := range recs {
		h := make([]byte, 16)
		order.PutUint32(h[0:], uint32(r.ts.Unix()))
		frac := uint32(r.ts.Nanosecond() / 1000)
		if nanos {
			frac = uint32(r.ts.Nanosecond())
		}
		order.PutUint32(h[4:], frac)
		order.PutUint32(h[8:], uint32(len(r.data)))
		orig := r.orig
		if orig == 0 {
			orig = len(r.data)
		}
		order.PutUint32(h[12:], uint32(orig))
		b.Write(h)
		b.Write(r.data)
	}
	return b.Bytes()
}

// pcapng writes a pcapng section with one interface per link type, with
// nanosecond timestamps (if_tsresol 9), using pcapgo's NgWriter.
func pcapng(t testing.TB, lts []layers.LinkType, recs []rec) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{LinkType: lts[0], SnapLength: 65535,
		TimestampResolution: 9, Name: "if0"}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, lt := range lts[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: lt, SnapLength: 65535,
			TimestampResolution: 9, Name: "if" + string(rune('1'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		orig := r.orig
		if orig == 0 {
			orig = len(r.data)
		}
		ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: orig, InterfaceIndex: r.iface}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sllHeader is a Linux cooked v1 header (LINKTYPE_LINUX_SLL): packet type,
// ARPHRD_ETHER, address length 6, address padded to 8, protocol.
func sllHeader(proto layers.EthernetType) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 4) // sent by us
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], macA)
	binary.BigEndian.PutUint16(h[14:], uint16(proto))
	return h
}

// sll2Header is a Linux cooked v2 header (LINKTYPE_LINUX_SLL2): protocol,
// reserved, interface index, ARPHRD_ETHER, packet type, address length,
// address padded to 8.
func sll2Header(proto layers.EthernetType, ifindex uint32) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], uint16(proto))
	binary.BigEndian.PutUint32(h[4:], ifindex)
	binary.BigEndian.PutUint16(h[8:], 1)
	h[10] = 0 // to us
	h[11] = 6
	copy(h[12:], macA)
	return h
}

// ethHdr is an Ethernet II header (gopacket's serializer pads a frame
// to 60 bytes, so a header alone is written by hand).
func ethHdr(t layers.EthernetType) []byte {
	return binary.BigEndian.AppendUint16(cat(macB, macA), uint16(t))
}

// vlanTag is an 802.1Q tag: priority 0, VLAN id, inner EtherType.
func vlanTag(vid uint16, inner layers.EthernetType) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, vid), uint16(inner))
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
