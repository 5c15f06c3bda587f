package flows

import "github.com/rstscope/rstscope/capture"

// reassemble appends p's captured payload to the head of direction d's
// stream (Conn.Head) when it continues it in sequence order, and cuts the
// head to its digest once that is decided (headDigest).
func (t *Table) reassemble(c *Conn, d Side, p *capture.Packet) {
	h := &c.Half[d]
	if !h.headSet {
		h.headSet = true
		if h.SawSYN {
			h.headBase = h.ISN + 1
		} else {
			h.headBase = p.Seq
		}
	}
	capN := headCap(d)
	if h.headDone || int(h.headN) == capN {
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
	skip := int64(h.headN) - off
	if skip >= int64(len(pl)) {
		return
	}
	pl = pl[skip:]
	n := int(h.headN)
	end := min(n+len(pl), capN)
	s := t.headStore()
	if n == 0 && digestHeads {
		// The first bytes: when they decide the digest already, keep only it.
		if keep, ok := headDigest(d, pl[:end], end == capN); ok {
			c.hb[d] = s.resize(c.hb[d], keep, 0, false)
			h.headN = uint16(copy(s.bytes(c.hb[d]), pl[:keep]))
			h.headDone = true
			return
		}
	}
	c.hb[d] = s.resize(c.hb[d], end, n, true)
	head := s.bytes(c.hb[d])
	h.headN = uint16(n + copy(head[n:end], pl))
	if !digestHeads {
		return
	}
	if keep, ok := headDigest(d, head[:h.headN], int(h.headN) == capN); ok {
		h.headDone = true
		h.headN = uint16(keep)
		c.hb[d] = s.resize(c.hb[d], keep, keep, false)
	}
}

// setTurn keeps b, the first bytes of a client turn, as the client's
// latest turn: its digest when it is an HTTP request (what AppOf reads),
// else nothing. The connection's first turn (Turns 1) is not kept: AppOf
// reads the turn only after two more (Turns > 2), by when the client has
// taken another, and its bytes are the head's.
func (t *Table) setTurn(c *Conn, b []byte) {
	b = b[:min(len(b), TurnCap)]
	n := 0
	switch {
	case c.Turns == 1 && digestHeads:
	case !digestHeads:
		n = len(b)
	case isHTTPRequest(b):
		n, _ = httpDigest(b, true)
	}
	s := t.headStore()
	if n == 0 {
		s.put(c.turnB)
		c.turnB, c.turnN = 0, 0
		return
	}
	c.turnB = s.resize(c.turnB, n, 0, true)
	c.turnN = uint8(copy(s.bytes(c.turnB), b[:n]))
}

// SeqLess reports whether sequence number a precedes b in the modulo-2^32
// sequence space (RFC 9293 §3.4, RFC 1982 serial number arithmetic).
func SeqLess(a, b uint32) bool { return int32(a-b) < 0 }

// SeqDiff returns b − a as a signed distance in sequence space.
func SeqDiff(a, b uint32) int64 { return int64(int32(b - a)) }
