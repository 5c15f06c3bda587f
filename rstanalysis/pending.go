package rstanalysis

import (
	"fmt"
	"sort"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// rstPacket is what a verdict keeps of its RST for the rules that run at
// the end of the grace period.
type rstPacket struct {
	time  time.Time
	flags capture.Flags
	seq   uint32
	ack   uint32
	ttl   uint8
}

// after records the first packet of some kind seen after the RST.
type after struct {
	frame uint64
	dt    time.Duration
	what  string
}

// pending is a verdict in the making: the RST, what the connection looked
// like when it arrived, and what followed within the grace period.
type pending struct {
	v        Verdict
	conn     *flows.Conn
	gen      uint64
	dir      flows.Dir // the claimed sender
	rst      rstPacket
	deadline time.Time
	final    bool
	lone     bool
	fs       findings

	senderAfter after        // the claimed sender's first non-RST packet after the RST
	peerAfter   after        // the receiver's first non-RST packet after the RST
	followJump  int64        // seq jump of a later RST from the same side (0: none)
	injectedish bool         // evidence that points at an injector rather than a firewall
	answersIdle bool         // the RST answers the first packet after an idle gap
	serverFINed bool         // the server had sent FIN before the client's last payload
	handshakeAn bool         // the RST answers the handshake's final ACK
	seqLive     bool         // seq = the sender's SND.NXT: sent on a live socket
	hosts       HostSnapshot // a copy: the caller's may be reused
}

func (a *Analyzer) onRST(c *flows.Conn, d flows.Dir, p *capture.Packet, snap *HostSnapshot) {
	a.resets++
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	pd := &pending{conn: c, gen: c.Gen(), dir: d, deadline: p.Time.Add(a.cfg.Grace),
		rst: rstPacket{time: p.Time, flags: p.Flags, seq: p.Seq, ack: p.Ack, ttl: p.TTL}}
	if snap != nil {
		pd.hosts = *snap
	}
	v := &pd.v
	v.Frame, v.File, v.Time = p.Frame, a.cfg.File, p.Time.UTC()
	v.Client, v.Server = c.Client(), c.Server()
	v.From = Side(d)
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
	v.Phase = a.phase(c, d, p)
	pd.relate(c, d, p)

	pd.ruleShape(p)
	pd.ruleSYNAnswer(c, d, p)
	pd.ruleIPID(c, d, p)
	pd.ruleSeq(c, d, p)
	pd.ruleTiming(c, d, p)
	pd.ruleIdle(c, p, a.idleGap(c))
	pd.rulePayload(p)
	if pd.lone {
		pd.fs.add(ruleLone, 0, "no other packet of this connection before it: backscatter, or a capture that began late (Zeek issue 1119)")
	}
	if c.Midstream {
		pd.fs.add(ruleLone, 0, "capture began mid-connection: client and server guessed from the ports (%d, %d)",
			c.Client().Port(), c.Server().Port())
	}
	cl, sv := &c.Half[flows.FromClient], &c.Half[flows.FromServer]
	pd.serverFINed = sv.SawFIN && cl.LastPayloadTime.After(sv.FINTime)

	c.Pending++
	a.queue = append(a.queue, pd)
}

// phase is the state of the exchange when the RST arrived (DESIGN.md §2),
// from the connection as it was before the RST.
func (a *Analyzer) phase(c *flows.Conn, d flows.Dir, p *capture.Packet) Phase {
	cl, sv := &c.Half[flows.FromClient], &c.Half[flows.FromServer]
	quiet, gap := flows.NanosOf(p.Time).Sub(c.LastTime), a.idleGap(c)
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
	case quiet >= gap && c.Turns > 0 && c.LastPayDir == flows.FromClient:
		return PhaseRequest // the server sat on a request, then reset
	case quiet >= gap, c.GapBefore >= gap:
		return PhaseIdle
	case c.Turns == 0:
		return PhaseEstablished
	case c.LastPayDir == flows.FromClient:
		return PhaseRequest
	}
	return PhaseResponse
}

