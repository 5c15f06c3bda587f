package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Hosts remembers, per address, the TTL of its latest SYN or SYN-ACK and the
// time from a SYN to that host's SYN-ACK: a reference for a RST on a
// connection with no other packet from its claimed sender (the rules
// ttl.* and timing.*). It must see packets in capture order, so that a RST
// is judged on what came before it whatever the number of workers.
//
// No table holds an entry's pointer (addresses as bytes, times as
// flows.Nanos), so the garbage collector does not scan them: the tables
// hold up to maxHosts hosts of a busy capture. Each is open-addressed
// (hosttab.go, hostv4.go, hostv6.go).
type Hosts struct {
	// hosts4 holds the IPv4 addresses' entries with their IP ID profiles
	// (56-byte records and 8-byte index slots), hosts6 the others' (40-byte
	// records and 8-byte index slots); together they hold up to maxHosts
	// entries.
	hosts4 v4Table
	hosts6 v6Table
	// syns holds the SYNs awaiting their SYN-ACK, keyed by their 5-tuple's
	// synHash (16-byte slots instead of 48 for the whole key): a SYN-ACK
	// finds its SYN by the same hash (hostsyn.go).
	syns synTable
	// wanted holds the addresses a RST came from while the table knew
	// nothing of them (or no RTT); learnts holds, for each, the first
	// SYN or SYN-ACK seen from it since (hindsight.go). The first, not the
	// latest: a verdict decided in hindsight must not depend on when it is
	// decided, so that any number of workers gives the same.
	wanted  []tabSlot[hostAddr, struct{}]
	learnts []tabSlot[hostAddr, learnt]
	// hindsight turns the wanted and learnts tables on (Config.Hindsight,
	// Config.Revise).
	hindsight bool
	// ipidHot holds the latest IPv4 ID observations, waiting to be added
	// to hosts4's profiles (hostipid.go).
	ipidHot [ipidHot]hotSlot
	// learned counts the references learnt for wanted addresses.
	learned uint64
	// paths holds what the hosts of each network behind each next hop
	// showed; pathsLater what it learnt of some after a RST (paths.go).
	paths      paths
	pathsLater []tabSlot[netKey, pathLearnt]
}

// learnt is what the table learnt of a wanted address after its RST: the
// first reference for a TTL and the first for an RTT, with their times.
type learnt struct {
	ttl, rtt     hostInfo
	ttlAt, rttAt flows.Nanos
}

// hostAddr is a netip.Addr without its zone pointer (packets have no zone):
// its 16 bytes and its BitLen (32 for IPv4, 128 for IPv6, 0 for none).
type hostAddr struct {
	a    [16]byte
	bits uint8
}

func addrOf(a netip.Addr) hostAddr { return hostAddr{a.As16(), uint8(a.BitLen())} }

// hostInfo is an address's entry (32 bytes; 24 as stored, hostPart).
type hostInfo struct {
	frame  uint64        // the packet the TTL was seen in
	rtt    time.Duration // SYN to SYN-ACK, when the host answered a SYN
	ttl    uint8
	server bool    // seen answering a SYN (its latest was a SYN-ACK)
	macs   uint8   // how many next hops: 1, or 2 for more than one (a zero mac counts as one)
	mac    [6]byte // the link-layer next hop its SYNs and SYN-ACKs came through (capture.Packet.SrcMAC)
}

// HostSnapshot is what Hosts knew of a RST's two addresses when it arrived.
type HostSnapshot struct {
	src, dst     hostInfo
	srcIPID      ipidInfo // the sender's IP ID profile
	path         pathInfo // the sender's network behind the RST's next hop
	srcOK, dstOK bool
	srcIPIDOK    bool
	pathOK       bool
}

// maxHosts bounds the tables; past it they start afresh (a rare event that
// only weakens the cross-connection evidence for a while).
const maxHosts = 1 << 17

// NewHosts returns an empty host table.
func NewHosts() *Hosts {
	return &Hosts{}
}

