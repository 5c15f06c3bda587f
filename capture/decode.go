package capture

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Sentinel decode errors: returned by the layers below without allocating,
// so that undecodable frames stay cheap too.
var (
	errShortIPv4   = errors.New("ipv4 header truncated")
	errBadIPv4     = errors.New("ipv4 header malformed")
	errShortIPv6   = errors.New("ipv6 header truncated")
	errBadIPv6Ext  = errors.New("ipv6 extension header malformed or truncated")
	errShortTCP    = errors.New("tcp header truncated")
	errBadTCP      = errors.New("tcp data offset malformed")
	errShortFDDI   = errors.New("fddi header truncated")
	errShortMPLS   = errors.New("mpls label stack truncated")
	errLinkUnknown = errors.New("unsupported link type")
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
	udp  layers.UDP
	vx   layers.VXLAN
	tcp  tcpLayer

	// parsers by first layer.
	pEth, pSLL, pSLL2, pLoop, pFDDI, pIP4, pIP6 *gopacket.DecodingLayerParser
	decoded                                     []gopacket.LayerType
}

// ipState is what the IP and TCP layers leave behind for Packet: the
// innermost IP header decoded wins (VXLAN, IP in IP).
type ipState struct {
	src, dst netip.Addr
	ttl      uint8
	ipid     uint16
	hasIPID  bool
	df       bool
	// l4Len is the length of the transport segment from the IP length
	// fields: -1 when the header gives none (IPv4 TSO length 0, IPv6
	// jumbogram) and the captured length stands in.
	l4Len int
	// wantTCP: the innermost IP header names TCP as its payload.
	wantTCP bool
	tcpOK   bool
	tcpHdr  []byte // the TCP header, as captured (options may be cut)
	tcpLen  int    // data offset in bytes
	tcpPay  []byte // captured payload, bounded by the IP length
}

func newDecoder() *decoder {
	d := &decoder{decoded: make([]gopacket.LayerType, 0, 16)}
	d.ip4.st = &d.st
	d.ip6.st = &d.st
	d.tcp.st = &d.st
	all := []gopacket.DecodingLayer{&d.eth, &d.dot, &d.sll, &d.sll2, &d.loop, &d.fddi, &d.mpls, &d.ip4, &d.ip6, &d.udp, &d.vx, &d.tcp}
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
	d.pIP4 = mk(layers.LayerTypeIPv4)
	d.pIP6 = mk(layers.LayerTypeIPv6)
	return d
}

// SupportedLinkType reports whether frames of link type lt can be decoded.
func SupportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeFDDI,
		layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return true
	}
	return false
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
	case layers.LinkTypeIPv4:
		return d.pIP4
	case layers.LinkTypeIPv6:
		return d.pIP6
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW: libpcap maps 12 and 14 to it as well
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
	d.st = ipState{}
	if !d.fast(data, lt) {
		d.st = ipState{}
		if err := d.slow(data, lt); err != nil {
			return resultUndecodable, err
		}
	}
	return d.fill(p)
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