// relate links the RST to the earlier RSTs of its connection.
func (pd *pending) relate(c *flows.Conn, d flows.Dir, p *capture.Packet) {
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
	case c.FirstRSTDir == d:
		pd.v.Relation = fmt.Sprintf("RST #%d of a burst, %s after frame %d", c.RSTs+1, gap, c.LastRST)
	default:
		pd.v.Relation = fmt.Sprintf("the %s's RST after the %s's at frame %d", d, d.Peer(), c.FirstRST)
	}
}

// ruleShape: flag combinations no stack sends (DESIGN.md §3.7).
func (pd *pending) ruleShape(p *capture.Packet) {
	f := p.Flags
	switch {
	case f&capture.ReservedMask != 0:
		pd.fs.add(ruleShape, decisive, "reserved TCP flag bits set (0x%03x): a crafted packet, no stack sends that", uint16(f))
		pd.injectedish = true
	case f&(capture.SYN|capture.FIN) != 0:
		pd.fs.add(ruleShape, decisive, "RST combined with %s: a crafted packet, no stack sends that", (f & (capture.SYN | capture.FIN)).String())
		pd.injectedish = true
	}
	if p.HasIPID && p.IPID == 0 && p.DF && p.Window == 0 && p.Options == 0 {
		pd.fs.add(ruleShape, 0, "IP ID 0, DF, window 0, no options: made without a socket (a kernel's reply to a segment it has no connection for, or netfilter REJECT)")
	}
}

// ruleSYNAnswer: a RST answering a SYN must be RST+ACK with ack = ISN+1 to
// be accepted (RFC 9293 §3.10.7.1 and §3.10.7.3, SYN-SENT).
func (pd *pending) ruleSYNAnswer(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	cl := &c.Half[flows.FromClient]
	if d != flows.FromServer || pd.v.Phase != PhaseSYN || !cl.SawSYN {
		return
	}
	switch {
	case p.Flags&capture.ACK == 0:
		pd.fs.add(ruleFlags, moderate, "bare RST to a SYN: a stack refusing a connection sends RST+ACK with ack = ISN+1 (RFC 9293 §3.10.7.1), a client ignores this one")
		pd.injectedish = true
	case p.Ack != cl.ISN+1:
		pd.fs.add(ruleFlags, moderate, "ack %d is not the SYN's ISN+1 (%d): the client's stack would ignore it (RFC 9293 §3.10.7.3)", p.Ack, cl.ISN+1)
		pd.injectedish = true
	default:
		pd.fs.add(ruleFlags, 0, "RST+ACK answers the SYN (ack = ISN+1): the connection was refused")
	}
}

// ruleIPID: the sender's IPv4 IDs step by 0 or 1 within a connection; a RST
// that jumps, or copies the ID of the packet it answers, was made elsewhere
// (DESIGN.md §3.3; Cloudflare SIGCOMM 2023).
func (pd *pending) ruleIPID(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	if !p.HasIPID {
		return
	}
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if p.IPID != 0 && peer.IPIDCount > 0 && p.IPID == peer.IPIDLast && (sender.IPIDCount == 0 || p.IPID-sender.IPIDLast > 2) {
		pd.fs.add(ruleIPID, moderate, "IP ID %d copied from the %s's last packet: an injector's signature", p.IPID, d.Peer())
		pd.injectedish = true
		return
	}
	if p.IPID == 0 || sender.IPIDCount < 3 || sender.IPIDZero == sender.IPIDCount || sender.IPIDMaxStep > 2 {
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
	case step >= 1 && step <= 3:
		pd.fs.add(ruleIPID, -weak, "IP ID %d follows the %s's last (%d)", p.IPID, d, sender.IPIDLast)
	case step > 64 && step < 0x10000-64:
		pd.fs.add(ruleIPID, moderate, "IP ID %d jumps by %d from the %s's last (%d), whose IDs otherwise step by at most %d",
			p.IPID, step, d, sender.IPIDLast, sender.IPIDMaxStep)
	}
}

