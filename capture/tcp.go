package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP decode errors: returned without allocating, so that undecodable
// frames stay cheap too.
var (
	errShortTCP = errors.New("tcp header truncated")
	errBadTCP   = errors.New("tcp data offset malformed")
)

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
