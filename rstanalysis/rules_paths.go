package rstanalysis

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// pathMinHosts is how many hosts of a path, other than the claimed sender,
// must have shown their SYNs or SYN-ACKs, at hop distances at most one
// apart, before the path stands for a sender the capture shows nothing of.
const pathMinHosts = 2

// rulePathHops compares the hop distance of a RST whose claimed sender
// showed no packet to compare its TTL with (ttl.none) with the hop
// distance of its network behind the RST's next hop (paths.go): hosts of
// one network reached through one next hop at one distance share a path,
// and a device nearer or farther than that path made the RST. Each hop
// distance is inferred from the common initial TTLs (flows.Hops), so a
// RST with another initial TTL than the path's hosts weighs little; one
// hop off says nothing, and nor does a fit at 0 hops, where a device on the
// capturing link looks the same. A RST alone on its connection (lone)
// is no evidence at all.
func rulePathHops(pd *pending, _ *flows.Conn) {
	if pd.noTTLRef && !pd.lone {
		pathHops(pd, "")
	}
}

// pathHops weighs the RST's hop distance against its sender's path; when
// is "" or ", after this RST" for a path learnt after it (hindsight, a
// revision), which weighs little against the sender: the network may have
// moved behind another route since.
func pathHops(pd *pending, when string) {
	e, ok := pd.pathRef()
	if !ok {
		return
	}
	ttl := pd.v.TTL
	h, lo, hi := flows.Hops(ttl), int(e.lo), int(e.hi)
	where, hosts := pd.pathText(e), pd.pathHosts(e)
	switch {
	case h >= lo && h <= hi && h > 0:
		pd.fs.add(RulePathHopsFit, -weak, pd.pathFrames(e), "TTL %d, sent %s away, as the hosts of the %s's network %s arrive (%s%s): along the %s's path",
			ttl, hopsText(h), pd.dir, where, hosts, when, pd.dir)
	case h < lo-1 || h > hi+1:
		w, side := moderate, "nearer than"
		if initBit(ttl)&e.inits == 0 && !(h == 0 && lo > 0) || when != "" {
			w = weak // another initial TTL (the inferred distance may be wrong), or a path learnt later
		}
		if h > hi {
			side = "farther than"
		}
		pd.fs.add(RulePathHopsMisfit, w, pd.pathFrames(e), "TTL %d, sent %s away, but the hosts of the %s's network %s arrive %s away (%s%s): sent from %s the %s's path",
			ttl, hopsText(h), pd.dir, where, hopsRange(lo, hi), hosts, when, side, pd.dir)
	}
}

// rulePathTiming times a refusal whose server showed no SYN-ACK of its own
// against the quickest SYN-ACK of its network behind the RST's next hop: a
// refusal much sooner than any host of that path answers a SYN came from
// nearer (the thresholds of ruleTiming). A refusal as late as the path
// needs is context only: a device near the sender, or a forger that waits,
// looks the same, and the sender itself was never timed.
func rulePathTiming(pd *pending, _ *flows.Conn, _ *capture.Packet) {
	pathTiming(pd, "")
}

// pathTiming times a refusal against its sender's path; when is as for
// pathHops (a path learnt after the RST weighs little).
func pathTiming(pd *pending, when string) {
	if pd.synTrig.Frame == 0 || pd.fs.has(RuleTimingTooFast) || pd.fs.has(RuleTimingPlausible) {
		return
	}
	e, ok := pd.pathRef()
	if !ok || e.rtt < timingMinLeg || bits.OnesCount8(e.rttHosts&^pd.pathSelf(e)) < pathMinHosts {
		return
	}
	dt := flows.NanosOf(pd.v.Time).Sub(pd.synTrig.At)
	d, trig := pd.dir, pd.synTrig.Frame
	switch {
	case tooFast(dt, e.rtt):
		w := moderate
		if when != "" {
			w = weak
		}
		pd.fs.add(RulePathTooFast, w, on(trig, e.rttFrame), "arrived %s after the %s's SYN it answers (frame %d), but the hosts of the %s's network %s answer a SYN in %s at the quickest (frame %d%s): sent from nearer than the %s's path",
			ms(dt), d.Peer(), trig, d, pd.pathText(e), ms(e.rtt), e.rttFrame, when, d)
	case dt >= e.rtt*timingOKPercent/100:
		pd.fs.add(RulePathRTTFits, 0, on(trig, e.rttFrame), "arrived %s after the %s's SYN it answers (frame %d); the hosts of the %s's network %s answer a SYN in %s at the quickest (frame %d%s): consistent",
			ms(dt), d.Peer(), trig, d, pd.pathText(e), ms(e.rtt), e.rttFrame, when)
	}
}

