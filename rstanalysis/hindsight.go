package rstanalysis

import "time"

// hindsight holds back, in capture order, the verdicts that lacked a
// reference for their sender when their grace period ended (no packet of
// it to compare the RST's TTL with, no RTT to time a refusal against), and
// the verdicts behind them, until the verdict of a RST Config.Hindsight
// later comes (or the input ends): an incident capture often shows a
// server's first connection refused and its later ones answered, and the
// later SYN-ACKs carry the TTL and RTT the refusal needs. A held verdict is
// then decided again with the first references the table learnt of its
// sender within that window (pending.rejudge), and everything is emitted
// in capture order. At most maxHeld verdicts wait, so memory stays bounded
// on a capture with many resets: when the verdicts from a held one reach
// maxHeld within its window, it goes as it was decided.
//
// Its clock is the RST time of the latest verdict added, never the time of
// the packet being read: verdicts come in capture order whatever the number
// of workers, but how far the reading is ahead of them depends on the
// workers and the scheduler, and a verdict must not (whether it is held to
// its end or let go by maxHeld). It runs where the host table lives: the
// Analyzer's goroutine, or the reading goroutine of Sharded.
type hindsight struct {
	hosts  *Hosts
	window time.Duration // 0: off
	// ring holds the held verdicts and those behind them, in capture order,
	// n of them from head (wrapping): a ring, so that it never holds more
	// than maxHeld, the most that wait at once.
	ring    []slot
	head, n int
	emit    func(*Verdict)
	// lent: the verdicts added lend their Findings and Ladder (Config.Lend),
	// which the ring copies into its slots' own memory.
	lent bool
}

// slot is a place in the ring: a verdict and, for a lent one, the memory
// its Findings and Ladder are copied into, kept from one verdict to the
// next.
type slot struct {
	v    Verdict
	lad  *Ladder
	fins []Finding
}

// keep copies the Findings and the Ladder of s.v into s's own memory.
func (s *slot) keep() { s.lad, s.fins = ownLent(&s.v, s.lad, s.fins) }

// maxHeld bounds the verdicts that wait for hindsight.
const maxHeld = 1024

// waiting returns the number of verdicts that wait.
func (h *hindsight) waiting() int { return h.n }

// add takes the next verdict in capture order.
func (h *hindsight) add(v *Verdict) {
	if h.n == 0 && v.held == nil {
		h.emit(v)
		return
	}
	if h.n == len(h.ring) {
		// advance leaves fewer than maxHeld waiting: maxHeld slots suffice.
		ring := make([]slot, max(min(2*len(h.ring), maxHeld), 16, h.n+1))
		k := copy(ring, h.ring[h.head:])
		copy(ring[k:], h.ring[:h.head])
		h.ring, h.head = ring, 0
	}
	s := &h.ring[(h.head+h.n)%len(h.ring)]
	if s.v = *v; h.lent {
		s.keep()
	}
	h.n++
	h.advance(v.Time, v.Frame)
}

// advance emits the verdicts due once the verdicts up to that of the RST
// at frame, capture time now, have come: a held one once now is
// Config.Hindsight past its RST, or when maxHeld verdicts wait from it
// (it then goes as it was decided). It is decided again with what the
// table learnt before frame (0: all it learnt). A zero now emits all.
func (h *hindsight) advance(now time.Time, frame uint64) {
	for ; h.n > 0; h.n-- {
		v := &h.ring[h.head].v
		if pd := v.held; pd != nil {
			full := h.n >= maxHeld
			if !now.IsZero() && now.Sub(v.Time) < h.window && !full {
				return
			}
			if now.IsZero() || now.Sub(v.Time) >= h.window { // due: a full queue lets an undue one go as it was
				sender := v.Server.Addr()
				if v.From == Client {
					sender = v.Client.Addr()
				}
				pd.rejudge(h.hosts, sender, v.Time.Add(h.window), frame)
				*v = pd.v
			}
			v.held = nil
		}
		h.emit(v)
		*v = Verdict{}
		h.head = (h.head + 1) % len(h.ring)
	}
	h.head = 0
}
