package flows

import "github.com/rstscope/rstscope/capture"

// apply records p, sent by side d, in connection c.
func (t *Table) apply(c *Conn, d Side, p *capture.Packet) {
	now := NanosOf(p.Time)
	c.Hist.record(c, d, p)
	h := &c.Half[d]
	if h.Packets == 0 {
		h.FirstTime = now
	}
	h.Packets++
	h.PayloadBytes += uint64(p.PayloadLen)
	h.LastTime = now
	c.GapBefore = now.Sub(c.LastTime)
	c.LastTime = now
	if p.Flags&capture.RST != 0 {
		c.recordRST(d, p, now)
	} else {
		h.LastOrdinary = now
		h.recordIP(p)
		end := c.recordSeq(d, p, now)
		if p.PayloadLen > 0 {
			t.recordPayload(c, d, p, now)
		}
		// Field by field: a Seen literal is built on the stack and copied in
		// 16-byte loads that cannot be forwarded from its smaller stores.
		e := &h.ring[h.ringN%seenRing]
		e.Frame, e.At, e.Seq, e.End, e.Ack, e.Flags, e.TTL = p.Frame, now, p.Seq, end, p.Ack, p.Flags, p.TTL
		h.ringN++
		if h.ringC < seenRing {
			h.ringC++
		}
	}
	t.touch(c)
}

// recordRST records RST p, sent by side d at now: the sender's latest RST,
// and the connection's reset event.
func (c *Conn) recordRST(d Side, p *capture.Packet, now Nanos) {
	h := &c.Half[d]
	h.RSTs++
	h.LastRSTSeq, h.LastRSTAck, h.LastRSTFlags, h.LastRSTTime = p.Seq, p.Ack, p.Flags, now
	c.RSTs++
	if !c.ResetStanding() {
		c.FirstRST, c.FirstRSTTime = p.Frame, now
		c.FirstRSTSide = d
	}
	c.LastRST = p.Frame
	c.LastRSTTime = now
}

// recordIP records the TTL, IP ID and DF history of the sender's ordinary
// packets.
func (h *Half) recordIP(p *capture.Packet) {
	h.addTTL(p.TTL)
	h.TTLLast = p.TTL
	h.TTLCount++
	if p.HasIPID {
		if h.IPIDCount > 0 {
			step := p.IPID - h.IPIDLast
			if step >= 0x8000 { // a backward step: its circular distance
				step = -step
			}
			h.IPIDMaxStep = max(h.IPIDMaxStep, step)
		}
		h.IPIDLast = p.IPID
		h.IPIDCount++
		if p.IPID == 0 {
			h.IPIDZero++
		}
	}
	if p.DF {
		h.DFCount++
	}
}

// recordSeq records the sequence space of side d (RFC 9293 §3.4) and the
// handshake's times, and returns SEG.SEQ+SEG.LEN of p.
func (c *Conn) recordSeq(d Side, p *capture.Packet, now Nanos) (end uint32) {
	h := &c.Half[d]
	if p.Flags&capture.SYN != 0 {
		h.ISN = p.Seq
		h.SawSYN = true
		if d == Client && p.Flags&capture.ACK == 0 {
			c.SYNTime = now
			c.SYNs++
		} else if d == Server && p.Flags&capture.ACK != 0 && c.SYNACKTime.IsZero() {
			c.SYNACKTime = now
			c.ackIdle = false
		}
	}
	end = p.Seq + p.SeqLen()
	if !h.HasSeq || SeqLess(h.SndNxt, end) {
		h.SndNxt = end
		h.HasSeq = true
	}
	if p.Flags&capture.ACK != 0 {
		h.LastAck = p.Ack
		h.HasAck = true
		if d == Client && p.Flags&capture.SYN == 0 && c.ACKTime.IsZero() && !c.ackIdle {
			if c.SYNACKTime.IsZero() {
				c.ackIdle = true
			} else if p.Ack == c.Half[Server].ISN+1 {
				c.ACKTime = now
			}
		}
	}
	h.Window = p.Window
	// c.fins rather than h.SawFIN, which is in a line the packet does not
	// otherwise read (see Conn): the same bit.
	if p.Flags&capture.FIN != 0 && c.fins&(1<<d) == 0 {
		h.SawFIN = true
		c.fins |= 1 << d
		h.FINSeq = p.Seq + uint32(p.PayloadLen)
		h.FINTime = now
	}
	return end
}

// recordPayload records a segment with payload from side d: the payload
// turns, the client's latest turn, the head of the stream and TLS alerts.
func (t *Table) recordPayload(c *Conn, d Side, p *capture.Packet, now Nanos) {
	h := &c.Half[d]
	h.LastPayloadTime = now
	if c.Turns == 0 || c.LastPaySide != d {
		c.Turns++
		c.LastPaySide = d
		if d == Client {
			t.setTurn(c, p.Payload())
		}
	}
	t.reassemble(c, d, p)
	h.noteAlert(p.Payload())
}
