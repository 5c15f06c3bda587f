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
	leg := c.LegRTT(d)
	peer := &c.Half[d.Peer()]
	if leg == 0 && d == flows.Server && pd.v.Phase == PhaseSYN {
		// Another connection's SYN-ACK is a weaker clock: behind one
		// address a load balancer may reach backends at other distances.
		trig := answered(peer, p, true, 0)
		if trig == nil {
			return
		}
		pd.synTrig = *trig
		if h, ok := pd.hosts.of(true); ok && h.rtt > 0 {
			timingAgainstHost(pd, h)
		}
		return
	}
	if leg < timingMinLeg {
		return
	}
	if trig := answered(peer, p, pd.v.Phase == PhaseSYN, leg); trig != nil {
		timingAgainst(pd, trig, leg, "handshake", strong)
	}
}

// timingAgainstHost weighs the delay of a refusal with the sender's SYN-ACK
// RTT on another connection, h.
func timingAgainstHost(pd *pending, h hostInfo) {
	when := ""
	if h.frame > pd.v.Frame {
		when = ", after this RST"
	}
	n := len(pd.fs)
	timingAgainst(pd, &pd.synTrig, h.rtt, fmt.Sprintf("its SYN-ACK at frame %d%s", h.frame, when), moderate)
	if when != "" && len(pd.fs) > n && pd.fs[n].rule == RuleTimingPlausible {
		// A plausible delay is soft evidence a forger matches for free; from
		// a clock read after the RST (the address may have moved to another
		// backend since) it is only context.
		pd.fs[n].forged = 0
	}
}

// timingAgainst weighs the delay between the segment the RST answers,
// trig, and the RST against leg, the round trip to the claimed sender
// measured at where.
func timingAgainst(pd *pending, trig *flows.Seen, leg time.Duration, where string, weight float64) {
	if leg < timingMinLeg {
		return
	}
	d := pd.dir
	dt := flows.NanosOf(pd.v.Time).Sub(trig.At)
	switch {
	case tooFast(dt, leg):
		pd.fs.add(RuleTimingTooFast, weight, on(trig.Frame), "arrived %s after the %s's segment it answers (frame %d), but the %s is %s away (%s): sent from nearer than the %s",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg), where, d)
	case dt >= leg*timingOKPercent/100:
		pd.fs.add(RuleTimingPlausible, -weak, on(trig.Frame), "arrived %s after the %s's segment it answers (frame %d); the %s is %s away: consistent",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg))
	}
}

// answered returns the peer's remembered segment that RST p answers, or
// nil (RFC 9293 §3.10.7). A RST+ACK answers the segment its ack
// acknowledges: the earliest remembered one that brought the peer's
// sequence to the RST's ack (a pure ACK carries nothing new to answer; a SYN
// only when synOK, since only a refusal answers one). A bare RST takes its
// seq from the ack of the segment it answers (§3.10.7.1), and a stack
// answers a segment as it arrives: of the segments carrying that ack, it
// answers the latest one that a sender leg away could have answered at once
// (a round trip after it, or nearly), and when none fits, the latest of
// them: the RST came too soon, or too late, for the sender to answer any.
func answered(peer *flows.Half, p *capture.Packet, synOK bool, leg time.Duration) *flows.Seen {
	var trig *flows.Seen
	if p.Flags&capture.ACK != 0 {
		peer.Recent(func(s *flows.Seen) bool {
			if s.End == p.Ack && s.End != s.Seq && (synOK || s.Flags&capture.SYN == 0) {
				trig = s
			}
			return true
		})
		return trig
	}
	at := flows.NanosOf(p.Time)
	var latest, near *flows.Seen
	peer.Recent(func(s *flows.Seen) bool {
		if s.Flags&capture.ACK == 0 || s.Ack != p.Seq || s.Flags&capture.SYN != 0 {
			return true
		}
		dt := at.Sub(s.At)
		if latest == nil {
			latest = s
		}
		switch {
		case dt >= leg && dt <= leg+leg/2+timingFastMargin:
			trig = s
			return false
		case near == nil && dt >= leg*timingOKPercent/100 && dt < leg:
			near = s
		}
		return true
	})
	switch {
	case trig != nil:
		return trig
	case near != nil:
		return near
	}
	return latest
}

// tooFast reports whether a reply dt after its trigger came sooner than a
// sender a round trip of leg away can answer.
func tooFast(dt, leg time.Duration) bool {
	return dt < leg/timingFastDiv && leg-dt >= timingFastMargin
}
