package rstanalysis

import (
	"encoding/binary"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// ipidInfo is how a host's IPv4 IDs behave across its packets, RSTs left
// out, in capture order (the rules ipid.host_*): an ID counter shared by
// every connection (a global counter: each packet's ID a little above the
// host's previous one, whichever connection it is on), or always zero. A
// per-connection counter or random IDs fit neither and say nothing here
// (ruleIPID judges a RST against its own connection's IDs). 24 bytes, no
// pointer.
type ipidInfo struct {
	at    flows.Nanos // the latest packet's time
	frame uint64      // its frame
	last  uint16      // its ID
	n     uint16      // packets, saturating
	zeros uint16      // of which with ID 0
	cross uint16      // consecutive pairs on different connections
	small uint16      // of which the second's ID is 1 to ipidHostStep above the first's
	conn  uint16      // a digest of the latest packet's connection
}

// Thresholds of the host IP ID profile.
const (
	ipidHostStep  = 256               // a global counter's step between two packets seen
	ipidHostPairs = 4                 // cross-connection pairs needed to call it global
	ipidHostZeros = 8                 // packets, all with ID 0, needed to call it zero
	ipidHostBack  = 64                // a RST this far behind a global counter, or more, is not its
	ipidHostFresh = time.Second       // ... when the host's latest packet is this recent
	ipidSaturate  = uint16(1<<16 - 1) // counters stop here
)

// observeIPID adds p, an IPv4 segment that is no RST, to its source's
// profile. Every such packet comes here, so the profile is found through a
// small cache of recent addresses before the map.
func (h *Hosts) observeIPID(p *capture.Packet) {
	in := h.ipidOf(addrOf(p.Src))
	dst := p.Dst.As4()
	conn := p.SrcPort ^ p.DstPort<<3 ^ uint16(dst[2])<<8 ^ uint16(dst[3])
	if in.n > 0 && in.conn != conn && in.cross < ipidSaturate {
		in.cross++
		if step := p.IPID - in.last; step >= 1 && step <= ipidHostStep {
			in.small++
		}
	}
	if in.n < ipidSaturate {
		in.n++
		if p.IPID == 0 {
			in.zeros++
		}
	}
	in.at, in.frame, in.last, in.conn = flows.NanosOf(p.Time), p.Frame, p.IPID, conn
}

// ipidHot is the size of the cache of recent addresses' profiles.
const ipidHot = 64

// hotSlot caches the index of an address's profile in Hosts.ipids.
type hotSlot struct {
	a hostAddr
	i int32 // index + 1; 0: empty
}

// ipidOf returns a's profile, a new one if none.
func (h *Hosts) ipidOf(a hostAddr) *ipidInfo {
	slot := &h.ipidHot[binary.LittleEndian.Uint32(a.a[12:16])*0x9e3779b1>>(32-6)]
	if slot.i > 0 && slot.a == a {
		return &h.ipids[slot.i-1]
	}
	i, ok := h.ipid[a]
	if !ok {
		if len(h.ipids) >= maxHosts {
			clear(h.ipid)
			h.ipids = h.ipids[:0]
			h.ipidHot = [ipidHot]hotSlot{}
		}
		i = int32(len(h.ipids))
		h.ipids = append(h.ipids, ipidInfo{})
		h.ipid[a] = i
	}
	*slot = hotSlot{a: a, i: i + 1}
	return &h.ipids[i]
}

// ipidSnapshot returns a copy of a's profile; ok is false for none.
func (h *Hosts) ipidSnapshot(a hostAddr) (ipidInfo, bool) {
	if i, ok := h.ipid[a]; ok {
		return h.ipids[i], true
	}
	return ipidInfo{}, false
}

// global reports whether the host's IDs come from one counter for every
// connection.
func (in *ipidInfo) global() bool {
	return in.cross >= ipidHostPairs && in.small == in.cross && in.zeros < in.n
}

// zero reports whether every packet of the host had ID 0.
func (in *ipidInfo) zero() bool { return in.n >= ipidHostZeros && in.zeros == in.n }

// ruleIPIDHost judges a RST's IPv4 ID against its claimed sender's IDs
// across connections, where its own connection has not judged it (ruleIPID):
// a host that numbers every packet with one counter sends its RSTs with
// the next IDs, and one that sends ID 0 on every packet sends no RST with
// another (Cloudflare, SIGCOMM 2023; RFC 6864 §4).
func ruleIPIDHost(pd *pending, _ *flows.Conn, p *capture.Packet) {
	in := &pd.hosts.srcIPID
	if !p.HasIPID || !pd.hosts.srcIPIDOK || pd.fs.has(RuleIPIDCopied) || pd.fs.has(RuleIPIDFollows) || pd.fs.has(RuleIPIDJump) {
		return
	}
	switch {
	case in.zero() && p.IPID != 0:
		pd.fs.add(RuleIPIDHostOdd, moderate, on(in.frame), "IP ID %d, but the %s's %d packets so far all had ID 0", p.IPID, pd.dir, in.n)
	case in.global():
		step := p.IPID - in.last
		fresh := flows.NanosOf(p.Time).Sub(in.at) < ipidHostFresh
		switch {
		case step >= 1 && step <= ipidHostStep:
			pd.fs.add(RuleIPIDHostFits, -weak, on(in.frame), "IP ID %d follows the %s's latest (%d, frame %d), whose IDs come from one counter across its connections", p.IPID, pd.dir, in.last, in.frame)
		case fresh && step > 1<<15 && step <= 1<<16-ipidHostBack:
			pd.fs.add(RuleIPIDHostOdd, moderate, on(in.frame), "IP ID %d is %d behind the %s's latest (%d, frame %d, %s before), whose IDs come from one counter across its connections: not its",
				p.IPID, 1<<16-int(step), pd.dir, in.last, in.frame, ms(flows.NanosOf(p.Time).Sub(in.at)))
		}
	}
}