// pathsSince weighs a held verdict (pending.rejudge) against what the path
// table learnt of its sender's path after the RST, up to capture time
// until and before frame (0: any), where neither the sender's own
// reference nor its path at the RST has spoken: the first state of the
// path that stood for the sender after a RST wanted it, if it came after
// this RST.
func (pd *pending) pathsSince(h *Hosts, until time.Time, frame uint64) {
	hops := pd.noTTLRef && !pd.lone && !pd.fs.has(RulePathHopsFit) && !pd.fs.has(RulePathHopsMisfit)
	timing := pd.waitsForClock() && !pd.fs.has(RulePathTooFast) && !pd.fs.has(RulePathRTTFits)
	if !hops && !timing {
		return
	}
	k, _ := pathOf(pd.rst.mac, pd.sender())
	l, ok := tabGet(h.pathsLater, k, pathHash(&k))
	if !ok {
		return
	}
	in := func(at flows.Nanos, f uint64) bool {
		return at != 0 && at >= flows.NanosOf(pd.v.Time) && at <= flows.NanosOf(until) && (frame == 0 || f < frame)
	}
	if hops && in(l.hopsAt, l.hopsFrame) {
		pd.hosts.path, pd.hosts.pathOK = l.hops, true
		pathHops(pd, ", after this RST")
	}
	if timing && in(l.rttAt, l.rttFrame) {
		pd.hosts.path, pd.hosts.pathOK = l.rtt, true
		pathTiming(pd, ", after this RST")
	}
}

// pathRef returns the path of the RST's sender through the RST's next hop
// when it stands for the sender: at least pathMinHosts other hosts, at hop
// distances at most one apart.
func (pd *pending) pathRef() (*pathInfo, bool) {
	e := &pd.hosts.path
	if !pd.hosts.pathOK || int(e.hi)-int(e.lo) > 1 {
		return nil, false
	}
	n := int(e.n) - bits.OnesCount8(pd.pathSelf(e))
	return e, n >= pathMinHosts
}

// pathSelf returns the bit of e's stored host that is the sender itself (a
// host the host table has forgotten), as in pathInfo.rttHosts, or 0.
func (pd *pending) pathSelf(e *pathInfo) uint8 {
	_, self := pathOf(pd.rst.mac, pd.sender())
	for i := range min(int(e.n), 2) {
		if e.host[i] == self {
			return 1 << i
		}
	}
	return 0
}

// sender returns the RST's source address.
func (pd *pending) sender() netip.Addr {
	if pd.dir == flows.Client {
		return pd.v.Client.Addr()
	}
	return pd.v.Server.Addr()
}

// pathText names the sender's network and the next hop: "192.0.2.0/24
// behind next hop 02:00:00:00:00:01".
func (pd *pending) pathText(e *pathInfo) string {
	bitsN := 24
	if pd.sender().Is6() {
		bitsN = 64
	}
	net, _ := pd.sender().Prefix(bitsN)
	var none [6]byte
	if pd.rst.mac == none {
		return net.String() + " (a link without MACs)"
	}
	return net.String() + " behind next hop " + macText(pd.rst.mac)
}

// pathHosts lists the path's stored hosts but the sender, with the frames
// they were first seen in: "192.0.2.10 at frame 2, 192.0.2.11 at frame 9".
func (pd *pending) pathHosts(e *pathInfo) string {
	var s []string
	self := pd.pathSelf(e)
	for i := range min(int(e.n), 2) {
		if self&(1<<i) == 0 {
			s = append(s, fmt.Sprintf("%s at frame %d", pathHostAddr(pd.sender(), e.host[i]), e.frame[i]))
		}
	}
	if e.n > 2 {
		s = append(s, "and more")
	}
	return strings.Join(s, ", ")
}

// pathFrames returns the frames pathHosts names.
func (pd *pending) pathFrames(e *pathInfo) []uint64 {
	var fr []uint64
	self := pd.pathSelf(e)
	for i := range min(int(e.n), 2) {
		if self&(1<<i) == 0 {
			fr = append(fr, e.frame[i])
		}
	}
	return fr
}

// pathHostAddr returns the address of the host whose part within a's
// network is host (pathOf).
func pathHostAddr(a netip.Addr, host uint64) netip.Addr {
	if a.Is4() {
		b := a.As4()
		b[3] = byte(host)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := range 8 {
		b[15-i] = byte(host >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// hopsRange renders a path's hop distances: "7 hops", "7 to 8 hops".
func hopsRange(lo, hi int) string {
	if lo == hi {
		return hopsText(lo)
	}
	return fmt.Sprintf("%d to %d hops", lo, hi)
}

// withoutPath returns fs without the path findings that the sender's own
// reference, learnt later, replaces: those of its hop distance (hops) or
// those of its timing.
func (fs findings) withoutPath(hops bool) findings {
	if hops {
		return fs.without(RulePathHopsFit).without(RulePathHopsMisfit)
	}
	return fs.without(RulePathTooFast).without(RulePathRTTFits)
}