// ruleSeq: an endpoint aborting sends its SND.NXT; a stack without the
// connection answers with seq = the segment's ack (RFC 9293 §3.10.7.1). A
// seq beyond anything the sender sent was not made by it (DESIGN.md §3.5, §3.8).
func (pd *pending) ruleSeq(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if !sender.HasSeq || c.Midstream {
		if peer.HasAck && p.Seq == peer.LastAck && p.Flags&capture.ACK == 0 {
			pd.fs.add(ruleSeq, 0, "seq = the %s's last ack: a stack answering a segment it has no connection for (RFC 9293 §3.10.7.1)", d.Peer())
		}
		return
	}
	switch diff := flows.SeqDiff(sender.SndNxt, p.Seq); {
	case diff == 0:
		// An abort on a live socket sends RST+ACK (Linux
		// tcp_send_active_reset); a bare RST is a stack answering a
		// segment without the socket, even when its seq is the same.
		pd.seqLive = p.Flags&capture.ACK != 0
		pd.fs.addSoft(ruleSeq, weak, "seq %d = the %s's next sequence number", p.Seq, d)
	case diff > 0 && diff <= 1 && sender.SawFIN:
		// seq one past SND.NXT is impossible; tolerate a FIN counted twice
	case diff > 0:
		pd.fs.add(ruleSeq, moderate, "seq %d is %d bytes beyond anything the %s sent (its next seq %d)", p.Seq, diff, d, sender.SndNxt)
		pd.injectedish = true
	case peer.HasAck && p.Seq == peer.LastAck:
		pd.fs.add(ruleSeq, 0, "seq = the %s's last ack, %d bytes behind the %s's next seq: a stack that no longer has the connection",
			d.Peer(), -diff, d)
	}
	pd.ruleBurst(c, d, p)
	if p.Flags&capture.ACK != 0 && p.Ack == 0 {
		pd.fs.add(ruleBurst, moderate, "RST+ACK with ack 0: an injector's signature (Cloudflare RST;RST0)")
		pd.injectedish = true
	}
}

// ruleBurst: back-to-back RSTs from one side whose seq jumps by a segment
// size, or whose ack differs with nothing between them, come from an
// injector (DESIGN.md §3.5; Wang et al., IMC 2017: one RST then three
// RST+ACKs at X, X+1460, X+4380; Cloudflare SIGCOMM 2023 RST≠RST, RST;RST0).
func (pd *pending) ruleBurst(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	sender, peer := &c.Half[d], &c.Half[d.Peer()]
	if sender.RSTs == 0 || peer.LastTime.After(sender.LastRSTTime) {
		return
	}
	switch jump := flows.SeqDiff(sender.LastRSTSeq, p.Seq); {
	case jump == 1460 || jump == 2920 || jump == 4380:
		pd.fs.add(ruleBurst, moderate, "seq jumps by %d from the previous RST (frame %d): the Great Firewall's RST burst pattern (Wang et al., IMC 2017)",
			jump, c.LastRST)
		pd.injectedish = true
	case p.Flags&capture.ACK != 0 && sender.LastRSTFlags&capture.ACK != 0 && p.Ack != sender.LastRSTAck:
		pd.fs.add(ruleBurst, weak, "ack %d differs from the previous RST's (%d) with no packet between: two senders (Cloudflare RST≠RST)",
			p.Ack, sender.LastRSTAck)
		pd.injectedish = true
	}
}

// ruleTiming: a reply from the claimed sender cannot reach the vantage point
// sooner than the round trip to it allows (DESIGN.md §3.6). The RTT comes
// from the handshake, never from a RST.
func (pd *pending) ruleTiming(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	leg, where, weight := c.LegRTT(d), "handshake", strong
	if leg == 0 && d == flows.FromServer && pd.v.Phase == PhaseSYN {
		// Another connection's SYN-ACK is a weaker clock: behind one
		// address a load balancer may reach backends at other distances.
		if h, ok := pd.hosts.of(true); ok && h.rtt > 0 {
			leg, where, weight = h.rtt, fmt.Sprintf("its SYN-ACK at frame %d", h.frame), moderate
		}
	}
	if leg < time.Millisecond {
		return
	}
	// The segment the RST answers: for a RST+ACK the earliest remembered
	// segment that brought the peer's sequence to the RST's ack (a pure ACK
	// carries nothing new to answer); for a bare RST (seq = the segment's
	// ack, RFC 9293 §3.10.7.1) the earliest of the latest run of segments
	// carrying that ack, since any of them may be the one answered.
	peer := &c.Half[d.Peer()]
	var trig *flows.Seen
	synOK := pd.v.Phase == PhaseSYN // only a refusal answers a SYN
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
	if trig == nil {
		return
	}
	dt := flows.NanosOf(p.Time).Sub(trig.At)
	switch {
	// A quarter of the leg, and 2 ms short of it: one handshake is one
	// sample, and a SYN-ACK delayed by a loaded server or path inflates it;
	// an injector or a firewall near the vantage answers within a fraction
	// of a millisecond.
	case dt < leg/4 && leg-dt >= 2*time.Millisecond:
		pd.fs.add(ruleTiming, weight, "arrived %s after the %s's segment it answers (frame %d), but the %s is %s away (%s): sent from nearer than the %s",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg), where, d)
	case dt >= leg*8/10:
		pd.fs.addSoft(ruleTiming, weak, "arrived %s after the %s's segment it answers (frame %d); the %s is %s away: consistent",
			ms(dt), d.Peer(), trig.Frame, d, ms(leg))
	}
}

