package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ipv6Ext is hop-by-hop (PadN), routing (type 253, experimental), destination
// options (PadN) and an atomic fragment header, chained to TCP.
func ipv6Ext(fragOffset uint16) []byte {
	frag := make([]byte, 8)
	frag[0] = byte(layers.IPProtocolTCP)
	binary.BigEndian.PutUint16(frag[2:], fragOffset<<3)
	binary.BigEndian.PutUint32(frag[4:], 0xfeed)
	return cat(
		[]byte{byte(layers.IPProtocolIPv6Routing), 0, 1, 4, 0, 0, 0, 0},
		[]byte{byte(layers.IPProtocolIPv6Destination), 0, 253, 0, 0, 0, 0, 0},
		[]byte{byte(layers.IPProtocolIPv6Fragment), 0, 1, 4, 0, 0, 0, 0},
		frag,
	)
}

func TestDecodeLinkTypes(t *testing.T) {
	v4 := v4Get(t)
	v6 := v6Syn(t)
	a4 := netip.MustParseAddr("192.0.2.1")
	b4 := netip.MustParseAddr("198.51.100.7")
	a6 := netip.MustParseAddr("2001:db8::a")
	b6 := netip.MustParseAddr("2001:db8::b")

	// want4 and want6 are the fields of v4 and v6 as built above.
	want4 := Packet{Src: a4, Dst: b4, SrcPort: 40000, DstPort: 80, TTL: 61, IPID: 0x1234, HasIPID: true, DF: true,
		Flags: ACK | PSH, Seq: 1000, Ack: 2000, Window: 512, PayloadLen: len(httpGet), HeadN: len(httpGet)}
	want6 := Packet{Src: a6, Dst: b6, SrcPort: 40000, DstPort: 80, TTL: 57,
		Flags: SYN, Seq: 1000, Ack: 2000, Window: 512, Options: synOptKinds}

	// IPv6 with four extension headers before TCP.
	ext6 := func(fragOffset uint16) []byte {
		ip := ip6(layers.IPProtocolIPv6HopByHop)
		tcp := tcpSeg(ip, false, true, false, nil)
		tcp.PSH = true
		return serialize(t, ip, gopacket.Payload(ipv6Ext(fragOffset)), tcp, gopacket.Payload(httpGet))
	}
	wantExt := Packet{Src: a6, Dst: b6, SrcPort: 40000, DstPort: 80, TTL: 57,
		Flags: ACK | PSH, Seq: 1000, Ack: 2000, Window: 512, PayloadLen: len(httpGet), HeadN: len(httpGet)}

	// VXLAN: outer Ethernet/IPv4/UDP 4789 around the whole Ethernet frame.
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: 51000, DstPort: 4789}
	udp.SetNetworkLayerForChecksum(outer)
	vxlan := serialize(t, eth(layers.EthernetTypeIPv4), outer, udp,
		&layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(cat(ethHdr(layers.EthernetTypeIPv4), v4)))

	// A UDP datagram and an ARP request: no TCP.
	udpOnly := func() []byte {
		ip := ip4(layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 5353, DstPort: 53}
		u.SetNetworkLayerForChecksum(ip)
		return serialize(t, eth(layers.EthernetTypeIPv4), ip, u, gopacket.Payload("q"))
	}()
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet,
		Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
		SourceHwAddress: macA, SourceProtAddress: v4A, DstHwAddress: make([]byte, 6), DstProtAddress: v4B})

	// IPv4 fragments: the first carries the TCP header, a later one not.
	frag := func(offset uint16, more bool) []byte {
		b := append([]byte(nil), v4...)
		f := offset & 0x1fff
		if more {
			f |= 0x2000
		}
		binary.BigEndian.PutUint16(b[6:], f)
		return b
	}
	wantFirstFrag := want4
	wantFirstFrag.DF = false

	// Reserved TCP flag bits set (byte 12, bits 0x0e), as the injector in
	// zeek/tcp_rst-inject-rae.pcap does.
	reserved := append([]byte(nil), v4...)
	reserved[20+12] |= 0x0e
	wantReserved := want4
	wantReserved.Flags |= ReservedMask

	// Segmentation offload: IPv4 total length 0, payload as captured.
	tso := append([]byte(nil), v4...)
	tso[2], tso[3] = 0, 0

	// Ethernet pads a bare RST to 60 bytes; the padding is no payload.
	rst := func() []byte {
		ip := ip4(layers.IPProtocolTCP)
		f := serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, false, true, true, nil))
		return append(f, make([]byte, 60-len(f))...)
	}()
	wantRst := want4
	wantRst.Flags, wantRst.PayloadLen, wantRst.HeadN = RST|ACK, 0, 0

	// A long payload cut by the snap length: PayloadLen stays the real one.
	long := func() []byte {
		ip := ip4(layers.IPProtocolTCP)
		tcp := tcpSeg(ip, false, true, false, nil)
		tcp.PSH = true
		return serialize(t, eth(layers.EthernetTypeIPv4), ip, tcp, gopacket.Payload(make([]byte, 1400)))
	}()
	wantLong := want4
	wantLong.PayloadLen, wantLong.HeadN = 1400, 10
	wantLongFull := wantLong
	wantLongFull.HeadN = HeadLen

	// SYN with options cut after 6 of its 20 option bytes: MSS and SACK
	// permitted survive.
	synv4 := func() []byte {
		ip := ip4(layers.IPProtocolTCP)
		return serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, true, false, false, synOpts))
	}()
	wantSynCut := want4
	wantSynCut.Flags, wantSynCut.PayloadLen, wantSynCut.HeadN, wantSynCut.Options = SYN, 0, 0, 1<<2|1<<4

	// FDDI: frame control, destination, source, then LLC/SNAP with the
	// IPv4 EtherType.
	fddi := cat([]byte{0x50}, macB, macA, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, v4)

	// MPLS: two labels, the second with bottom of stack set.
	mpls := cat(ethHdr(layers.EthernetTypeMPLSUnicast),
		[]byte{0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40}, v4)

	le := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	be := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

	tests := []struct {
		name  string
		lt    layers.LinkType
		frame []byte
		want  decodeResult
		pkt   Packet
	}{
		{"ethernet ipv4", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv4), v4), resultTCP, want4},
		{"ethernet ipv6 syn options", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv6), v6), resultTCP, want6},
		{"802.1Q", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeDot1Q),
			vlanTag(10, layers.EthernetTypeIPv4), v4), resultTCP, want4},
		{"QinQ 802.1ad", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeQinQ),
			vlanTag(100, layers.EthernetTypeDot1Q), vlanTag(10, layers.EthernetTypeIPv6), v6), resultTCP, want6},
		{"QinQ 0x9100", layers.LinkTypeEthernet, cat(ethHdr(0x9100),
			vlanTag(100, layers.EthernetTypeIPv4), v4), resultTCP, want4},
		{"MPLS two labels", layers.LinkTypeEthernet, mpls, resultTCP, want4},
		{"VXLAN inner packet", layers.LinkTypeEthernet, vxlan, resultTCP, func() Packet {
			w := want4
			w.Encap, w.OuterTTL = EncapVXLAN, 64
			w.OuterSrc, w.OuterDst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
			return w
		}()},
		{"linux SLL", layers.LinkTypeLinuxSLL, cat(sllHeader(layers.EthernetTypeIPv4), v4), resultTCP, want4},
		{"linux SLL2", layers.LinkTypeLinuxSLL2, cat(sll2Header(layers.EthernetTypeIPv6, 3), v6), resultTCP, want6},
		{"null little-endian AF_INET", layers.LinkTypeNull, cat(le(2), v4), resultTCP, want4},
		{"null AF_INET6 (BSD 24)", layers.LinkTypeNull, cat(le(24), v6), resultTCP, want6},
		{"loop big-endian AF_INET6 (darwin 30)", layers.LinkTypeLoop, cat(be(30), v6), resultTCP, want6},
		{"raw 101 ipv4", layers.LinkTypeRaw, v4, resultTCP, want4},
		{"raw 101 ipv6", layers.LinkTypeRaw, v6, resultTCP, want6},
		{"raw DLT 12", 12, v6, resultTCP, want6},
		{"raw DLT 14", 14, v4, resultTCP, want4},
		{"ipv4 228", layers.LinkTypeIPv4, v4, resultTCP, want4},
		{"ipv6 229", layers.LinkTypeIPv6, v6, resultTCP, want6},
		{"ipv6 extension headers", layers.LinkTypeRaw, ext6(0), resultTCP, wantExt},
		{"ipv6 non-first fragment", layers.LinkTypeRaw, ext6(185), resultNotTCP, Packet{}},
		{"FDDI LLC/SNAP", layers.LinkTypeFDDI, fddi, resultTCP, want4},
		{"ipv4 first fragment", layers.LinkTypeRaw, frag(0, true), resultTCP, wantFirstFrag},
		{"ipv4 later fragment", layers.LinkTypeRaw, frag(185, false), resultNotTCP, Packet{}},
		{"reserved flag bits", layers.LinkTypeRaw, reserved, resultTCP, wantReserved},
		{"ipv4 total length 0 (TSO)", layers.LinkTypeRaw, tso, resultTCP, want4},
		{"ethernet padding", layers.LinkTypeEthernet, rst, resultTCP, wantRst},
		{"payload cut by snap length", layers.LinkTypeEthernet, long[:14+20+20+10], resultTCP, wantLong},
		{"head keeps HeadLen bytes", layers.LinkTypeEthernet, long, resultTCP, wantLongFull},
		{"tcp options cut by snap length", layers.LinkTypeEthernet, synv4[:14+20+20+6], resultTCP, wantSynCut},
		{"tcp fixed header cut", layers.LinkTypeEthernet, synv4[:14+20+12], resultUndecodable, Packet{}},
		{"ip says tcp, capture ends", layers.LinkTypeEthernet, synv4[:14+20], resultUndecodable, Packet{}},
		{"ipv4 header cut", layers.LinkTypeEthernet, synv4[:14+10], resultUndecodable, Packet{}},
		{"4-byte frame", layers.LinkTypeEthernet, synv4[:4], resultUndecodable, Packet{}},
		{"empty frame", layers.LinkTypeEthernet, nil, resultUndecodable, Packet{}},
		{"tcp data offset below 5", layers.LinkTypeRaw, func() []byte {
			b := append([]byte(nil), v4...)
			b[20+12] = 0x40
			return b
		}(), resultUndecodable, Packet{}},
		{"tcp data offset beyond ip length", layers.LinkTypeRaw, func() []byte {
			b := append([]byte(nil), v4[:40]...)
			binary.BigEndian.PutUint16(b[2:], 40)
			b[20+12] = 0xf0
			return b
		}(), resultUndecodable, Packet{}},
		{"udp", layers.LinkTypeEthernet, udpOnly, resultNotTCP, Packet{}},
		{"arp", layers.LinkTypeEthernet, arp, resultNotTCP, Packet{}},
		{"802.11 (unsupported link type)", layers.LinkTypeIEEE802_11, v4, resultUndecodable, Packet{}},
	}
	d := newDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			res, err := d.decode(tc.frame, tc.lt, &p)
			if res != tc.want {
				t.Fatalf("result = %d (err %v), want %d", res, err, tc.want)
			}
			if res != resultTCP {
				return
			}
			if p.HeadN > p.PayloadLen || p.HeadN > HeadLen {
				t.Errorf("HeadN %d beyond PayloadLen %d or HeadLen", p.HeadN, p.PayloadLen)
			}
			// The link's source address: macA in every Ethernet and
			// cooked frame built here, none on other links and through a
			// tunnel.
			var wantMAC [6]byte
			switch tc.lt {
			case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2:
				if p.Encap == EncapNone {
					copy(wantMAC[:], macA)
				}
			}
			if p.SrcMAC != wantMAC {
				t.Errorf("SrcMAC %x, want %x", p.SrcMAC, wantMAC)
			}
			got := p
			got.Head, got.SrcMAC = Packet{}.Head, [6]byte{}
			if got != tc.pkt {
				t.Errorf("decoded\n got %+v\nwant %+v", got, tc.pkt)
			}
			if tc.pkt.HeadN > 0 {
				var want []byte
				if tc.pkt.PayloadLen == len(httpGet) {
					want = []byte(httpGet)
				} else {
					want = make([]byte, tc.pkt.HeadN) // the long payload is zeros
				}
				if string(p.Payload()) != string(want) {
					t.Errorf("Payload() = %q, want %q", p.Payload(), want)
				}
			}
		})
	}
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{SYN, "S"},
		{SYN | ACK, "S."},
		{RST | ACK, "R."},
		{FIN | PSH | ACK, "FP."},
		{RST | ACK | NS | Reserved1 | Reserved2 | Reserved3, "RNr."},
		{0, "none"},
	}
	for _, tc := range tests {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%#x.String() = %q, want %q", uint16(tc.f), got, tc.want)
		}
	}
}

