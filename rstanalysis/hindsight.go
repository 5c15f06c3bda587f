package rstanalysis

import "time"

// hindsight holds back, in capture order, the verdicts that lacked a
// reference for their sender when their grace period ended (no packet of
// it to compare the RST's TTL with, no RTT to time a refusal against), and
// the verdicts behind them, until the host table has seen Config.Hindsight
// more of the capture: an incident capture often shows a server's first
// connection refused and its later ones answered, and the later SYN-ACKs
// carry the TTL and RTT the refusal needs. A held verdict is then decided
// again with the first references the table learnt of its sender within
// that window (pending.rejudge), and everything is emitted in capture
// order. At most maxHeld verdicts wait, so memory stays bounded on a
// capture with many resets: past it the oldest goes as it was decided. It runs where the host table
// lives: the Analyzer's goroutine, or the reading goroutine of Sharded.
type hindsight struct {
	hosts  *Hosts
	window time.Duration // 0: off
	queue  []Verdict     // held verdicts and those behind them, in capture order
	head   int
	emit   func(*Verdict)
}

// maxHeld bounds the verdicts that wait for hindsight.
const maxHeld = 1024

// add takes the next verdict in capture order.
func (h *hindsight) add(v *Verdict) {
	if h.head == len(h.queue) && v.held == nil {
		h.emit(v)
		return
	}
	if h.head > 0 && h.head >= len(h.queue)/2 { // reuse the emitted front
		n := copy(h.queue, h.queue[h.head:])
		clear(h.queue[n:])
		h.queue, h.head = h.queue[:n], 0
	}
	h.queue = append(h.queue, *v)
	h.advance(v.Time)
}

// advance emits the verdicts due at capture time now: a held one once now
// is Config.Hindsight past its RST, or the queue is full; a zero now emits
// all.
func (h *hindsight) advance(now time.Time) {
	for h.head < len(h.queue) {
		v := &h.queue[h.head]
		if pd := v.held; pd != nil {
			full := len(h.queue)-h.head >= maxHeld
			if !now.IsZero() && now.Sub(v.Time) < h.window && !full {
				return
			}
			if !full { // a full queue lets the verdict go as it was
				sender := v.Server.Addr()
				if v.From == Client {
					sender = v.Client.Addr()
				}
				pd.rejudge(h.hosts, sender, v.Time.Add(h.window))
				*v = pd.v
			}
			v.held = nil
		}
		h.emit(v)
		*v = Verdict{}
		h.head++
	}
	h.queue, h.head = h.queue[:0], 0
}
