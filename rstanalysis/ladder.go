package rstanalysis

import (
	"cmp"
	"slices"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Segment is one packet of a Ladder: a segment of the RST's connection.
type Segment struct {
	// Frame is the packet's 1-based frame number in the RST's file.
	Frame uint64
	// Time is its capture timestamp, in UTC.
	Time time.Time
	// From is the side whose address it carries.
	From Side
	// Flags are its TCP flags.
	Flags capture.Flags
	// Seq and Ack are its sequence and acknowledgment numbers, absolute, as
	// on the wire (Ladder.Relative gives them relative).
	Seq, Ack uint32
	// Len is its payload length in bytes.
	Len int
	// TTL is its IPv4 TTL or IPv6 hop limit.
	TTL uint8
	// RST marks the verdict's own RST.
	RST bool
}

// Ladder is what a sequence diagram of a RST shows: the latest segments of
// its connection before it (up to LadderBefore, both directions, from the
// connection's memory of recent segments: RSTs before it are not among
// them), the RST, and the segments that followed it within the grace period
// (up to LadderAfter), in capture order.
type Ladder struct {
	Segments []Segment
	// isn holds each side's initial sequence number, when its SYN or
	// SYN-ACK was seen.
	isn    [2]uint32
	hasISN [2]bool
}

// The most segments a ladder shows before and after its RST.
const (
	LadderBefore = 8
	LadderAfter  = 8
)

// start makes l the ladder of RST p, sent by side d on c (as it was
// before p), so far: c's recent segments and the RST. It reuses the memory
// of l's Segments, if any: a pending verdict keeps its ladder from one RST
// to the next when it lends it (Config.Lend).
func (l *Ladder) start(c *flows.Conn, d flows.Side, p *capture.Packet) {
	// Each side remembers at most 6 segments (flows' ring): 16 leave room.
	var buf [16]Segment
	before := buf[:0]
	for s := flows.Client; s <= flows.Server; s++ {
		h := &c.Half[s]
		l.isn[s], l.hasISN[s] = h.ISN, h.SawSYN
		h.Recent(func(r *flows.Seen) bool {
			before = append(before, Segment{Frame: r.Frame, Time: r.At.Time(), From: s, Flags: r.Flags,
				Seq: r.Seq, Ack: r.Ack, Len: seenLen(r), TTL: r.TTL})
			return true
		})
	}
	slices.SortFunc(before, func(a, b Segment) int { return cmp.Compare(a.Frame, b.Frame) })
	if len(before) > LadderBefore {
		before = before[len(before)-LadderBefore:]
	}
	if cap(l.Segments) < len(before)+1 {
		l.Segments = make([]Segment, 0, len(before)+1+2)
	}
	l.Segments = append(l.Segments[:0], before...)
	l.Segments = append(l.Segments, segmentOf(d, p, true))
}

// seenLen is the payload length of a remembered segment: its sequence
// space less the SYN and FIN flags.
func seenLen(r *flows.Seen) int {
	n := int(r.End - r.Seq)
	if r.Flags&capture.SYN != 0 {
		n--
	}
	if r.Flags&capture.FIN != 0 {
		n--
	}
	return max(n, 0)
}

func segmentOf(d flows.Side, p *capture.Packet, rst bool) Segment {
	return Segment{Frame: p.Frame, Time: p.Time.UTC(), From: d, Flags: p.Flags, Seq: p.Seq, Ack: p.Ack,
		Len: p.PayloadLen, TTL: p.TTL, RST: rst}
}

// after adds p, sent by side d after the RST, while there is room.
func (l *Ladder) after(d flows.Side, p *capture.Packet) {
	n := 0
	for i := len(l.Segments) - 1; i >= 0 && !l.Segments[i].RST; i-- {
		n++
	}
	if n < LadderAfter {
		l.Segments = append(l.Segments, segmentOf(d, p, false))
	}
}

// Relative returns s's seq and ack as Wireshark shows them: counted from
// the sender's (for ack, the receiver's) initial sequence number, or, when
// the SYN was not seen, from one before the first seq of that side in the
// ladder. ok is false for a number with no such base (the ack of a side
// that sent nothing in the ladder), which stays absolute.
func (l *Ladder) Relative(s Segment) (seq, ack uint32, seqOK, ackOK bool) {
	seq, ack = s.Seq, s.Ack
	if b, ok := l.base(s.From); ok {
		seq, seqOK = s.Seq-b, true
	}
	if b, ok := l.base(s.From.Peer()); ok {
		ack, ackOK = s.Ack-b, true
	}
	return seq, ack, seqOK, ackOK
}

// base is the number side d's relative sequence numbers count from.
func (l *Ladder) base(d Side) (uint32, bool) {
	if l.hasISN[d] {
		return l.isn[d], true
	}
	for _, s := range l.Segments {
		if s.From == d {
			return s.Seq - 1, true
		}
	}
	return 0, false
}

// IsRST reports whether s has the RST flag.
func (s Segment) IsRST() bool { return s.Flags&capture.RST != 0 }

// HasACK reports whether s has the ACK flag (its Ack is meaningful).
func (s Segment) HasACK() bool { return s.Flags&capture.ACK != 0 }