// ruleIdle: a RST after a long silence (DESIGN.md §3.9).
func (pd *pending) ruleIdle(c *flows.Conn, p *capture.Packet, gap time.Duration) {
	quiet := flows.NanosOf(p.Time).Sub(c.LastTime)
	switch {
	case c.GapBefore >= gap && quiet < gap:
		pd.answersIdle = true
		pd.fs.add(ruleIdle, 0, "answers the first packet after %s of silence", dur(c.GapBefore))
	case quiet >= gap && c.Turns > 0:
		pd.fs.add(ruleIdle, 0, "sent after %s of silence", dur(quiet))
	}
}

// rulePayload: RSTs may carry data; show it (DESIGN.md §3.10).
func (pd *pending) rulePayload(p *capture.Packet) {
	if p.PayloadLen > 0 {
		pd.fs.add(rulePayload, 0, "carries %d bytes: %q", p.PayloadLen, flows.Printable(p.Payload(), 64))
	}
}

// observe records a packet that follows the RST on its connection.
func (pd *pending) observe(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	dt := p.Time.Sub(pd.rst.time)
	if p.Flags&capture.RST != 0 {
		if d == pd.dir && pd.followJump == 0 {
			if j := flows.SeqDiff(pd.rst.seq, p.Seq); j == 1460 || j == 2920 || j == 4380 {
				pd.followJump = j
			}
		}
		return
	}
	a := after{frame: p.Frame, dt: dt, what: describe(p)}
	if d == pd.dir {
		if pd.senderAfter.frame == 0 {
			pd.senderAfter = a
		}
	} else if pd.peerAfter.frame == 0 {
		pd.peerAfter = a
	}
}

func describe(p *capture.Packet) string {
	switch {
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN|capture.ACK:
		return "its SYN-ACK"
	case p.Flags&capture.SYN != 0:
		return "a SYN"
	case p.PayloadLen > 0:
		return fmt.Sprintf("%d bytes of data", p.PayloadLen)
	case p.Flags&capture.FIN != 0:
		return "a FIN"
	}
	return "an ACK"
}

// finalize weighs the evidence and fills the verdict.
func (a *Analyzer) finalize(pd *pending) {
	pd.final = true
	c := pd.conn
	if c != nil && c.Gen() == pd.gen {
		a.ruleTTL(pd, c)
		pd.v.Vantage = pd.vantageOf(c)
		pd.handshakeAn = pd.handshakeAnswer(c)
		c.Pending--
	}
	pd.conn = nil
	pd.afterRules(c)
	pd.decide()
}

