package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decodeResult says what a frame turned out to be.
type decodeResult uint8

const (
	resultTCP         decodeResult = iota // p holds a TCP segment
	resultNotTCP                          // the frame holds no TCP segment
	resultUndecodable                     // a header was truncated or malformed, or the link type is unknown
)

// decoder turns raw frames into Packets. It owns one DecodingLayerParser per
// first layer and one instance of every layer, all allocated once: decoding
// a frame allocates nothing unless a gopacket layer reports an error.
type decoder struct {
	st ipState

	eth  etherLayer
	dot  dot1qLayer
	sll  layers.LinuxSLL
	sll2 layers.LinuxSLL2
	loop layers.Loopback
	fddi fddiLayer
	mpls mplsLayer
	ip4  ipv4Layer
	ip6  ipv6Layer
	udp  udpLayer
	vx   vxlanLayer
	gen  geneveLayer
	gre  greLayer
	ers  layers.ERSPANII
	poe  pppoeLayer
	ppp  pppLayer
	llc  layers.LLC
	snap snapLayer
	tcp  tcpLayer

	// parsers by first layer.
	pEth, pSLL, pSLL2, pLoop, pFDDI, pPPP, pIP4, pIP6 *gopacket.DecodingLayerParser
	decoded                                           []gopacket.LayerType
}

func newDecoder() *decoder {
	// Room for the layers of four nested tunnels, so that append never
	// grows the slice on a real frame.
	d := &decoder{decoded: make([]gopacket.LayerType, 0, 48)}
	for _, st := range []**ipState{&d.ip4.st, &d.ip6.st, &d.tcp.st, &d.vx.st, &d.gen.st, &d.gre.st} {
		*st = &d.st
	}
	all := []gopacket.DecodingLayer{&d.eth, &d.dot, &d.sll, &d.sll2, &d.loop, &d.fddi, &d.mpls, &d.ip4, &d.ip6,
		&d.udp, &d.vx, &d.gen, &d.gre, &d.ers, &d.poe, &d.ppp, &d.llc, &d.snap, &d.tcp}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		// A slice indexed by layer type, where the default map costs a
		// hash lookup per layer per frame.
		dlc := gopacket.DecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range all {
			dlc = dlc.Put(l)
		}
		p.SetDecodingLayerContainer(dlc)
		p.IgnoreUnsupported = true
		return p
	}
	d.pEth = mk(layers.LayerTypeEthernet)
	d.pSLL = mk(layers.LayerTypeLinuxSLL)
	d.pSLL2 = mk(layers.LayerTypeLinuxSLL2)
	d.pLoop = mk(layers.LayerTypeLoopback)
	d.pFDDI = mk(layers.LayerTypeFDDI)
	d.pPPP = mk(layers.LayerTypePPP)
	d.pIP4 = mk(layers.LayerTypeIPv4)
	d.pIP6 = mk(layers.LayerTypeIPv6)
	return d
}

// parser picks the parser for link type lt, looking at the version nibble
// for raw IP.
func (d *decoder) parser(lt layers.LinkType, data []byte) *gopacket.DecodingLayerParser {
	switch lt {
	case layers.LinkTypeEthernet:
		return d.pEth
	case layers.LinkTypeLinuxSLL:
		return d.pSLL
	case layers.LinkTypeLinuxSLL2:
		return d.pSLL2
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return d.pLoop
	case layers.LinkTypeFDDI:
		return d.pFDDI
	case layers.LinkTypePPP:
		return d.pPPP
	case layers.LinkTypeIPv4:
		return d.pIP4
	case layers.LinkTypeIPv6:
		return d.pIP6
	case layers.LinkTypeRaw, linkTypeDLTRaw, linkTypeDLTRawOpenBSD: // raw IP: LINKTYPE_RAW or DLT_RAW
		if len(data) > 0 && data[0]>>4 == 6 {
			return d.pIP6
		}
		return d.pIP4
	}
	return nil
}

// decode decodes one frame of link type lt into p, filling every field but
// Frame, Time and Iface. It never panics: DecodingLayerParser turns a panic
// in a layer into an error, which counts as undecodable.
func (d *decoder) decode(data []byte, lt layers.LinkType, p *Packet) (decodeResult, error) {
	// The fast path sets src, dst, tcpHdr and tcpPay whenever it succeeds
	// and enters one IP header only (outerSrc and outerDst unread); what it
	// leaves of an earlier frame is cleared before the parser runs.
	d.st.ipFacts = ipFacts{}
	if !d.fast(data, lt) {
		d.st = ipState{}
		if err := d.slow(data, lt); err != nil {
			return resultUndecodable, err
		}
	}
	return d.fill(p, data, lt)
}

