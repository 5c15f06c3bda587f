package capture

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Encap names the tunnel a segment came through: the outermost one, when
// tunnels are nested. The segment's addresses, ports and TTL are those of
// the innermost IP and TCP headers; Packet.OuterTTL is the outermost IP
// header's.
type Encap uint8

const (
	EncapNone   Encap = iota // not tunnelled
	EncapIPinIP              // IPv4 or IPv6 right inside IP (RFC 2003, RFC 2473, 6in4 RFC 4213)
	EncapGRE                 // GRE (RFC 2784, RFC 2890) carrying IP, Ethernet (0x6558) or PPP (RFC 2637)
	EncapERSPAN              // ERSPAN type I, II or III in GRE (draft-foschiano-erspan-03)
	EncapVXLAN               // VXLAN on UDP 4789 or 8472 (RFC 7348)
	EncapGeneve              // Geneve on UDP 6081 (RFC 8926)
)

var encapNames = [...]string{"", "IP-in-IP", "GRE", "ERSPAN", "VXLAN", "Geneve"}

// String names the tunnel ("GRE"); "" for EncapNone.
func (e Encap) String() string {
	if int(e) < len(encapNames) {
		return encapNames[e]
	}
	return "unknown"
}

// maxIPHeaders bounds how deep tunnels may nest: every tunnel has an outer
// IP header, so four encapsulations make five IP headers. A deeper frame
// is undecodable (errTooDeep), so that a crafted frame cannot make the
// decoder walk tunnel after tunnel.
const maxIPHeaders = 5

// Tunnel decode errors: returned without allocating.
var (
	errTooDeep     = errors.New("tunnels nested more than 4 deep")
	errShortTunnel = errors.New("tunnel header truncated")
	errBadTunnel   = errors.New("tunnel header malformed")
	errShortPPP    = errors.New("ppp or pppoe header truncated")
)

// Tunnel ports and protocol numbers not in gopacket's tables.
const (
	udpPortVXLAN      = 4789   // IANA (RFC 7348 §5)
	udpPortVXLANLinux = 8472   // the Linux kernel's default VXLAN port
	udpPortGeneve     = 6081   // IANA (RFC 8926 §3.3)
	greERSPANIII      = 0x22eb // ERSPAN type III in GRE
	pppIPv4           = 0x0021 // PPP protocol numbers (RFC 1332, RFC 5072)
	pppIPv6           = 0x0057
)

// etherNext is the layer after an EtherType, as gopacket maps it, but for
// stacked VLAN tags (802.1ad and the pre-standard 0x9100/0x9200), which
// gopacket leaves unmapped, and transparent Ethernet bridging.
func etherNext(t layers.EthernetType) gopacket.LayerType {
	switch t {
	case layers.EthernetTypeQinQ, 0x9100, 0x9200:
		return layers.LayerTypeDot1Q
	case layers.EthernetTypeTransparentEthernetBridging:
		return layers.LayerTypeEthernet
	}
	return t.LayerType()
}

// tunnel records that a tunnel of kind e was entered: the outermost one
// names the packet's Encap.
func (st *ipState) tunnel(e Encap) {
	if st.encap == EncapNone {
		st.encap = e
	}
}

// udpLayer is layers.UDP that hands on only to the tunnels decoded here,
// by destination port (a tunnel's source port is a flow hash, RFC 7348
// §5): VXLAN on 4789 and 8472, Geneve on 6081.
type udpLayer struct{ layers.UDP }

func (u *udpLayer) NextLayerType() gopacket.LayerType {
	switch u.DstPort {
	case udpPortVXLAN, udpPortVXLANLinux:
		return layers.LayerTypeVXLAN
	case udpPortGeneve:
		return layers.LayerTypeGeneve
	}
	return gopacket.LayerTypeZero
}

// vxlanLayer is layers.VXLAN (an 8-byte header, then Ethernet) that
// records the tunnel.
type vxlanLayer struct {
	layers.VXLAN
	st *ipState
}

func (v *vxlanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortTunnel
	}
	v.st.tunnel(EncapVXLAN)
	return v.VXLAN.DecodeFromBytes(data, df)
}

// geneveLayer skips a Geneve header (RFC 8926 §3.4): 8 bytes, then the
// options, whose total length the header gives, then the payload named by
// its protocol type (an EtherType; 0x6558 is Ethernet). layers.Geneve
// allocates a copy of every option; the options tell nothing about the
// inner connection.
type geneveLayer struct {
	st      *ipState
	payload []byte
	next    gopacket.LayerType
}

func (g *geneveLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortTunnel
	}
	if data[0]>>6 != 0 { // version 0 is the only one
		return errBadTunnel
	}
	end := 8 + int(data[0]&0x3f)*4
	if len(data) < end {
		df.SetTruncated()
		return errShortTunnel
	}
	g.st.tunnel(EncapGeneve)
	g.payload = data[end:]
	g.next = etherNext(layers.EthernetType(binary.BigEndian.Uint16(data[2:4])))
	return nil
}
func (g *geneveLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeGeneve }
func (g *geneveLayer) NextLayerType() gopacket.LayerType { return g.next }
func (g *geneveLayer) LayerPayload() []byte              { return g.payload }

