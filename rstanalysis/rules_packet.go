package rstanalysis

import (
	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// atRST is a rule that judges a RST when it arrives: c is its connection as
// it was before the RST, p the RST itself.
type atRST func(pd *pending, c *flows.Conn, p *capture.Packet)

// rstRules run in this order when a RST arrives; the order breaks ties
// between findings of equal weight in the verdict.
var rstRules = [...]atRST{
	ruleShape, ruleSYNAnswer, ruleIPID, ruleIPIDHost, ruleSeq, ruleBurst, ruleAckZero,
	ruleTiming, rulePathTiming, ruleIdle, rulePayload, ruleVendor, ruleLone, rulePath, ruleTunnel,
}

// ruleShape: flag combinations no stack sends, and the shape of a RST made
// without a socket (RFC 9293 §3.1 reserved bits; Linux tcp_v4_send_reset
// and netfilter's nf_send_reset build a RST with IP ID 0, DF, window 0 and
// no options).
func ruleShape(pd *pending, _ *flows.Conn, p *capture.Packet) {
	f := p.Flags
	switch {
	case f&capture.ReservedMask != 0:
		pd.fs.add(RuleShapeReserved, decisive, nil, "reserved TCP flag bits set (0x%03x): a crafted packet, no stack sends that", uint16(f))
		pd.injectedish = true
	case f&(capture.SYN|capture.FIN) != 0:
		pd.fs.add(RuleShapeSYNFIN, decisive, nil, "RST combined with %s: a crafted packet, no stack sends that", (f & (capture.SYN | capture.FIN)).String())
		pd.injectedish = true
	}
	if p.HasIPID && p.IPID == 0 && p.DF && p.Window == 0 && p.Options == 0 {
		pd.fs.add(RuleShapeSocketless, 0, nil, "IP ID 0, DF, window 0, no options: made without a socket (a kernel's reply to a segment it has no connection for, or netfilter REJECT)")
	}
}

// ruleSYNAnswer: a RST answering a SYN must be RST+ACK with ack = ISN+1 to
// be accepted (RFC 9293 §3.10.7.1 and §3.10.7.3, SYN-SENT).
func ruleSYNAnswer(pd *pending, c *flows.Conn, p *capture.Packet) {
	cl := &c.Half[flows.Client]
	if pd.dir != flows.Server || pd.v.Phase != PhaseSYN || !cl.SawSYN {
		return
	}
	switch {
	case p.Flags&capture.ACK == 0:
		pd.fs.add(RuleSYNBareRST, moderate, nil, "bare RST to a SYN: a stack refusing a connection sends RST+ACK with ack = ISN+1 (RFC 9293 §3.10.7.1), a client ignores this one")
		pd.injectedish = true
	case p.Ack != cl.ISN+1:
		pd.fs.add(RuleSYNBadAck, moderate, nil, "ack %d is not the SYN's ISN+1 (%d): the client's stack would ignore it (RFC 9293 §3.10.7.3)", p.Ack, cl.ISN+1)
		pd.injectedish = true
	default:
		pd.fs.add(RuleSYNRefusal, 0, nil, "RST+ACK answers the SYN (ack = ISN+1): the connection was refused")
	}
}

// rulePayload: a RST may carry data, such as a diagnostic text (RFC 9293
// §3.10.7.1 allows it); show it.
func rulePayload(pd *pending, _ *flows.Conn, p *capture.Packet) {
	if p.PayloadLen > 0 {
		pd.fs.add(RulePayload, 0, nil, "carries %d bytes: %q", p.PayloadLen, flows.Printable(p.Payload(), payloadShown))
	}
}

// payloadShown is how many bytes of a RST's payload the evidence quotes.
const payloadShown = 64

// ruleLone: a RST with no other packet of its connection is backscatter or
// a capture that began late, never evidence of who sent it (Zeek #1119);
// and a connection first seen mid-stream has its sides guessed.
func ruleLone(pd *pending, c *flows.Conn, _ *capture.Packet) {
	if pd.lone {
		pd.fs.add(RuleLoneRST, 0, nil, "no other packet of this connection before it: backscatter, or a capture that began late (Zeek issue 1119)")
	}
	if c.Midstream {
		pd.fs.add(RuleLoneMidstream, 0, nil, "capture began mid-connection: client and server guessed from the ports (%d, %d)",
			c.Client().Port(), c.Server().Port())
	}
}

// newest is the frame of the latest non-RST segment of h, 0 if none.
func newest(h *flows.Half) uint64 {
	var f uint64
	h.Recent(func(s *flows.Seen) bool { f = s.Frame; return false })
	return f
}

// ruleIdle: a RST after a long silence, or answering the first packet
// after one: what a NAT, load balancer or firewall that forgot an idle
// connection sends (RFC 9293 §3.8.4: an idle connection sends nothing
// unless keep-alives are on).
func ruleIdle(pd *pending, c *flows.Conn, p *capture.Packet) {
	quiet := flows.NanosOf(p.Time).Sub(c.LastTime)
	switch {
	case c.GapBefore >= pd.idleGap && quiet < pd.idleGap:
		pd.answersIdle = true
		pd.fs.add(RuleIdleAnswers, 0, nil, "answers the first packet after %s of silence", dur(c.GapBefore))
	case quiet >= pd.idleGap && c.Turns > 0:
		pd.fs.add(RuleIdleAfter, 0, nil, "sent after %s of silence", dur(quiet))
	}
}

// ruleTunnel: a RST that came through a tunnel (IP in IP, GRE, ERSPAN,
// VXLAN, Geneve) names the tunnel's endpoints and the outer header's TTL,
// which the encapsulating endpoint set (RFC 2003 §3.1, RFC 2473 §3): it
// counts the hops from the tunnel's entry to the capture point, and the
// inner TTL, which the TTL rules compare, those from the sender to the
// entry. Context, of no weight.
func ruleTunnel(pd *pending, _ *flows.Conn, p *capture.Packet) {
	if p.Encap == capture.EncapNone {
		return
	}
	where := hopsText(flows.Hops(p.OuterTTL)) + " from the capture point"
	if flows.Hops(p.OuterTTL) == 0 {
		where = "the capturing host or on its link"
	}
	pd.fs.add(RuleTunnelOuter, 0, nil, "came through %s from %s to %s with outer TTL %d: the tunnel's entry is %s (inner TTL %d)",
		p.Encap, p.OuterSrc, p.OuterDst, p.OuterTTL, where, p.TTL)
}