func TestOptionKinds(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
		want uint32
	}{
		{"none", nil, 0},
		{"mss", []byte{2, 4, 5, 0xb4}, 1 << 2},
		{"nop nop timestamps", []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<1 | 1<<8},
		{"end of list stops", []byte{0, 2, 4, 5, 0xb4}, 1 << 0},
		{"length below 2 stops", []byte{3, 1, 2, 4, 5, 0xb4}, 1 << 3},
		{"kind 30 (MPTCP)", []byte{30, 4, 0, 0}, 1 << 30},
		{"kind 254 (experimental) not in set", []byte{254, 4, 0, 0, 2, 4, 5, 0xb4}, 1 << 2},
		{"cut mid option", []byte{2, 4, 5}, 1 << 2},
	}
	for _, tc := range tests {
		if got := optionKinds(tc.opts); got != tc.want {
			t.Errorf("%s: optionKinds = %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// TestFastPath checks which frames take the fast path: the shapes of nearly
// every frame of a TCP capture do, and the rest go to the parser (where
// FuzzFastPath checks both agree).
func TestFastPath(t *testing.T) {
	v4, v6 := v4Get(t), v6Syn(t)
	frag := bytes.Clone(v4)
	frag[6] |= 0x20 // more fragments: the first fragment still carries TCP
	later := bytes.Clone(v4)
	later[7] = 1 // offset 8 bytes: no TCP header
	cases := []struct {
		name  string
		lt    layers.LinkType
		frame []byte
		fast  bool
	}{
		{"ethernet ipv4", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv4), v4), true},
		{"ethernet ipv6", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv6), v6), true},
		{"802.1Q ipv4", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(7, layers.EthernetTypeIPv4), v4), true},
		{"two 802.1Q tags ipv6", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(7, layers.EthernetTypeDot1Q), vlanTag(8, layers.EthernetTypeIPv6), v6), true},
		{"raw ipv4", layers.LinkTypeRaw, v4, true},
		{"raw ipv6", layers.LinkTypeRaw, v6, true},
		{"first fragment", layers.LinkTypeRaw, frag, true},
		{"802.1ad", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeQinQ), vlanTag(1, layers.EthernetTypeIPv4), v4), false},
		{"three 802.1Q tags", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(1, layers.EthernetTypeDot1Q), vlanTag(2, layers.EthernetTypeDot1Q), vlanTag(3, layers.EthernetTypeIPv4), v4), false},
		{"later fragment", layers.LinkTypeRaw, later, false},
		{"linux cooked", layers.LinkTypeLinuxSLL, cat(sllHeader(layers.EthernetTypeIPv4), v4), false},
		{"mpls", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeMPLSUnicast), []byte{0, 1, 1, 64}, v4), false},
		{"ipv6 on an ipv4 link", layers.LinkTypeIPv4, v6, false},
		{"truncated tcp", layers.LinkTypeRaw, v4[:30], false},
	}
	d := newDecoder()
	for _, tc := range cases {
		d.st = ipState{}
		if got := d.fast(tc.frame, tc.lt); got != tc.fast {
			t.Errorf("%s: fast path taken = %v, want %v", tc.name, got, tc.fast)
		}
	}
}
