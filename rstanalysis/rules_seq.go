package rstanalysis

import (
	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// seqKnown reports whether the sender's sequence space was seen from its
// start, so that a RST's seq can be compared with it.
func seqKnown(c *flows.Conn, sender *flows.Half) bool { return sender.HasSeq && !c.Midstream }

// ruleSeq: an endpoint aborting sends its SND.NXT; a stack without the
// connection answers with seq = the segment's ack (RFC 9293 §3.10.7.1). A
// seq beyond anything the sender sent was not made by it (RFC 9293 §3.4).
func ruleSeq(pd *pending, c *flows.Conn, p *capture.Packet) {
	d := pd.dir
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if !seqKnown(c, sender) {
		if peer.HasAck && p.Seq == peer.LastAck && p.Flags&capture.ACK == 0 {
			pd.fs.add(RuleSeqPeerAck, 0, on(newest(peer)), "seq = the %s's last ack: a stack answering a segment it has no connection for (RFC 9293 §3.10.7.1)", d.Peer())
		}
		return
	}
	switch diff := flows.SeqDiff(sender.SndNxt, p.Seq); {
	case diff == 0:
		// An abort on a live socket sends RST+ACK (Linux
		// tcp_send_active_reset); a bare RST is a stack answering a
		// segment without the socket, even when its seq is the same.
		pd.seqLive = p.Flags&capture.ACK != 0
		pd.fs.add(RuleSeqInWindow, -weak, nil, "seq %d = the %s's next sequence number", p.Seq, d)
	case diff > 0 && diff <= 1 && sender.SawFIN:
		// seq one past SND.NXT is impossible; tolerate a FIN counted twice
	case diff > 0:
		pd.fs.add(RuleSeqBeyond, moderate, nil, "seq %d is %d bytes beyond anything the %s sent (its next seq %d)", p.Seq, diff, d, sender.SndNxt)
		pd.injectedish = true
	case peer.HasAck && p.Seq == peer.LastAck:
		pd.fs.add(RuleSeqPeerAck, 0, on(newest(peer)), "seq = the %s's last ack, %d bytes behind the %s's next seq: a stack that no longer has the connection",
			d.Peer(), -diff, d)
	}
}

// gfwSteps are the seq jumps between the RSTs of the Great Firewall's
// burst: one RST, then RST+ACKs at X, X+1460, X+4380 (Wang et al., IMC 2017).
var gfwSteps = [...]int64{1460, 2920, 4380}

// gfwStep reports whether a seq jump between two RSTs is one of gfwSteps.
func gfwStep(jump int64) bool {
	for _, s := range gfwSteps {
		if jump == s {
			return true
		}
	}
	return false
}

// ruleBurst: back-to-back RSTs from one side whose seq jumps by a segment
// size, or whose ack differs with nothing between them, come from an
// injector (Wang et al., IMC 2017; Cloudflare, SIGCOMM 2023: RST≠RST).
func ruleBurst(pd *pending, c *flows.Conn, p *capture.Packet) {
	d := pd.dir
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if !seqKnown(c, sender) || sender.RSTs == 0 || peer.LastTime.After(sender.LastRSTTime) {
		return
	}
	switch jump := flows.SeqDiff(sender.LastRSTSeq, p.Seq); {
	case gfwStep(jump):
		pd.fs.add(RuleBurstGFWStep, moderate, on(c.LastRST), "seq jumps by %d from the previous RST (frame %d): the Great Firewall's RST burst pattern (Wang et al., IMC 2017)",
			jump, c.LastRST)
		pd.injectedish = true
	case p.Flags&capture.ACK != 0 && sender.LastRSTFlags&capture.ACK != 0 && p.Ack != sender.LastRSTAck:
		pd.fs.add(RuleBurstAckDiffers, weak, on(c.LastRST), "ack %d differs from the previous RST's (%d) with no packet between: two senders (Cloudflare RST≠RST)",
			p.Ack, sender.LastRSTAck)
		pd.injectedish = true
	}
}

// ruleAckZero: RST+ACK with ack 0 is an injector's signature (Cloudflare,
// SIGCOMM 2023: RST;RST0).
func ruleAckZero(pd *pending, c *flows.Conn, p *capture.Packet) {
	if seqKnown(c, &c.Half[pd.dir]) && p.Flags&capture.ACK != 0 && p.Ack == 0 {
		pd.fs.add(RuleBurstAckZero, moderate, nil, "RST+ACK with ack 0: an injector's signature (Cloudflare RST;RST0)")
		pd.injectedish = true
	}
}
