package rstanalysis

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Thresholds of the timing rule. One handshake is one sample of the path,
// and a SYN-ACK delayed by a loaded server or path inflates it; an injector
// or a firewall near the vantage point answers within a fraction of a
// millisecond. So a RST is too fast only when it came in under a quarter of
// the leg and at least 2 ms short of it, and consistent from 80% of it.
const (
	timingMinLeg     = time.Millisecond // shorter legs say nothing
	timingFastDiv    = 4                // too fast: under leg/timingFastDiv
	timingFastMargin = 2 * time.Millisecond
	timingOKPercent  = 80 // consistent: at least this share of the leg
)

// ruleTiming: a reply from the claimed sender cannot reach the vantage point
// sooner than the round trip to it allows. The RTT comes from the
// handshake (RFC 9293 §3.5: SYN → SYN-ACK for the server's leg, SYN-ACK →
// ACK for the client's), never from a RST.
func ruleTiming(pd *pending, c *flows.Conn, p *capture.Packet) {
	d := pd.dir
	leg, where, weight := c.LegRTT(d), "handshake", strong
	if leg == 0 && d == flows.Server && pd.v.Phase == PhaseSYN {
		// Another connection's SYN-ACK is a weaker clock: behind one
		// address a load balancer may reach backends at other distances.
		if h, ok := pd.hosts.of(true); ok && h.rtt > 0 {
			leg, where, weight = h.rtt, fmt.Sprintf("its SYN-ACK at frame %d", h.frame), moderate
		}
	}
	if leg < timingMinLeg {
		return
	}
	trig := answered(&c.Half[d.Peer()], p, pd.v.Phase == PhaseSYN)
	if trig == nil {
		return
	}
	dt := flows.NanosOf(p.Time).Sub(trig.At)
	switch {
	case dt < leg/timingFastDiv && leg-dt >= timingFastMargin:
		pd.fs.add(RuleTimingTooFast, weight, on(trig.Frame), "arrived %s after the %s's segment it answers (frame %d), but the %s is %s away (%s): sent from nearer than the %s",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg), where, d)
	case dt >= leg*timingOKPercent/100:
		pd.fs.add(RuleTimingPlausible, -weak, on(trig.Frame), "arrived %s after the %s's segment it answers (frame %d); the %s is %s away: consistent",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg))
	}
}

// answered returns the peer's remembered segment that RST p answers, or
// nil: for a RST+ACK the earliest remembered segment that brought the
// peer's sequence to the RST's ack (a pure ACK carries nothing new to
// answer; a SYN only when synOK, since only a refusal answers one); for a
// bare RST (seq = the segment's ack, RFC 9293 §3.10.7.1) the earliest of
// the latest run of segments carrying that ack, since any of them may be
// the one answered.
func answered(peer *flows.Half, p *capture.Packet, synOK bool) *flows.Seen {
	var trig *flows.Seen
	peer.Recent(func(s *flows.Seen) bool {
		if p.Flags&capture.ACK != 0 {
			if s.End == p.Ack && s.End != s.Seq && (synOK || s.Flags&capture.SYN == 0) {
				trig = s
			}
			return true
		}
		if s.Flags&capture.ACK != 0 && s.Ack == p.Seq && s.Flags&capture.SYN == 0 {
			trig = s
			return true
		}
		return trig == nil
	})
	return trig
}
