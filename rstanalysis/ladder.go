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

// draft is the ladder of a verdict in the making, in half the memory of
// Segments (capture time as flows.Nanos, the RST by its index): a pending
// verdict keeps it from one RST to the next (recycle), and the Ladder is
// made of it when the verdict is emitted (pending.ladder).
type draft struct {
	rungs  []rung
	rst    int // the RST's index in rungs
	isn    [2]uint32
	hasISN [2]bool
}

// rung is a Segment of a draft.
type rung struct {
	frame    uint64
	at       flows.Nanos
	seq, ack uint32
	len      int32
	flags    capture.Flags
	from     flows.Side
	ttl      uint8
}

// newDraft returns a draft with room for the longest ladder.
func newDraft() *draft { return &draft{rungs: make([]rung, 0, LadderBefore+1+LadderAfter)} }

// start makes l the ladder of RST p, sent by side d on c (as it was
// before p), so far: c's recent segments and the RST.
func (l *draft) start(c *flows.Conn, d flows.Side, p *capture.Packet) {
	// Each side remembers at most 6 segments (flows' ring): 16 leave room.
	var buf [16]rung
	before := buf[:0]
	for s := flows.Client; s <= flows.Server; s++ {
		h := &c.Half[s]
		l.isn[s], l.hasISN[s] = h.ISN, h.SawSYN
		h.Recent(func(r *flows.Seen) bool {
			before = append(before, rung{frame: r.Frame, at: r.At, from: s, flags: r.Flags,
				seq: r.Seq, ack: r.Ack, len: int32(seenLen(r)), ttl: r.TTL})
			return true
		})
	}
	slices.SortFunc(before, func(a, b rung) int { return cmp.Compare(a.frame, b.frame) })
	if len(before) > LadderBefore {
		before = before[len(before)-LadderBefore:]
	}
	l.rungs = append(l.rungs[:0], before...)
	l.rst = len(l.rungs)
	l.rungs = append(l.rungs, rungOf(d, p))
}

// after adds p, sent by side d after the RST, while there is room.
func (l *draft) after(d flows.Side, p *capture.Packet) {
	if len(l.rungs)-1-l.rst < LadderAfter {
		l.rungs = append(l.rungs, rungOf(d, p))
	}
}

// to makes out the Ladder of l, in out's memory when it has room.
func (l *draft) to(out *Ladder) {
	segs := out.Segments[:0]
	if cap(segs) < len(l.rungs) {
		segs = make([]Segment, 0, len(l.rungs))
	}
	for i := range l.rungs {
		r := &l.rungs[i]
		segs = append(segs, Segment{Frame: r.frame, Time: r.at.Time(), From: r.from, Flags: r.flags,
			Seq: r.seq, Ack: r.ack, Len: int(r.len), TTL: r.ttl, RST: i == l.rst})
	}
	*out = Ladder{Segments: segs, isn: l.isn, hasISN: l.hasISN}
}

func rungOf(d flows.Side, p *capture.Packet) rung {
	return rung{frame: p.Frame, at: flows.NanosOf(p.Time), from: d, flags: p.Flags, seq: p.Seq, ack: p.Ack,
		len: int32(p.PayloadLen), ttl: p.TTL}
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
