package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// rstPacket is what a verdict keeps of its RST for the rules that run when
// it is decided, beside what the Verdict has (Time, Seq, Ack, TTL).
type rstPacket struct {
	flags capture.Flags
	mac   [6]byte // capture.Packet.SrcMAC
}

// pending is a verdict in the making: the RST, what the connection looked
// like when it arrived, and what followed within the grace period. Its
// fields are laid out to fit 768 bytes, an allocation size class
// (TestPendingSize): the flags together, no padding between fields.
type pending struct {
	v        Verdict
	conn     *flows.Conn // nil once decided
	gen      uint64      // conn's generation: the connection, not the Conn value
	sameConn *pending    // the previous undecided verdict of the same connection
	rst      rstPacket
	deadline time.Time
	idleGap  time.Duration // Analyzer.idleGap of the connection at the RST
	fs       findings

	senderAfter after         // the claimed sender's first non-RST packet after the RST
	peerAfter   after         // the receiver's first non-RST packet after the RST
	followJump  int64         // seq jump of a later RST from the same side (0: none)
	followFrame uint64        // that RST's frame
	synTrig     flows.Seen    // the SYN a refusal answers, when no RTT to the server was known
	vendor      *vendorReason // a load balancer's reset reason (rules_vendor.go), nil: none
	hosts       HostSnapshot
	lad         *draft // the ladder so far, made a Ladder when the verdict is emitted
	ref         uint32 // the connection's flows.Conn.Ref: its chain in Analyzer.byRef

	dir         flows.Side // the claimed sender
	final       bool
	lone        bool // no other packet of the connection before the RST
	injectedish bool // evidence that points at an injector rather than a firewall
	answersIdle bool // the RST answers the first packet after an idle gap
	serverFINed bool // the server had sent FIN before the client's last payload
	handshakeAn bool // the RST answers the handshake's final ACK
	seqLive     bool // seq = the sender's SND.NXT on a RST+ACK: sent on a live socket
	noTTLRef    bool // no packet of the sender to compare the TTL with (ttl.none)
	// lend: Config.Lend. v.Findings is then pd's own memory, kept when pd
	// is recycled for a later RST, and v.Ladder the Analyzer's; else they
	// are the verdict's.
	lend bool
}

// newPending starts the verdict of RST p, sent by side d on c (as it was
// before p), and runs the rules that judge a RST when it arrives.
func (a *Analyzer) newPending(c *flows.Conn, d flows.Side, p *capture.Packet, snap *HostSnapshot) *pending {
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	pd := a.record()
	pd.conn, pd.gen, pd.ref, pd.dir, pd.deadline, pd.idleGap = c, c.Gen(), c.Ref(), d, p.Time.Add(a.cfg.Grace), a.idleGap(c)
	pd.rst = rstPacket{flags: p.Flags, mac: p.SrcMAC}
	pd.lend = a.cfg.Lend
	if snap != nil {
		pd.hosts = *snap
	}
	v := &pd.v
	v.Frame, v.File, v.Time = p.Frame, a.cfg.File, p.Time.UTC()
	v.Client, v.Server = c.Client(), c.Server()
	v.From = d
	v.Flags = p.Flags.String()
	v.TTL, v.Seq, v.Ack = p.TTL, p.Seq, p.Ack
	v.RTT = c.RTT()
	if v.RTT == 0 {
		v.RTT = c.ServerRTT()
	}
	v.Midstream = c.Midstream
	app := flows.AppOf(c)
	v.Request, v.Response = app.Request, app.Response
	if app.LastRequest != "" {
		v.Request = app.LastRequest + " (after " + app.Request + ")"
	}
	pd.lone = sender.Packets == uint64(sender.RSTs) && peer.Packets == 0
	v.Phase = phaseOf(c, d, p, pd.idleGap)
	pd.relate(c, d, p)
	pd.lad.start(c, d, p)
	for _, rule := range rstRules {
		rule(pd, c, p)
	}
	cl, sv := &c.Half[flows.Client], &c.Half[flows.Server]
	pd.serverFINed = sv.SawFIN && cl.LastPayloadTime.After(sv.FINTime)
	return pd
}

