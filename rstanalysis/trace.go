package rstanalysis

import (
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Trace is a compact record of one input's connections, kept while the
// input is read so that captures of the same incident can be read together
// (Joint): per connection its endpoints, initial sequence numbers, first
// segments, every RST, and per side the first and last packet time and the
// highest sequence number sent. Memory per connection is bounded
// (traceSegs segments, traceRSTs RSTs). A Trace is fed in capture order
// and is not safe for concurrent use.
type Trace struct {
	// File names the input ("" for a single input).
	File string
	// First and Last are the capture times of the input's first and last
	// TCP segment; zero when it had none.
	First, Last time.Time
	// Dropped is the frames the capture reported dropped (capture.Stats):
	// a capture that dropped frames proves no absence.
	Dropped uint64

	byKey map[flows.Key][]*traceConn // the connections of each key, latest last
	conns []*traceConn               // every connection, in order of first packet
}

// traceSegs and traceRSTs bound what a Trace keeps of one connection.
const (
	traceSegs = 16
	traceRSTs = 32
	// digestBytes is how much of a payload its digest covers.
	digestBytes = 64
)

// traceSeg is one segment of a traced connection, as the capture saw it.
type traceSeg struct {
	t       int64 // Unix nanoseconds
	frame   uint64
	dir     Side
	flags   capture.Flags
	seq     uint32
	ack     uint32
	length  uint32
	ttl     uint8
	ipid    uint16
	hasIPID bool
	digest  uint32 // FNV-1a of the first digestBytes of payload; 0: none
	// peerTop is, for a RST, the highest sequence number the other side
	// had sent when the RST was seen (valid when peerSent).
	peerTop  uint32
	peerSent bool
}

// traceConn is what a Trace keeps of one connection. Side 0 is the client
// (the SYN sender; without a SYN, the end with the higher port).
type traceConn struct {
	ends   [2]netip.AddrPort
	isn    [2]uint32
	hasISN [2]bool
	first  [2]time.Time // zero: the side sent nothing
	last   [2]time.Time
	sends  [2]time.Time // the last packet of the side that was not a RST
	top    [2]uint32    // highest seq+len sent (valid when sent[side])
	sent   [2]bool
	ttl    [2]uint8 // the TTL of the side's first non-RST packet
	hasTTL [2]bool
	segs   []traceSeg
	rsts   []traceSeg
}

// NewTrace returns an empty Trace for the input named file.
func NewTrace(file string) *Trace {
	return &Trace{File: file, byKey: map[flows.Key][]*traceConn{}}
}

// Packet records segment p.
func (t *Trace) Packet(p *capture.Packet) {
	if t.First.IsZero() {
		t.First = p.Time
	}
	t.Last = p.Time
	k := flows.KeyOf(p)
	cs := t.byKey[k]
	var c *traceConn
	if len(cs) > 0 {
		c = cs[len(cs)-1]
	}
	syn := p.Flags&(capture.SYN|capture.ACK) == capture.SYN
	if c == nil || syn && !(c.hasISN[Client] && c.isn[Client] == p.Seq && c.ends[Client] == p.SrcAddrPort()) {
		c = newTraceConn(p)
		t.byKey[k] = append(cs, c)
		t.conns = append(t.conns, c)
	}
	c.add(p)
}

func newTraceConn(p *capture.Packet) *traceConn {
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	c := &traceConn{segs: make([]traceSeg, 0, 8)}
	switch {
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN:
		c.ends = [2]netip.AddrPort{src, dst}
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN|capture.ACK:
		c.ends = [2]netip.AddrPort{dst, src}
	case p.SrcPort >= p.DstPort:
		c.ends = [2]netip.AddrPort{src, dst}
	default:
		c.ends = [2]netip.AddrPort{dst, src}
	}
	return c
}

// add records p on c.
func (c *traceConn) add(p *capture.Packet) {
	d := Client
	if p.SrcAddrPort() != c.ends[Client] {
		d = Server
	}
	if p.Flags&capture.SYN != 0 && !c.hasISN[d] {
		c.isn[d], c.hasISN[d] = p.Seq, true
	}
	if c.first[d].IsZero() {
		c.first[d] = p.Time
	}
	c.last[d] = p.Time
	s := traceSeg{t: p.Time.UnixNano(), frame: p.Frame, dir: d, flags: p.Flags, seq: p.Seq, ack: p.Ack,
		length: uint32(p.PayloadLen), ttl: p.TTL, ipid: p.IPID, hasIPID: p.HasIPID, digest: digest(p.Payload())}
	rst := p.Flags&capture.RST != 0
	if rst {
		s.peerTop, s.peerSent = c.top[d.Peer()], c.sent[d.Peer()]
		if len(c.rsts) < traceRSTs {
			c.rsts = append(c.rsts, s)
		}
	} else if !c.hasTTL[d] {
		c.ttl[d], c.hasTTL[d] = p.TTL, true
	}
	if len(c.segs) < traceSegs {
		c.segs = append(c.segs, s)
	}
	if rst {
		return
	}
	c.sends[d] = p.Time
	end := p.Seq + uint32(p.PayloadLen)
	if p.Flags&(capture.SYN|capture.FIN) != 0 {
		end++
	}
	if !c.sent[d] || int32(end-c.top[d]) > 0 {
		c.top[d], c.sent[d] = end, true
	}
}

// digest is a short hash of the first payload bytes; 0 for no payload.
func digest(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write(b[:min(len(b), digestBytes)])
	return h.Sum32() | 1
}

// hops is the hop count from side d to the vantage point, from the TTL of
// d's first ordinary packet; -1 when unknown.
func (c *traceConn) hops(d Side) int {
	if !c.hasTTL[d] {
		return -1
	}
	return flows.Hops(c.ttl[d])
}

// start is the time of c's first packet.
func (c *traceConn) start() time.Time {
	switch {
	case c.first[0].IsZero():
		return c.first[1]
	case c.first[1].IsZero() || c.first[0].Before(c.first[1]):
		return c.first[0]
	}
	return c.first[1]
}

// flip swaps c's sides: the guess of which end is the client was the
// other capture's opposite.
func (c *traceConn) flip() {
	c.ends[0], c.ends[1] = c.ends[1], c.ends[0]
	c.isn[0], c.isn[1] = c.isn[1], c.isn[0]
	c.hasISN[0], c.hasISN[1] = c.hasISN[1], c.hasISN[0]
	c.first[0], c.first[1] = c.first[1], c.first[0]
	c.last[0], c.last[1] = c.last[1], c.last[0]
	c.sends[0], c.sends[1] = c.sends[1], c.sends[0]
	c.top[0], c.top[1] = c.top[1], c.top[0]
	c.sent[0], c.sent[1] = c.sent[1], c.sent[0]
	c.ttl[0], c.ttl[1] = c.ttl[1], c.ttl[0]
	c.hasTTL[0], c.hasTTL[1] = c.hasTTL[1], c.hasTTL[0]
	for i := range c.segs {
		c.segs[i].dir = c.segs[i].dir.Peer()
	}
	for i := range c.rsts {
		c.rsts[i].dir = c.rsts[i].dir.Peer()
	}
}
