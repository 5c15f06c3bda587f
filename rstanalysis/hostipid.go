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
// (ruleIPID judges a RST against its own connection's IDs). It is also
// the first part of the host's record (v4Rec), keyed by addr: 32 bytes, no
// pointer.
type ipidInfo struct {
	at    flows.Nanos // the latest packet's time
	frame uint64      // its frame
	addr  uint32      // the host's IPv4 address, big-endian
	last  uint16      // its ID
	n     uint16      // packets, saturating; 0: no profile
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
// hosts a record is a cache miss, so the observations wait in ipidHot
// until ipidHot of them are there (or a snapshot needs them): applyIPIDs
// then looks their records up together, so that the misses overlap.
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
	ref   uint32 // its host's reference, as applyIPIDs found it
	held  uint32
}

// applyIPIDs adds the waiting observations to their hosts' profiles, in
// the order they came: it reads their index slots, then the records of
// those whose profile is not dead, and then adds them, so that each
// step's cache misses overlap. A dead profile (ipidInfo.dead) is left as
// it is: nothing it could become would change a verdict.
func (h *Hosts) applyIPIDs() {
	d := &h.ipidHot
	n := d[0].held
	t := &h.hosts4
	if len(t.index) > 0 {
		var sum uint32
		for i := range n {
			sum += t.index[t.home(d[i].addr)].addr
		}
		for i := range n {
			r := t.ref(d[i].addr)
			if d[i].ref = r; r != 0 && r&v4Dead == 0 {
				sum += t.at(r).ipid.addr
			}
		}
		touchSink.Add(uint64(sum))
	}
	rebuilds := t.rebuilds
	for i := range n {
		o := &d[i]
		r := o.ref
		if r == 0 || t.rebuilds != rebuilds { // new since, or moved
			r = t.ref(o.addr)
		}
		if r&v4Dead != 0 || r != 0 && t.at(r).ipid.dead() { // dead, or died in this batch
			continue
		}
		in := h.profile(r, o.addr)
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
		if in.dead() {
			t.markDead(o.addr)
		}
	}
	d[0].held = 0
}

// profile returns the profile of a, whose reference is r (0 for none):
// a new one (n == 0) if none. Past maxHosts profiles they start afresh,
// like the other host tables.
func (h *Hosts) profile(r uint32, a uint32) *ipidInfo {
	t := &h.hosts4
	var rec *v4Rec
	if r != 0 {
		rec = t.at(r)
		if rec.ipid.n != 0 {
			return &rec.ipid
		}
	}
	if t.ipids >= maxHosts {
		t.clearIPIDs()
		rec = t.get(a)
	}
	if rec == nil {
		rec = t.add(a)
	}
	t.ipids++
	return &rec.ipid
}

// ipidSnapshot returns a copy of a's profile; ok is false for none.
func (h *Hosts) ipidSnapshot(a hostAddr) (ipidInfo, bool) {
	if h.ipidHot[0].held > 0 {
		h.applyIPIDs()
	}
	if a.bits != 32 {
		return ipidInfo{}, false
	}
	r := h.hosts4.get(binary.BigEndian.Uint32(a.a[12:16]))
	if r == nil || r.ipid.n == 0 {
		return ipidInfo{}, false
	}
	return r.ipid, true
}

// dead reports whether the profile can call its host's IDs neither global
// nor zero whatever comes next: it has had a cross-connection pair with a
// large step (small < cross) and a non-zero ID (zeros < n). Neither
// difference ever shrinks, saturated counters included.
func (in *ipidInfo) dead() bool { return in.small < in.cross && in.zeros < in.n }

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