// ruleTTL compares the RST's TTL with the claimed sender's own packets, or
// with its packets on other connections (DESIGN.md §3.2; Cloudflare SIGCOMM
// 2023: an endpoint's TTL varies by at most 1 within a connection).
func (a *Analyzer) ruleTTL(pd *pending, c *flows.Conn) {
	d := pd.dir
	sender := &c.Half[d]
	ttl := int(pd.rst.ttl)
	refs := sender.TTLs()
	where := "packets"
	weight := strong
	if len(refs) == 0 {
		h, ok := pd.hosts.of(true)
		if !ok {
			pd.fs.add(ruleTTL, 0, "no other packet from the %s to compare its TTL %d with: a device on the path answering for it would look the same", d, ttl)
			return
		}
		refs = []uint8{h.ttl}
		// Applications may set their own TTL (eBGP's 1, GTSM's 255), so
		// another connection is a weaker reference than this one.
		where, weight = fmt.Sprintf("packets on other connections (frame %d)", h.frame), moderate
	}
	if len(refs) > 1 {
		weight = weak
	}
	// The nearest reference, and whether the RST is within 1 of it.
	best := int(refs[0])
	for _, r := range refs[1:] {
		if absInt(int(r)-ttl) < absInt(best-ttl) {
			best = int(r)
		}
	}
	hops, refHops := flows.Hops(uint8(ttl)), flows.Hops(uint8(best))
	if where != "packets" && flows.InitialTTL(uint8(ttl)) != flows.InitialTTL(uint8(best)) {
		weight = weak // another host behind the same address, or another OS
	}
	list := ttlList(refs)
	switch {
	case ttl == best:
		w := -moderate
		if where != "packets" || len(refs) > 1 {
			w = -weak
		}
		pd.fs.add(ruleTTL, w, "TTL %d matches the %s's %s (%s)", ttl, d, where, list)
	case absInt(ttl-best) == 1 && !(hops == 0 && refHops > 0):
		// Within the usual variation of one endpoint (Cloudflare SIGCOMM
		// 2023), and also what a device one hop nearer sends: no weight.
		pd.fs.add(ruleTTL, 0, "TTL %d, one off the %s's %s (%s): within an endpoint's usual variation, or one hop nearer", ttl, d, where, list)
	case hops == 0:
		pd.fs.add(ruleTTL, weight, "TTL %d is an initial TTL: made on the capturing host or a device on its link, but the %s's %s arrive %s away (TTL %s)",
			ttl, d, where, hopsText(refHops), list)
	case ttl > best:
		pd.fs.add(ruleTTL, weight, "TTL %d, the %s's %s arrive with %s: sent %s nearer than the %s",
			ttl, d, where, list, hopsText(ttl-best), d)
	default:
		pd.fs.add(ruleTTL, weight, "TTL %d, the %s's %s arrive with %s: sent %s farther than the %s, or with another initial TTL",
			ttl, d, where, list, hopsText(best-ttl), d)
	}
}

func hopsText(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}

func ttlList(ts []uint8) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(t)
	}
	return s
}

