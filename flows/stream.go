package flows

import "github.com/rstscope/rstscope/capture"

// reassemble appends p's captured payload to the head of the stream, kept
// in head (the direction's window of Conn.buf), when it continues it in
// sequence order.
func (h *Half) reassemble(head []byte, p *capture.Packet) {
	if !h.headSet {
		h.headSet = true
		if h.SawSYN {
			h.headBase = h.ISN + 1
		} else {
			h.headBase = p.Seq
		}
	}
	if int(h.headN) == len(head) {
		return
	}
	pl := p.Payload()
	off := int64(int32(p.Seq - h.headBase))
	if off < 0 { // starts before the head: skip what precedes it
		if -off >= int64(len(pl)) {
			return
		}
		pl = pl[-off:]
		off = 0
	}
	if off > int64(h.headN) {
		h.headGap = true
		return
	}
	if skip := int64(h.headN) - off; skip < int64(len(pl)) {
		h.headN += uint16(copy(head[h.headN:], pl[skip:]))
	}
}

// SeqLess reports whether sequence number a precedes b in the modulo-2^32
// sequence space (RFC 9293 §3.4, RFC 1982 serial number arithmetic).
func SeqLess(a, b uint32) bool { return int32(a-b) < 0 }

// SeqDiff returns b − a as a signed distance in sequence space.
func SeqDiff(a, b uint32) int64 { return int64(int32(b - a)) }
