package rstanalysis

import (
	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// IP ID steps (Cloudflare, SIGCOMM 2023: within a connection an endpoint's
// IPv4 ID changes by 0 or 1 between packets in over 95% of connections).
const (
	ipidSteady     = 2  // a sender whose IDs step by at most this is a counter
	ipidFollowsMax = 3  // a RST within this of the sender's last ID follows it
	ipidJumpMin    = 64 // a RST this far from it, either way, jumps
	ipidHistory    = 3  // packets of the sender needed to know its behaviour
)

// ruleIPID: the sender's IPv4 IDs step by 0 or 1 within a connection; a RST
// that jumps, or copies the ID of the packet it answers, was made elsewhere.
func ruleIPID(pd *pending, c *flows.Conn, p *capture.Packet) {
	if !p.HasIPID {
		return
	}
	d := pd.dir
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if p.IPID != 0 && peer.IPIDCount > 0 && p.IPID == peer.IPIDLast && (sender.IPIDCount == 0 || p.IPID-sender.IPIDLast > ipidSteady) {
		pd.fs.add(RuleIPIDCopied, moderate, on(newest(peer)), "IP ID %d copied from the %s's last packet: an injector's signature", p.IPID, d.Peer())
		pd.injectedish = true
		return
	}
	if p.IPID == 0 || sender.IPIDCount < ipidHistory || sender.IPIDZero == sender.IPIDCount || sender.IPIDMaxStep > ipidSteady {
		return
	}
	// Only a RST sent on the live socket continues its ID sequence; a stack
	// answering for a socket it no longer has picks another (Linux
	// ip_select_ident without a connected socket).
	switch pd.v.Phase {
	case PhaseHandshake, PhaseEstablished, PhaseRequest, PhaseResponse, PhaseTLSHandshake:
	default:
		return
	}
	switch step := p.IPID - sender.IPIDLast; {
	case step >= 1 && step <= ipidFollowsMax:
		pd.fs.add(RuleIPIDFollows, -weak, on(newest(sender)), "IP ID %d follows the %s's last (%d)", p.IPID, d, sender.IPIDLast)
	case step > ipidJumpMin && step < 0x10000-ipidJumpMin:
		pd.fs.add(RuleIPIDJump, moderate, on(newest(sender)), "IP ID %d jumps by %d from the %s's last (%d), whose IDs otherwise step by at most %d",
			p.IPID, step, d, sender.IPIDLast, sender.IPIDMaxStep)
	}
}