func absInt(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// handshakeAnswer reports whether a server RST answers the handshake's final
// ACK without taking any client data: the kernel's answer when the accept
// queue is full and tcp_abort_on_overflow is set (Linux tcp_check_req).
func (pd *pending) handshakeAnswer(c *flows.Conn) bool {
	cl, sv := &c.Half[flows.FromClient], &c.Half[flows.FromServer]
	if pd.dir != flows.FromServer || !c.Established() || sv.PayloadBytes > 0 || !sv.SawSYN || !cl.SawSYN {
		return false
	}
	return pd.rst.seq == sv.ISN+1 && (pd.rst.flags&capture.ACK == 0 || pd.rst.ack == cl.ISN+1) &&
		flows.NanosOf(pd.rst.time).Sub(c.ACKTime) <= c.ClientRTT()+c.ServerRTT()+10*time.Millisecond
}

// afterRules weighs what followed the RST (DESIGN.md §3.4, §3.5).
func (pd *pending) afterRules(c *flows.Conn) {
	d := pd.dir
	if s := pd.senderAfter; s.frame != 0 {
		if s.what == "its SYN-ACK" {
			pd.fs.add(ruleRace, strong, "the %s's SYN-ACK (frame %d) arrived %s after this RST: the %s had not refused the connection",
				d, s.frame, ms(s.dt), d)
		} else {
			pd.fs.add(ruleRace, strong, "the %s kept sending after this RST: %s at frame %d, %s later (Weaver et al., NDSS 2009)",
				d, s.what, s.frame, ms(s.dt))
		}
		pd.injectedish = true
	}
	if pa := pd.peerAfter; pa.frame != 0 && c != nil {
		leg := c.LegRTT(d.Peer())
		if hop := c.Half[d.Peer()].Hops(); hop == 0 || leg > 0 {
			if pa.dt > leg+leg/2+time.Millisecond {
				pd.fs.add(ruleChallenge, weak, "the %s kept its connection: %s at frame %d, %s later (a receiver accepts only an exact RST, RFC 5961 §3.2)",
					d.Peer(), pa.what, pa.frame, ms(pa.dt))
			}
		}
	}
	if pd.followJump != 0 {
		pd.fs.add(ruleBurst, moderate, "followed by a RST whose seq jumps by %d: the Great Firewall's burst pattern (Wang et al., IMC 2017)", pd.followJump)
		pd.injectedish = true
	}
}

// decide turns the findings into origin, confidence and cause.
func (pd *pending) decide() {
	v := &pd.v
	sort.SliceStable(pd.fs, func(i, j int) bool { return abs(pd.fs[i].forged) > abs(pd.fs[j].forged) })
	v.Evidence = make([]string, len(pd.fs))
	v.Findings = make([]Finding, len(pd.fs))
	for i, f := range pd.fs {
		v.Evidence[i] = f.text
		v.Findings[i] = Finding{Weight: f.forged, Text: f.text}
	}
	forged, genuine, hard := pd.fs.sums()
	switch {
	case pd.lone:
		v.Origin, v.Confidence = OriginUnknown, 0
	case forged >= strong && forged >= hard+0.5:
		v.Origin = OriginMiddlebox
		v.Confidence = clamp(0.5+0.15*(forged-genuine), 0.55, 0.97)
	case forged >= moderate:
		v.Origin, v.Confidence = OriginUnknown, 0
	case genuine >= weak && forged < genuine:
		v.Origin = OriginOf(v.From)
		v.Confidence = clamp(0.45+0.25*(genuine-forged), 0.5, 0.95)
	default:
		v.Origin, v.Confidence = OriginUnknown, 0
	}
	v.Confidence = float64(int(v.Confidence*100+0.5)) / 100
	v.Cause = pd.cause()
}

// cause names the likely reason from the origin, the phase and the shape of
// the exchange (DESIGN.md §2).
func (pd *pending) cause() Cause {
	v := &pd.v
	switch v.Origin {
	case OriginMiddlebox:
		switch {
		case pd.injectedish:
			return CauseInjected
		case v.Phase == PhaseIdle || pd.answersIdle:
			return CauseIdleTimeout
		}
		return CauseFirewallReject
	case OriginUnknown:
		if v.Phase == PhaseSYN && v.From == Server {
			return CauseRefused
		}
		return CauseUnknown
	}
	server := v.Origin == OriginServer
	if server && pd.handshakeAn && v.Phase != PhaseAfterReset {
		return CauseBacklogOverflow
	}
	switch v.Phase {
	case PhaseSYN:
		if server {
			return CauseRefused
		}
		return CauseClientAbort
	case PhaseAfterReset:
		return CauseLateSegment
	case PhaseMidstream:
		return CauseUnknown
	case PhaseTLSHandshake:
		if server {
			return CauseTLSReject
		}
		return CauseClientAbort
	case PhaseClosing:
		if server && pd.serverFINed {
			return CauseKeepaliveReuse
		}
		return CauseLateSegment
	case PhaseIdle:
		if server && pd.answersIdle && !pd.seqLive {
			return CauseStaleConnection
		}
	}
	if server {
		return CauseServerAbort
	}
	return CauseClientAbort
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func clamp(f, lo, hi float64) float64 { return min(max(f, lo), hi) }

// vantageOf says where the capture was taken relative to c, from the hop
// counts of the endpoints' ordinary packets (0 hops: the capturing host).
func (pd *pending) vantageOf(c *flows.Conn) string {
	ch, sh := c.Half[flows.FromClient].Hops(), c.Half[flows.FromServer].Hops()
	if ch > 32 || sh > 32 { // an application's own TTL (eBGP's 1) says nothing of distance
		return "unknown"
	}
	if sh < 0 {
		if h, ok := pd.hosts.of(pd.dir == flows.FromServer); ok {
			sh = flows.Hops(h.ttl)
		}
	}
	switch {
	case ch == 0 && sh == 0:
		return "same host or link as both ends"
	case ch == 0:
		return "client host"
	case sh == 0:
		return "server host"
	case ch > 0 && sh > 0:
		return fmt.Sprintf("on the path (client %d hops, server %d hops)", ch, sh)
	case ch > 0:
		return fmt.Sprintf("%d hops from the client", ch)
	case sh > 0:
		return fmt.Sprintf("%d hops from the server", sh)
	}
	return "unknown"
}