// greLayer is layers.GRE (RFC 2784 with the key and sequence number of RFC
// 2890, and version 1 of RFC 2637) that hands on to ERSPAN as Wireshark
// does: protocol 0x88BE is ERSPAN type II when the sequence number is
// present and type I (a bare Ethernet frame) when not; 0x22EB is type III,
// whose header this layer skips itself (gopacket has no layer for it).
type greLayer struct {
	layers.GRE
	st   *ipState
	next gopacket.LayerType
}

func (g *greLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := g.GRE.DecodeFromBytes(data, df); err != nil {
		return err
	}
	switch g.Protocol {
	case layers.EthernetTypeERSPAN:
		g.st.tunnel(EncapERSPAN)
		g.next = layers.LayerTypeEthernet
		if g.SeqPresent {
			g.next = layers.LayerTypeERSPANII
		}
	case greERSPANIII:
		g.st.tunnel(EncapERSPAN)
		return g.erspan3(df)
	default:
		g.st.tunnel(EncapGRE)
		g.next = etherNext(g.Protocol)
	}
	return nil
}
func (g *greLayer) NextLayerType() gopacket.LayerType { return g.next }

// erspan3 skips the ERSPAN type III header at the start of g.Payload
// (draft-foschiano-erspan-03 §4.3; Wireshark's packet-erspan.c): 12 bytes,
// then an 8-byte platform specific subheader when the O flag is set, then
// an Ethernet frame (frame type 0) or an IP packet (frame type 2).
func (g *greLayer) erspan3(df gopacket.DecodeFeedback) error {
	data := g.Payload
	if len(data) < 12 {
		df.SetTruncated()
		return errShortTunnel
	}
	if data[0]>>4 != 2 { // the version of type III
		return errBadTunnel
	}
	end := 12
	if data[11]&1 != 0 { // O: platform specific subheader
		end += 8
	}
	if len(data) < end {
		df.SetTruncated()
		return errShortTunnel
	}
	g.Payload = data[end:]
	switch ft := data[10] >> 2 & 0x1f; ft {
	case 0:
		g.next = layers.LayerTypeEthernet
	case 2:
		g.next = ipByVersion(g.Payload)
	default:
		g.next = gopacket.LayerTypeZero
	}
	return nil
}

// ipByVersion guesses IPv4 or IPv6 from the version nibble.
func ipByVersion(b []byte) gopacket.LayerType {
	if len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4
		case 6:
			return layers.LayerTypeIPv6
		}
	}
	return gopacket.LayerTypeZero
}

// pppoeLayer decodes a PPPoE session header (RFC 2516 §4: version and
// type, code, session id, length), then PPP. Discovery packets, which
// gopacket maps to the same layer type, carry a non-zero code and tags,
// not PPP: decoding ends there.
type pppoeLayer struct {
	payload []byte
	next    gopacket.LayerType
}

func (l *pppoeLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		df.SetTruncated()
		return errShortPPP
	}
	l.payload, l.next = nil, gopacket.LayerTypeZero
	if data[1] != 0 { // code: 0 for session data
		return nil
	}
	pay := data[6:]
	if n := int(binary.BigEndian.Uint16(data[4:6])); n < len(pay) {
		pay = pay[:n] // Ethernet padding
	} else if n > len(pay) {
		df.SetTruncated()
	}
	l.payload, l.next = pay, layers.LayerTypePPP
	return nil
}
func (l *pppoeLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *pppoeLayer) NextLayerType() gopacket.LayerType { return l.next }
func (l *pppoeLayer) LayerPayload() []byte              { return l.payload }

// pppLayer decodes a PPP header (RFC 1661 §2): the address and control
// bytes 0xFF 0x03 of HDLC-like framing when present (RFC 1662), then the
// protocol, one byte when compressed (an odd first byte) or two. IPv4
// (0x0021) and IPv6 (0x0057) are followed; anything else ends decoding.
type pppLayer struct {
	payload []byte
	next    gopacket.LayerType
}

func (l *pppLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	i := 0
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		i = 2
	}
	if len(data) < i+1 {
		df.SetTruncated()
		return errShortPPP
	}
	proto := uint16(data[i])
	if proto&1 == 1 {
		i++
	} else {
		if len(data) < i+2 {
			df.SetTruncated()
			return errShortPPP
		}
		proto = binary.BigEndian.Uint16(data[i:])
		i += 2
	}
	l.payload = data[i:]
	switch proto {
	case pppIPv4:
		l.next = layers.LayerTypeIPv4
	case pppIPv6:
		l.next = layers.LayerTypeIPv6
	default:
		l.next = gopacket.LayerTypeZero
	}
	return nil
}
func (l *pppLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPP }
func (l *pppLayer) NextLayerType() gopacket.LayerType { return l.next }
func (l *pppLayer) LayerPayload() []byte              { return l.payload }

// snapLayer is layers.SNAP (after an 802.2 LLC header AA-AA-03) that
// follows the EtherType only under the OUIs that say it is one: 00-00-00
// (RFC 1042) and 00-00-F8 (802.1H bridge tunnel). Other OUIs number their
// own protocols.
type snapLayer struct{ layers.SNAP }

func (s *snapLayer) NextLayerType() gopacket.LayerType {
	oui := s.OrganizationalCode
	if oui[0] == 0 && oui[1] == 0 && (oui[2] == 0 || oui[2] == 0xf8) {
		return etherNext(s.Type)
	}
	return gopacket.LayerTypeZero
}
