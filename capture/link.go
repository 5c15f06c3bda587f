package capture

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link-layer decode errors: returned without allocating, so that
// undecodable frames stay cheap too.
var (
	errShortFDDI   = errors.New("fddi header truncated")
	errShortMPLS   = errors.New("mpls label stack truncated")
	errLinkUnknown = errors.New("unsupported link type")
)

// Raw IP link types besides LINKTYPE_RAW (101, layers.LinkTypeRaw): the
// frame begins with an IPv4 or IPv6 header, told apart by the version
// nibble. Capture files should carry LINKTYPE_RAW, whatever the platform;
// libpcap's in-memory value, DLT_RAW, is 12 on most platforms and 14 on
// OpenBSD (https://www.tcpdump.org/linktypes.html, the LINKTYPE_RAW row).
// A live capture reports DLT_RAW, and some writers put it in a file header,
// so both are decoded as raw IP. libpcap compiles filters for the host's
// DLT_RAW only: see dltOf.
const (
	linkTypeDLTRaw        layers.LinkType = 12 // DLT_RAW on most platforms (Linux, macOS, FreeBSD)
	linkTypeDLTRawOpenBSD layers.LinkType = 14 // DLT_RAW on OpenBSD
)

// etherLayer is layers.Ethernet that also follows 802.1ad (QinQ) tags and
// 802.3 frames (a length where the EtherType would be, then LLC).
type etherLayer struct{ layers.Ethernet }

func (e *etherLayer) NextLayerType() gopacket.LayerType {
	if e.EthernetType == layers.EthernetTypeLLC { // an 802.3 length field
		return layers.LayerTypeLLC
	}
	return etherNext(e.EthernetType)
}

// dot1qLayer is layers.Dot1Q that also follows a further QinQ tag.
type dot1qLayer struct{ layers.Dot1Q }

func (d *dot1qLayer) NextLayerType() gopacket.LayerType {
	if d.Type < 0x0600 {
		return layers.LayerTypeLLC
	}
	return etherNext(d.Type)
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
	f.next = etherNext(layers.EthernetType(binary.BigEndian.Uint16(llc[6:8])))
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
	m.next = ipByVersion(m.payload)
	return nil
}
func (m *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (m *mplsLayer) NextLayerType() gopacket.LayerType { return m.next }
func (m *mplsLayer) LayerPayload() []byte              { return m.payload }

// srcMAC returns the link-layer source address of a frame of link type lt
// when it is a MAC-48: Ethernet's (bytes 6 to 11), or that of a Linux
// cooked capture (SLL, SLL2) whose address length is 6 on an Ethernet-like
// device (ARPHRD_ETHER); all zero otherwise.
func srcMAC(data []byte, lt layers.LinkType) (mac [6]byte) {
	const arphrdEther = 1
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) >= 12 {
			copy(mac[:], data[6:12])
		}
	case layers.LinkTypeLinuxSLL: // type, ARPHRD, address length, address (8), protocol
		if len(data) >= 16 && binary.BigEndian.Uint16(data[2:4]) == arphrdEther && binary.BigEndian.Uint16(data[4:6]) == 6 {
			copy(mac[:], data[6:12])
		}
	case layers.LinkTypeLinuxSLL2: // protocol, reserved, ifindex, ARPHRD, type, address length, address (8)
		if len(data) >= 20 && binary.BigEndian.Uint16(data[8:10]) == arphrdEther && data[11] == 6 {
			copy(mac[:], data[12:18])
		}
	}
	return mac
}