// fill turns what the layers left in d.st into p.
func (d *decoder) fill(p *Packet) (decodeResult, error) {
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
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
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

// optionKinds returns the bitset of TCP option kinds (< 32) in opts, the
// captured part of the options area (RFC 9293 §3.2). It stops at the end of
// option list, at a malformed length and at the end of what was captured.
func optionKinds(opts []byte) uint32 {
	var set uint32
	for i := 0; i < len(opts); {
		k := opts[i]
		if k < 32 {
			set |= 1 << k
		}
		switch k {
		case 0: // end of option list
			return set
		case 1: // no-operation
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			return set
		}
		i += int(opts[i+1])
	}
	return set
}

// qinqNext maps the EtherTypes of stacked VLAN tags (802.1ad and the
// pre-standard 0x9100/0x9200) to Dot1Q, which gopacket leaves unmapped.
func qinqNext(t layers.EthernetType) gopacket.LayerType {
	switch t {
	case layers.EthernetTypeQinQ, 0x9100, 0x9200:
		return layers.LayerTypeDot1Q
	}
	return t.LayerType()
}

// etherLayer is layers.Ethernet that also follows 802.1ad (QinQ) tags.
type etherLayer struct{ layers.Ethernet }

func (e *etherLayer) NextLayerType() gopacket.LayerType {
	if e.EthernetType == layers.EthernetTypeLLC {
		return layers.LayerTypeLLC
	}
	return qinqNext(e.EthernetType)
}

// dot1qLayer is layers.Dot1Q that also follows a further QinQ tag.
type dot1qLayer struct{ layers.Dot1Q }

func (d *dot1qLayer) NextLayerType() gopacket.LayerType {
	if d.Type < 0x0600 {
		return layers.LayerTypeLLC
	}
	return qinqNext(d.Type)
}

// fddiLayer decodes an FDDI MAC header (frame control, 6-byte destination
// and source) followed by an 802.2 LLC/SNAP header carrying an EtherType;
// anything but SNAP is not IP and ends decoding.
type fddiLayer struct {
	payload []byte
	next    gopacket.LayerType
}

func (f *fddiLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	const mac, snap = 13, 8
	if len(data) < mac+3 {
		df.SetTruncated()
		return errShortFDDI
	}
	llc := data[mac:]
	if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 {
		f.next, f.payload = gopacket.LayerTypeZero, nil
		return nil
	}
	if len(llc) < snap {
		df.SetTruncated()
		return errShortFDDI
	}
	f.next = layers.EthernetType(binary.BigEndian.Uint16(llc[6:8])).LayerType()
	f.payload = llc[snap:]
	return nil
}
func (f *fddiLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeFDDI }
func (f *fddiLayer) NextLayerType() gopacket.LayerType { return f.next }
func (f *fddiLayer) LayerPayload() []byte              { return f.payload }

// mplsLayer skips an MPLS label stack (RFC 3032) and guesses the payload
// from its version nibble, as routers and Wireshark do for IP over MPLS.
type mplsLayer struct {
	payload []byte
	next    gopacket.LayerType
}

func (m *mplsLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	for i := 0; ; i += 4 {
		if len(data) < i+4 {
			df.SetTruncated()
			return errShortMPLS
		}
		if data[i+2]&1 != 0 { // bottom of stack
			m.payload = data[i+4:]
			break
		}
	}
	m.next = gopacket.LayerTypeZero
	if len(m.payload) > 0 {
		switch m.payload[0] >> 4 {
		case 4:
			m.next = layers.LayerTypeIPv4
		case 6:
			m.next = layers.LayerTypeIPv6
		}
	}
	return nil
}
func (m *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (m *mplsLayer) NextLayerType() gopacket.LayerType { return m.next }
func (m *mplsLayer) LayerPayload() []byte              { return m.payload }

// protoLayer is p.LayerType() with TCP answered first: gopacket's lookup
// copies a metadata entry out of a 256-entry table, which showed as 8% of
// a big capture's profile.
func protoLayer(p layers.IPProtocol) gopacket.LayerType {
	if p == layers.IPProtocolTCP {
		return layers.LayerTypeTCP
	}
	return p.LayerType()
}

// ipv4Layer decodes an IPv4 header (RFC 791) into the shared ipState.
type ipv4Layer struct {
	st      *ipState
	payload []byte
	next    gopacket.LayerType
}

func (l *ipv4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortIPv4
	}
	ihl := int(data[0]&0x0f) * 4
	if data[0]>>4 != 4 || ihl < 20 {
		return errBadIPv4
	}
	if len(data) < ihl {
		df.SetTruncated()
		return errShortIPv4
	}
	total := int(binary.BigEndian.Uint16(data[2:4]))
	st := l.st
	switch {
	case total == 0:
		// Segmentation offload on the capturing host: the kernel hands
		// libpcap a super-packet with total length 0 (Wireshark treats it
		// the same way). The captured bytes are all there is.
		st.l4Len = -1
		total = len(data)
	case total < ihl:
		return errBadIPv4
	default:
		st.l4Len = total - ihl
		if total > len(data) {
			df.SetTruncated()
			total = len(data)
		}
	}
	st.src = netip.AddrFrom4([4]byte(data[12:16]))
	st.dst = netip.AddrFrom4([4]byte(data[16:20]))
	st.ttl = data[8]
	st.ipid = binary.BigEndian.Uint16(data[4:6])
	st.hasIPID = true
	frag := binary.BigEndian.Uint16(data[6:8])
	st.df = frag&0x4000 != 0
	l.payload = data[ihl:total]
	if frag&0x1fff != 0 {
		// A later fragment carries no transport header.
		l.next = gopacket.LayerTypeFragment
	} else {
		l.next = protoLayer(layers.IPProtocol(data[9]))
	}
	st.wantTCP = l.next == layers.LayerTypeTCP
	return nil
}
func (l *ipv4Layer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeIPv4 }
func (l *ipv4Layer) NextLayerType() gopacket.LayerType { return l.next }
func (l *ipv4Layer) LayerPayload() []byte              { return l.payload }

// ipv6Layer decodes an IPv6 header (RFC 8200) and walks its extension
// headers: hop-by-hop, routing, destination options, fragment and AH. A
// fragment header of a non-first fragment ends the walk (no TCP header).
type ipv6Layer struct {
	st      *ipState
	payload []byte
	next    gopacket.LayerType
}

func (l *ipv6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 40 {
		df.SetTruncated()
		return errShortIPv6
	}
	if data[0]>>4 != 6 {
		return errBadIPv6Ext
	}
	st := l.st
	st.src = netip.AddrFrom16([16]byte(data[8:24]))
	st.dst = netip.AddrFrom16([16]byte(data[24:40]))
	st.ttl = data[7]
	st.ipid, st.hasIPID, st.df = 0, false, false
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	pay := data[40:]
	if plen == 0 {
		// Jumbogram (RFC 2675) or offload: trust what was captured.
		st.l4Len = -1
	} else {
		st.l4Len = plen
		if plen < len(pay) {
			pay = pay[:plen]
		} else if plen > len(pay) {
			df.SetTruncated()
		}
	}
	nh := layers.IPProtocol(data[6])
	for {
		var n int
		switch nh {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			if len(pay) < 2 {
				return errBadIPv6Ext
			}
			n = int(pay[1])*8 + 8
		case layers.IPProtocolAH:
			if len(pay) < 2 {
				return errBadIPv6Ext
			}
			n = (int(pay[1]) + 2) * 4
		case layers.IPProtocolIPv6Fragment:
			if len(pay) < 8 {
				return errBadIPv6Ext
			}
			n = 8
			if binary.BigEndian.Uint16(pay[2:4])&0xfff8 != 0 {
				l.payload, l.next = pay[n:], gopacket.LayerTypeFragment
				st.wantTCP = false
				return nil
			}
		default:
			l.payload, l.next = pay, protoLayer(nh)
			st.wantTCP = nh == layers.IPProtocolTCP
			return nil
		}
		if len(pay) < n {
			return errBadIPv6Ext
		}
		nh = layers.IPProtocol(pay[0])
		pay = pay[n:]
		if st.l4Len >= 0 {
			st.l4Len -= n
			if st.l4Len < 0 {
				return errBadIPv6Ext
			}
		}
	}
}
func (l *ipv6Layer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeIPv6 }
func (l *ipv6Layer) NextLayerType() gopacket.LayerType { return l.next }
func (l *ipv6Layer) LayerPayload() []byte              { return l.payload }

// tcpLayer checks a TCP header (RFC 9293 §3.1) and leaves it in ipState for
// decode to read. The fixed 20 bytes must be captured; options cut by the
// snap length are read as far as they go.
type tcpLayer struct{ st *ipState }

func (l *tcpLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortTCP
	}
	off := int(data[12]>>4) * 4
	st := l.st
	if off < 20 || (st.l4Len >= 0 && off > st.l4Len) {
		return errBadTCP
	}
	st.tcpLen = off
	if off > len(data) {
		df.SetTruncated()
		st.tcpHdr, st.tcpPay = data, nil
	} else {
		st.tcpHdr, st.tcpPay = data[:off], data[off:]
	}
	st.tcpOK = true
	return nil
}
func (l *tcpLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeTCP }
func (l *tcpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }
func (l *tcpLayer) LayerPayload() []byte              { return nil }
