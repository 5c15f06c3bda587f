package rstanalysis

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// phaseOf is the state of the exchange when RST p, sent by side d, arrived
// on c, from the connection as it was before the RST; gap is the idle gap
// (Analyzer.idleGap).
func phaseOf(c *flows.Conn, d flows.Side, p *capture.Packet, gap time.Duration) Phase {
	cl, sv := &c.Half[flows.Client], &c.Half[flows.Server]
	quiet := flows.NanosOf(p.Time).Sub(c.LastTime)
	switch {
	case c.ResetStanding() && c.Half[d.Peer()].LastOrdinary.After(c.FirstRSTTime):
		// The peer sent on after the reset: this RST answers a late
		// segment. Without that it belongs to the first RST's burst, and
		// keeps its phase.
		return PhaseAfterReset
	case c.Midstream:
		return PhaseMidstream
	case !c.SYNMissed && !sv.SawSYN:
		return PhaseSYN
	case cl.SawFIN || sv.SawFIN:
		return PhaseClosing
	case !c.Established() && cl.PayloadBytes == 0 && sv.PayloadBytes == 0:
		return PhaseHandshake
	case flows.TLSHandshakeOpen(c):
		return PhaseTLSHandshake
	case quiet >= gap && c.Turns > 0 && c.LastPaySide == flows.Client:
		return PhaseRequest // the server sat on a request, then reset
	case quiet >= gap, c.GapBefore >= gap:
		return PhaseIdle
	case c.Turns == 0:
		return PhaseEstablished
	case c.LastPaySide == flows.Client:
		return PhaseRequest
	}
	return PhaseResponse
}

// relate links RST p, sent by side d, to the earlier RSTs of its
// connection: the event it belongs to (Verdict.Event) and how
// (Verdict.Relation).
func (pd *pending) relate(c *flows.Conn, d flows.Side, p *capture.Packet) {
	pd.v.Event = p.Frame
	if !c.ResetStanding() {
		return
	}
	pd.v.Event = c.FirstRST
	peer := &c.Half[d.Peer()]
	gap := ms(flows.NanosOf(p.Time).Sub(c.LastRSTTime))
	switch {
	case peer.LastTime.After(c.LastRSTTime) && peer.Packets > uint64(peer.RSTs):
		pd.v.Relation = fmt.Sprintf("answers a %s segment that arrived after the reset at frame %d", d.Peer(), c.FirstRST)
	case c.FirstRSTSide == d:
		pd.v.Relation = fmt.Sprintf("RST #%d of a burst, %s after frame %d", c.RSTs+1, gap, c.LastRST)
	default:
		pd.v.Relation = fmt.Sprintf("the %s's RST after the %s's at frame %d", d, d.Peer(), c.FirstRST)
	}
}