// slow decodes frame into d.st with gopacket's DecodingLayerParser, which
// follows every layer the decoder knows.
func (d *decoder) slow(data []byte, lt layers.LinkType) error {
	parser := d.parser(lt, data)
	if parser == nil {
		return errLinkUnknown
	}
	return parser.DecodeLayers(data, &d.decoded)
}

// fill turns what the layers left in d.st, decoding frame data of link
// type lt, into p.
func (d *decoder) fill(p *Packet, data []byte, lt layers.LinkType) (decodeResult, error) {
	if !d.st.tcpOK {
		if d.st.wantTCP {
			// The IP header says TCP but the capture ends before it.
			return resultUndecodable, errShortTCP
		}
		return resultNotTCP, nil
	}
	st := &d.st
	h := st.tcpHdr
	p.Src, p.Dst = st.src, st.dst
	p.SrcPort = binary.BigEndian.Uint16(h[0:2])
	p.DstPort = binary.BigEndian.Uint16(h[2:4])
	p.TTL = st.ttl
	p.IPID, p.HasIPID, p.DF = st.ipid, st.hasIPID, st.df
	hadOuter := p.Encap != EncapNone // p's outer addresses are set
	p.Encap, p.OuterTTL, p.SrcMAC = st.encap, 0, [6]byte{}
	if st.nIP > 1 {
		p.OuterTTL = st.outerTTL
		p.OuterSrc, p.OuterDst = st.outerSrc, st.outerDst
	} else if hadOuter {
		p.OuterSrc, p.OuterDst = netip.Addr{}, netip.Addr{}
	}
	if st.encap == EncapNone {
		p.SrcMAC = srcMAC(data, lt)
	}
	p.Seq = binary.BigEndian.Uint32(h[4:8])
	p.Ack = binary.BigEndian.Uint32(h[8:12])
	// The 12 bits after the data offset: 3 reserved, NS, then CWR..FIN
	// (RFC 9293 §3.1, RFC 3540). layers.TCP drops the reserved bits.
	p.Flags = Flags(binary.BigEndian.Uint16(h[12:14]) & 0x0fff)
	p.Window = binary.BigEndian.Uint16(h[14:16])
	p.Options = optionKinds(h[20:])

	if st.l4Len >= 0 {
		p.PayloadLen = st.l4Len - st.tcpLen
	} else {
		p.PayloadLen = len(st.tcpPay)
	}
	n := copy(p.Head[:], st.tcpPay)
	if n > p.PayloadLen {
		n = p.PayloadLen
	}
	p.HeadN = n
	return resultTCP, nil
}

// fast decodes the common shape of frame, Ethernet with at most two 802.1Q
// tags or raw IP, then IPv4 or IPv6 (with its extension headers), then TCP,
// into d.st with the same layer code DecodeLayers runs, but without the
// parser's per-layer dispatch. It reports false, leaving d.st to be reset,
// for any other shape and for any error, so that the parser decodes the
// frame (and reports the error) exactly as it would have: the fast path
// only ever agrees with it (FuzzFastPath checks that).
func (d *decoder) fast(data []byte, lt layers.LinkType) bool {
	var ip []byte
	var v6 bool
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return false
		}
		et, off := binary.BigEndian.Uint16(data[12:14]), 14
		for tags := 0; et == uint16(layers.EthernetTypeDot1Q) && tags < 2; tags++ {
			if len(data) < off+4 {
				return false
			}
			et, off = binary.BigEndian.Uint16(data[off+2:off+4]), off+4
		}
		switch layers.EthernetType(et) {
		case layers.EthernetTypeIPv4:
		case layers.EthernetTypeIPv6:
			v6 = true
		default:
			return false
		}
		ip = data[off:]
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeDLTRaw, linkTypeDLTRawOpenBSD:
		// The parser picks IPv4 or IPv6 by link type, or by the version
		// nibble for DLT_RAW; take only frames both rules agree on.
		if len(data) == 0 {
			return false
		}
		v6 = data[0]>>4 == 6
		if lt == layers.LinkTypeIPv4 && v6 || lt == layers.LinkTypeIPv6 && !v6 {
			return false
		}
		ip = data
	default:
		return false
	}
	df := gopacket.NilDecodeFeedback
	var seg []byte
	if v6 {
		if d.ip6.DecodeFromBytes(ip, df) != nil || d.ip6.next != layers.LayerTypeTCP {
			return false
		}
		seg = d.ip6.payload
	} else {
		if d.ip4.DecodeFromBytes(ip, df) != nil || d.ip4.next != layers.LayerTypeTCP {
			return false
		}
		seg = d.ip4.payload
	}
	return d.tcp.DecodeFromBytes(seg, df) == nil
}
