package rstanalysis

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// atEnd is a rule that judges a RST when its verdict is decided, with what
// followed it: c is its connection as it then is, nil when it has gone.
type atEnd func(pd *pending, c *flows.Conn)

// endRules run in this order when the verdict is decided.
var endRules = [...]atEnd{ruleTTL, rulePathHops, ruleRace, ruleChallenge, ruleFollowBurst}

// afterKind is what a packet that followed a RST was.
type afterKind uint8

const (
	afterACK afterKind = iota + 1
	afterSYNACK
	afterSYN
	afterData
	afterFIN
)

// after records the first packet of some kind seen after the RST.
type after struct {
	frame uint64 // 0: none
	dt    time.Duration
	bytes int32 // payload, for afterData
	kind  afterKind
}

func afterOf(p *capture.Packet, dt time.Duration) after {
	a := after{frame: p.Frame, dt: dt, kind: afterACK, bytes: int32(p.PayloadLen)}
	switch {
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN|capture.ACK:
		a.kind = afterSYNACK
	case p.Flags&capture.SYN != 0:
		a.kind = afterSYN
	case p.PayloadLen > 0:
		a.kind = afterData
	case p.Flags&capture.FIN != 0:
		a.kind = afterFIN
	}
	return a
}

// String says what the packet was: "its SYN-ACK", "12 bytes of data".
func (a after) String() string {
	switch a.kind {
	case afterSYNACK:
		return "its SYN-ACK"
	case afterSYN:
		return "a SYN"
	case afterData:
		return fmt.Sprintf("%d bytes of data", a.bytes)
	case afterFIN:
		return "a FIN"
	}
	return "an ACK"
}

// observe records a packet that follows the RST on its connection, sent by
// side d.
func (pd *pending) observe(d flows.Side, p *capture.Packet) {
	pd.lad.after(d, p)
	if p.Flags&capture.RST != 0 {
		if d == pd.dir && pd.followJump == 0 {
			if j := flows.SeqDiff(pd.v.Seq, p.Seq); gfwStep(j) {
				pd.followJump, pd.followFrame = j, p.Frame
			}
		}
		return
	}
	a := afterOf(p, p.Time.Sub(pd.v.Time))
	if d == pd.dir {
		if pd.senderAfter.frame == 0 {
			pd.senderAfter = a
		}
	} else if pd.peerAfter.frame == 0 {
		pd.peerAfter = a
	}
}

// ruleRace: the claimed sender went on sending after its RST, or the
// server's SYN-ACK came after a RST to the SYN: the RST was not its own
// (Weaver, Sommer and Paxson, NDSS 2009; Zeek's data_after_reset).
func ruleRace(pd *pending, _ *flows.Conn) {
	s, d := pd.senderAfter, pd.dir
	if s.frame == 0 {
		return
	}
	if s.kind == afterSYNACK {
		pd.fs.add(RuleAfterSYNACK, strong, on(s.frame), "the %s's SYN-ACK (frame %d) arrived %s after this RST: the %s had not refused the connection",
			d, s.frame, ms(s.dt), d)
	} else {
		pd.fs.add(RuleAfterContinues, strong, on(s.frame), "the %s kept sending after this RST: %s at frame %d, %s later (Weaver et al., NDSS 2009)",
			d, s, s.frame, ms(s.dt))
	}
	pd.injectedish = true
}

// challengeSlack is added to 1.5 legs of the receiver's RTT: a receiver
// that still sends later than that had the RST reach it and kept its
// connection.
const challengeSlack = time.Millisecond

// ruleChallenge: the receiver kept its connection after the RST. A stack
// accepts only a RST whose seq is exactly RCV.NXT, and answers one merely
// in its window with a challenge ACK (RFC 5961 §3.2).
func ruleChallenge(pd *pending, c *flows.Conn) {
	pa, d := pd.peerAfter, pd.dir
	if pa.frame == 0 || c == nil {
		return
	}
	leg := c.LegRTT(d.Peer())
	if hop := c.Half[d.Peer()].Hops(); hop != 0 && leg == 0 {
		return // no clock for the receiver's answer
	}
	if pa.dt > leg+leg/2+challengeSlack {
		pd.fs.add(RuleAfterPeerGoesOn, weak, on(pa.frame), "the %s kept its connection: %s at frame %d, %s later (a receiver accepts only an exact RST, RFC 5961 §3.2)",
			d.Peer(), pa, pa.frame, ms(pa.dt))
	}
}

// ruleFollowBurst: a later RST from the same side whose seq jumps as the
// Great Firewall's burst does (Wang et al., IMC 2017).
func ruleFollowBurst(pd *pending, _ *flows.Conn) {
	if pd.followJump != 0 {
		pd.fs.add(RuleBurstFollowStep, moderate, on(pd.followFrame), "followed by a RST whose seq jumps by %d: the Great Firewall's burst pattern (Wang et al., IMC 2017)", pd.followJump)
		pd.injectedish = true
	}
}