// finalize runs the rules that judge a RST when it is decided, with c
// its connection as it now is (nil when it has gone), and decides. A
// verdict left unknown for want of a reference for its sender's TTL, or of
// a clock for its refusal, is marked for hindsight (Config.Hindsight).
func (pd *pending) finalize(c *flows.Conn, hindsight bool, w Witness) {
	pd.final = true
	pd.conn = nil
	if c != nil {
		pd.v.Vantage = pd.vantageOf(c)
		pd.handshakeAn = pd.handshakeAnswer(c)
		pd.v.ConnState, pd.v.History = c.ConnState(), c.Hist.String()
	}
	for _, rule := range endRules {
		rule(pd, c)
	}
	sworn := pd.hear(w)
	pd.decide()
	pd.swear(sworn)
	if hindsight && pd.v.Origin == OriginUnknown && (pd.noTTLRef || pd.waitsForClock()) {
		pd.v.held = pd
	}
}

// waitsForClock reports whether a refusal had no RTT to its server to be
// timed against.
func (pd *pending) waitsForClock() bool {
	return pd.synTrig.Frame != 0 && !pd.fs.has(RuleTimingTooFast) && !pd.fs.has(RuleTimingPlausible)
}

// rejudge decides a held verdict again with what the host table h learnt
// of its sender after the RST, up to capture time until and before frame
// (0: any frame): the first TTL and the first SYN-ACK RTT it showed on
// other connections.
func (pd *pending) rejudge(h *Hosts, sender netip.Addr, until time.Time, frame uint64) {
	ttl, rtt, ttlOK, rttOK := h.since(sender, flows.NanosOf(until), frame)
	if pd.noTTLRef && ttlOK {
		pd.fs = pd.fs.without(RuleTTLNone).withoutPath(true)
		ttlAgainstHost(pd, ttl)
		pathAgainstHost(pd, ttl)
		pd.noTTLRef = false
	}
	if pd.waitsForClock() && rttOK {
		pd.fs = pd.fs.withoutPath(false)
		timingAgainstHost(pd, rtt)
	}
	pd.pathsSince(h, until, frame)
	pd.decide()
}

// record returns a zeroed pending to start a verdict in: one that an
// earlier verdict left (recycle), with its findings' and its ladder's
// memory, or a new one.
func (a *Analyzer) record() *pending {
	if n := len(a.free); n > 0 {
		pd := a.free[n-1]
		a.free[n-1] = nil
		a.free = a.free[:n-1]
		return pd
	}
	// most verdicts have 2 to 5 findings: one allocation instead of three or four
	return &pending{fs: make(findings, 0, 5), lad: newDraft()}
}

// maxFree bounds the pending records kept for reuse: more than a busy
// capture's verdicts within one grace period.
const maxFree = 4096

// recycle takes back pd once its verdict has been emitted, when nothing
// refers to it any more: the verdict was not held for hindsight or a
// revision (pd.v.held, which must be read before emit, for a reviser clears
// it), and emit's contract is to copy what it keeps of the Verdict. pd is
// reused with the memory of its findings and its ladder in the making
// (pd.fs, whose texts and frames the Findings copied, and pd.lad) and, when
// Config.Lend lent them, of the verdict's Findings; else they are the
// verdict's. pd leaves its connection's chain of verdicts first.
func (a *Analyzer) recycle(pd *pending) {
	a.unlink(pd)
	if len(a.free) >= maxFree {
		return
	}
	fs, lad := pd.fs, pd.lad
	clear(fs) // the texts and frames belong to the verdict emitted
	var mem Verdict
	if pd.lend {
		clear(pd.v.Findings)
		mem.Findings = pd.v.Findings[:0]
	}
	*pd = pending{v: mem, fs: fs[:0], lad: lad}
	a.free = append(a.free, pd)
}

// unlink takes pd out of its connection's chain of verdicts (byRef), if it
// is still there: a decided verdict leaves the chain only when a later
// packet of the connection walks it (observe) or the connection ends.
func (a *Analyzer) unlink(pd *pending) {
	r := pd.ref
	if !a.holds(r) {
		return
	}
	for link := &a.byRef[r]; *link != nil; link = &(*link).sameConn {
		if *link == pd {
			*link = pd.sameConn
			break
		}
	}
	if a.byRef[r] == nil {
		a.held[r/64] &^= 1 << (r % 64)
	}
}