// Observe records p if it is a SYN or a SYN-ACK, and the IPv4 ID of any
// packet but a RST (hostipid.go).
func (h *Hosts) Observe(p *capture.Packet) {
	if p.HasIPID && p.Flags&capture.RST == 0 {
		h.observeIPID(p)
	}
	if p.Flags&(capture.SYN|capture.RST) != capture.SYN {
		return
	}
	// The host's entry first: the SYN table's work below overlaps its
	// cache misses.
	var rec *v4Rec
	var old hostInfo
	var ok bool
	if p.Src.Is4() {
		if rec = h.hosts4.get(v4Key(p.Src)); rec != nil {
			old, ok = rec.host.info()
		}
	} else {
		old, ok = h.host(p.Src)
	}
	var rtt time.Duration
	if p.Flags&capture.ACK == 0 {
		if h.syns.n >= maxHosts {
			h.syns.clear()
		}
		k := flows.KeyOf(p)
		h.syns.put(synHash(&k), flows.NanosOf(p.Time))
	} else if h.syns.n > 0 {
		k := flows.KeyOf(p)
		if t, ok := h.syns.take(synHash(&k)); ok {
			rtt = flows.NanosOf(p.Time).Sub(t)
		}
	}
	h.observePath(p, rtt)
	if !ok && h.hosts4.hosts+h.hosts6.n >= maxHosts {
		h.hosts4.clearHosts() // the records move
		h.hosts6.clear()
		rec = nil
	}
	if rtt == 0 && ok {
		rtt = old.rtt
	}
	info := hostInfo{ttl: p.TTL, server: p.Flags&capture.ACK != 0, frame: p.Frame, rtt: rtt, mac: p.SrcMAC, macs: 1}
	if ok && (old.macs > 1 || old.mac != p.SrcMAC) {
		info.macs = 2
	}
	if p.Src.Is4() {
		h.hosts4.putHost(v4Key(p.Src), rec, packHost(&info))
	} else {
		k := p.Src.As16()
		h.hosts6.put(&k, packHost(&info))
	}
	if len(h.wanted) > 0 {
		src := addrOf(p.Src)
		sh := tabHash(&src)
		if tabHas(h.wanted, src, sh) {
			h.learn(src, sh, info, flows.NanosOf(p.Time))
		}
	}
}

// learn records info, seen at, as the first reference for a wanted
// address's TTL and, when it has one, RTT; ah is a's tabHash.
func (h *Hosts) learn(a hostAddr, ah uint64, info hostInfo, at flows.Nanos) {
	l, _ := tabGet(h.learnts, a, ah)
	if l.ttlAt == 0 || l.rttAt == 0 && info.rtt > 0 {
		h.learned++
	}
	if l.ttlAt == 0 {
		l.ttl, l.ttlAt = info, at
	}
	if l.rttAt == 0 && info.rtt > 0 {
		l.rtt, l.rttAt = info, at
	}
	if len(h.learnts) >= maxHosts {
		tabClear(&h.learnts)
	}
	tabPut(&h.learnts, a, ah, l, tabHash)
}

// since returns the first TTL and RTT references learnt for a after a RST
// from it, up to capture time until and, unless frame is 0, from a packet
// before frame (so that a capture whose timestamps go back now and then
// gives the same, however far the table has read); ok reports which exist.
func (h *Hosts) since(a netip.Addr, until flows.Nanos, frame uint64) (ttl, rtt hostInfo, ttlOK, rttOK bool) {
	k := addrOf(a)
	l, ok := tabGet(h.learnts, k, tabHash(&k))
	if !ok {
		return
	}
	in := func(at flows.Nanos, i *hostInfo) bool {
		return at != 0 && at <= until && (frame == 0 || i.frame < frame)
	}
	return l.ttl, l.rtt, in(l.ttlAt, &l.ttl), in(l.rttAt, &l.rtt)
}

// Snapshot returns what the table knows of p's source and destination.
func (h *Hosts) Snapshot(p *capture.Packet) HostSnapshot {
	var s HostSnapshot
	src := addrOf(p.Src)
	if h.ipidHot[0].held > 0 {
		h.applyIPIDs()
	}
	s.src, s.srcOK = h.host(p.Src)
	s.dst, s.dstOK = h.host(p.Dst)
	s.srcIPID, s.srcIPIDOK = h.ipidSnapshot(src)
	s.path, s.pathOK = h.pathSnapshot(p, &s)
	// Wanted: a sender never seen, or a server seen without its RTT; a
	// client's own SYNs say all there is to learn of it.
	if h.hindsight && (!s.srcOK || s.src.server && s.src.rtt == 0) {
		if sh := tabHash(&src); !tabHas(h.wanted, src, sh) {
			if len(h.wanted) >= maxHosts {
				tabClear(&h.wanted)
			}
			tabPut(&h.wanted, src, sh, struct{}{}, tabHash)
		}
	}
	return s
}

// host returns a's entry; ok is false for none.
func (h *Hosts) host(a netip.Addr) (hostInfo, bool) {
	if a.Is4() {
		if r := h.hosts4.get(v4Key(a)); r != nil {
			return r.host.info()
		}
		return hostInfo{}, false
	}
	k := a.As16()
	hp, _ := h.hosts6.get(&k)
	return hp.info()
}

// of returns the snapshot's entry for the RST's sender (src) or receiver.
func (s *HostSnapshot) of(sender bool) (hostInfo, bool) {
	if sender {
		return s.src, s.srcOK
	}
	return s.dst, s.dstOK
}
