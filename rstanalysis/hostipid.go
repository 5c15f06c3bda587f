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
// (ruleIPID judges a RST against its own connection's IDs). It is also a
// slot of the host's open-addressed table (Hosts.ipids), keyed by addr:
// 32 bytes, no pointer.
type ipidInfo struct {
	at    flows.Nanos // the latest packet's time
	frame uint64      // its frame
	addr  uint32      // the host's IPv4 address, big-endian
	last  uint16      // its ID
	n     uint16      // packets, saturating; 0: an empty slot
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
// profile. Every such packet comes here, and with tens of thousands of
// hosts a profile is a cache miss, so the observations wait in ipidHot
// until ipidHot of them are there (or a snapshot needs them): applyIPIDs
// then looks their slots up together, so that the misses overlap.
func (h *Hosts) observeIPID(p *capture.Packet) {
	if !p.Src.Is4() { // HasIPID: the decoder sets it for IPv4 only
		return
	}
	src, dst := p.Src.As4(), p.Dst.As4()
	d := &h.ipidHot
	k := d[0].held
	d[k] = hotSlot{addr: binary.BigEndian.Uint32(src[:]), id: p.IPID,
		conn: p.SrcPort ^ p.DstPort<<3 ^ uint16(dst[2])<<8 ^ uint16(dst[3]),
		at:   flows.NanosOf(p.Time), frame: p.Frame}
	d[0].held = k + 1
	if k+1 == ipidHot {
		h.applyIPIDs()
	}
}

// ipidHot is how many observations wait in Hosts.ipidHot.
const ipidHot = 32

// hotSlot is an observation waiting in Hosts.ipidHot; the first slot's
// held counts them.
type hotSlot struct {
	at    flows.Nanos
	frame uint64
	addr  uint32
	id    uint16
	conn  uint16 // a digest of the packet's connection
	held  int
}

// applyIPIDs adds the waiting observations to their hosts' profiles, in
// the order they came.
func (h *Hosts) applyIPIDs() {
	d := &h.ipidHot
	n := d[0].held
	if tab := h.ipids[:cap(h.ipids)]; len(tab) > 0 {
		var sum uint32
		for i := range n {
			sum += tab[ipidHome(tab, d[i].addr)].addr
		}
		touchSink.Add(uint64(sum))
	}
	for i := range n {
		o := &d[i]
		in := h.ipidOf(o.addr)
		if in.n > 0 && in.conn != o.conn && in.cross < ipidSaturate {
			in.cross++
			if step := o.id - in.last; step >= 1 && step <= ipidHostStep {
				in.small++
			}
		}
		if in.n < ipidSaturate {
			in.n++
			if o.id == 0 {
				in.zeros++
			}
		}
		in.at, in.frame, in.last, in.conn = o.at, o.frame, o.id, o.conn
	}
	d[0].held = 0
}

// The profiles' table: Hosts.ipids over its whole capacity (a power of
// two, at most half full) is an open-addressed table with linear probing,
// and its length counts the hosts in it. Past maxHosts hosts it starts
// afresh, like the other host tables.
const ipidMinSlots = 1 << 10

// ipidHome is a's first slot in tab (len a power of two).
func ipidHome(tab []ipidInfo, a uint32) int {
	return int(uint64(a)*0x9e3779b97f4a7c15>>32) & (len(tab) - 1)
}

// ipidSlot returns the index of a's slot in tab (len a power of two): its
// profile's, or the empty slot where it would go.
func ipidSlot(tab []ipidInfo, a uint32) int {
	mask := len(tab) - 1
	i := ipidHome(tab, a)
	for tab[i].n != 0 && tab[i].addr != a {
		i = (i + 1) & mask
	}
	return i
}

// ipidOf returns a's profile, a new one (n == 0) if none.
func (h *Hosts) ipidOf(a uint32) *ipidInfo {
	tab := h.ipids[:cap(h.ipids)]
	if len(tab) > 0 {
		if i := ipidSlot(tab, a); tab[i].n != 0 {
			return &tab[i]
		}
	}
	n := len(h.ipids)
	if n >= maxHosts {
		clear(tab)
		n = 0
	}
	if 2*(n+1) > len(tab) {
		tab = growIPIDs(tab)
	}
	h.ipids = tab[:n+1]
	i := ipidSlot(tab, a)
	tab[i] = ipidInfo{addr: a}
	return &tab[i]
}

// growIPIDs returns a table of twice tab's slots (at least ipidMinSlots)
// holding tab's profiles.
func growIPIDs(tab []ipidInfo) []ipidInfo {
	next := make([]ipidInfo, max(ipidMinSlots, 2*len(tab)))
	for _, in := range tab {
		if in.n != 0 {
			next[ipidSlot(next, in.addr)] = in
		}
	}
	return next
}

// ipidSnapshot returns a copy of a's profile; ok is false for none.
func (h *Hosts) ipidSnapshot(a hostAddr) (ipidInfo, bool) {
	if h.ipidHot[0].held > 0 {
		h.applyIPIDs()
	}
	tab := h.ipids[:cap(h.ipids)]
	if a.bits != 32 || len(tab) == 0 {
		return ipidInfo{}, false
	}
	in := tab[ipidSlot(tab, binary.BigEndian.Uint32(a.a[12:16]))]
	return in, in.n != 0
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
