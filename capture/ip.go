package capture

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// IP decode errors: returned without allocating, so that undecodable frames
// stay cheap too.
var (
	errShortIPv4  = errors.New("ipv4 header truncated")
	errBadIPv4    = errors.New("ipv4 header malformed")
	errShortIPv6  = errors.New("ipv6 header truncated")
	errBadIPv6Ext = errors.New("ipv6 extension header malformed or truncated")
)

// ipState is what the IP and TCP layers leave behind for Packet: the
// innermost IP header decoded wins (VXLAN, IP in IP).
type ipState struct {
	ipFacts
	src, dst           netip.Addr
	tcpHdr             []byte // the TCP header, as captured (options may be cut)
	tcpPay             []byte // captured payload, bounded by the IP length
	outerSrc, outerDst netip.Addr
}

// ipFacts are ipState's fields without pointers, which decode resets per
// frame without the write barriers that clearing the pointers costs while
// the garbage collector runs; a frame the fast path takes sets every
// pointer fill reads (see decoder.decode).
type ipFacts struct {
	ttl     uint8
	ipid    uint16
	hasIPID bool
	df      bool
	// l4Len is the length of the transport segment from the IP length
	// fields: -1 when the header gives none (IPv4 TSO length 0, IPv6
	// jumbogram) and the captured length stands in.
	l4Len int
	// wantTCP: the innermost IP header names TCP as its payload.
	wantTCP bool
	tcpOK   bool
	tcpLen  int // data offset in bytes

	// nIP counts the IP headers decoded, outermost first; outerTTL is the
	// first one's TTL or hop limit, outerSrc and outerDst its addresses
	// (set when a second header is entered), encap the outermost tunnel's
	// kind.
	nIP      uint8
	outerTTL uint8
	encap    Encap
}

// enterIP counts one more IP header, with TTL or hop limit ttl: a second
// one right inside the first (no tunnel layer between) is IP in IP.
func (st *ipState) enterIP(ttl uint8) error {
	if st.nIP == 0 {
		st.outerTTL = ttl
	} else if st.encap == EncapNone {
		st.encap = EncapIPinIP
	}
	if st.nIP == 1 { // src and dst are still the outermost header's
		st.outerSrc, st.outerDst = st.src, st.dst
	}
	st.nIP++
	if st.nIP > maxIPHeaders {
		return errTooDeep
	}
	return nil
}

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
	if err := st.enterIP(data[8]); err != nil {
		return err
	}
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
	if err := st.enterIP(data[7]); err != nil {
		return err
	}
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
