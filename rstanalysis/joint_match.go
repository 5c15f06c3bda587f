package rstanalysis

import (
	"net/netip"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// isnKey indexes connections by their initial sequence numbers: the pair,
// or the client's alone when no SYN-ACK was seen (server 0, pair false).
type isnKey struct {
	client, server uint32
	pair           bool
}

// match groups the traced connections of every input into jconns: one
// connection seen by several inputs is one jconn. A connection matches an
// earlier input's with the same endpoints whose ISNs agree, or, through a
// NAT that rewrote addresses or ports (Linux NAT keeps sequence numbers),
// with the same ISNs and the same first payload each way.
func (j *joint) match() {
	n := len(j.traces)
	byKey := map[flows.Key][]*jconn{}
	byISN := map[isnKey][]*jconn{}
	for i, t := range j.traces {
		for _, c := range t.conns {
			jc := j.find(i, c, byKey, byISN)
			if jc == nil {
				jc = &jconn{c: make([]*traceConn, n)}
				j.jconns = append(j.jconns, jc)
			}
			jc.c[i] = c
			k := endsKey(c.ends)
			if !containsJ(byKey[k], jc) {
				byKey[k] = append(byKey[k], jc)
			}
			if ik, ok := isnOf(c); ok && !containsJ(byISN[ik], jc) {
				byISN[ik] = append(byISN[ik], jc)
			}
		}
	}
}

// find returns the jconn of an earlier input that c, of input i, is.
func (j *joint) find(i int, c *traceConn, byKey map[flows.Key][]*jconn, byISN map[isnKey][]*jconn) *jconn {
	for _, jc := range byKey[endsKey(c.ends)] {
		ref := jc.ref()
		if jc.c[i] != nil || ref == nil {
			continue
		}
		flipped := ref.ends[Client] == c.ends[Server]
		if flipped && (c.hasISN[Client] || c.hasISN[Server]) && ref.hasISN[Client] {
			continue // both saw a SYN, from different ends: not the same connection
		}
		if flipped {
			c.flip()
		}
		if isnsAgree(ref, c) {
			return jc
		}
		if flipped {
			c.flip()
		}
	}
	ik, ok := isnOf(c)
	if !ok {
		return nil
	}
	for _, jc := range byISN[ik] {
		if ref := jc.ref(); jc.c[i] == nil && ref != nil && payloadsAgree(ref, c) {
			return jc
		}
	}
	return nil
}

// isnsAgree reports whether the ISNs a and b both know are equal.
func isnsAgree(a, b *traceConn) bool {
	for d := range 2 {
		if a.hasISN[d] && b.hasISN[d] && a.isn[d] != b.isn[d] {
			return false
		}
	}
	return true
}

// payloadsAgree reports whether the first payload each way, where both
// connections saw one, has the same digest and sequence number.
func payloadsAgree(a, b *traceConn) bool {
	for _, d := range [2]Side{Client, Server} {
		sa, sb := firstPayload(a, d), firstPayload(b, d)
		if sa != nil && sb != nil && (sa.digest != sb.digest || sa.seq != sb.seq) {
			return false
		}
	}
	return true
}

// firstPayload is the first segment of side d with payload, nil if none
// among the traced segments.
func firstPayload(c *traceConn, d Side) *traceSeg {
	for i := range c.segs {
		if s := &c.segs[i]; s.dir == d && s.length > 0 {
			return s
		}
	}
	return nil
}

// isnOf returns c's ISN key; ok is false without the client's ISN.
func isnOf(c *traceConn) (isnKey, bool) {
	if !c.hasISN[Client] {
		return isnKey{}, false
	}
	if c.hasISN[Server] {
		return isnKey{client: c.isn[Client], server: c.isn[Server], pair: true}, true
	}
	return isnKey{client: c.isn[Client]}, true
}

// endsKey is the canonical key of a connection with endpoints ends.
func endsKey(ends [2]netip.AddrPort) flows.Key {
	return flows.KeyOf(&capture.Packet{Src: ends[0].Addr(), Dst: ends[1].Addr(), SrcPort: ends[0].Port(), DstPort: ends[1].Port()})
}

func containsJ(s []*jconn, jc *jconn) bool {
	for _, x := range s {
		if x == jc {
			return true
		}
	}
	return false
}

// sameSeg reports whether a and b are records of the same packet: the
// same direction, flags, numbers and length, and the same IPv4 ID where
// both have one.
func sameSeg(a, b *traceSeg) bool {
	return a.dir == b.dir && a.flags == b.flags && a.seq == b.seq && a.ack == b.ack && a.length == b.length &&
		a.digest == b.digest && (!a.hasIPID || !b.hasIPID || a.ipid == b.ipid)
}
