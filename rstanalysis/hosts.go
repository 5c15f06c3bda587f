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
// Neither map holds a pointer (addresses as bytes, times as flows.Nanos), so
// the garbage collector does not scan them: the SYN map holds up to maxHosts
// entries of a busy capture.
type Hosts struct {
	m   map[hostAddr]hostInfo
	syn map[flows.Key]flows.Nanos // SYNs awaiting their SYN-ACK
	// wanted holds the addresses a RST came from while the table knew
	// nothing of them (or no RTT); learnt holds, for each, the first
	// SYN or SYN-ACK seen from it since (hindsight.go). The first, not the
	// latest: a verdict decided in hindsight must not depend on when it is
	// decided, so that any number of workers gives the same.
	wanted map[hostAddr]bool
	learnt map[hostAddr]learnt
	// hindsight turns the wanted and learnt tables on (Config.Hindsight,
	// Config.Revise).
	hindsight bool
	// ipid indexes ipids, each address's IPv4 ID profile (hostipid.go);
	// ipidHot caches recent ones.
	ipid    map[hostAddr]int32
	ipids   []ipidInfo
	ipidHot [ipidHot]hotSlot
	// learned counts the references learnt for wanted addresses.
	learned uint64
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

type hostInfo struct {
	ttl    uint8
	server bool          // seen answering a SYN (its latest was a SYN-ACK)
	mac    [6]byte       // the link-layer next hop its SYNs and SYN-ACKs came through (capture.Packet.SrcMAC)
	macs   uint8         // how many: 1, or 2 for more than one (a zero mac counts as one)
	frame  uint64        // the packet the TTL was seen in
	rtt    time.Duration // SYN to SYN-ACK, when the host answered a SYN
}

// HostSnapshot is what Hosts knew of a RST's two addresses when it arrived.
type HostSnapshot struct {
	src, dst     hostInfo
	srcOK, dstOK bool
	srcIPIDOK    bool
	srcIPID      ipidInfo // the sender's IP ID profile
}

// maxHosts bounds the tables; past it they start afresh (a rare event that
// only weakens the cross-connection evidence for a while).
const maxHosts = 1 << 17

// NewHosts returns an empty host table.
func NewHosts() *Hosts {
	return &Hosts{m: make(map[hostAddr]hostInfo), syn: make(map[flows.Key]flows.Nanos),
		wanted: make(map[hostAddr]bool), learnt: make(map[hostAddr]learnt), ipid: make(map[hostAddr]int32)}
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
	var rtt time.Duration
	if p.Flags&capture.ACK == 0 {
		if len(h.syn) >= maxHosts {
			clear(h.syn)
		}
		h.syn[flows.KeyOf(p)] = flows.NanosOf(p.Time)
	} else if k := flows.KeyOf(p); len(h.syn) > 0 {
		if t, ok := h.syn[k]; ok {
			rtt = flows.NanosOf(p.Time).Sub(t)
			delete(h.syn, k)
		}
	}
	src := addrOf(p.Src)
	old, ok := h.m[src]
	if !ok && len(h.m) >= maxHosts {
		clear(h.m)
	}
	if rtt == 0 && ok {
		rtt = old.rtt
	}
	info := hostInfo{ttl: p.TTL, server: p.Flags&capture.ACK != 0, frame: p.Frame, rtt: rtt, mac: p.SrcMAC, macs: 1}
	if ok && (old.macs > 1 || old.mac != p.SrcMAC) {
		info.macs = 2
	}
	h.m[src] = info
	if len(h.wanted) > 0 && h.wanted[src] {
		h.learn(src, info, flows.NanosOf(p.Time))
	}
}

// learn records info, seen at, as the first reference for a wanted
// address's TTL and, when it has one, RTT.
func (h *Hosts) learn(a hostAddr, info hostInfo, at flows.Nanos) {
	l := h.learnt[a]
	if l.ttlAt == 0 || l.rttAt == 0 && info.rtt > 0 {
		h.learned++
	}
	if l.ttlAt == 0 {
		l.ttl, l.ttlAt = info, at
	}
	if l.rttAt == 0 && info.rtt > 0 {
		l.rtt, l.rttAt = info, at
	}
	if len(h.learnt) >= maxHosts {
		clear(h.learnt)
	}
	h.learnt[a] = l
}

// since returns the first TTL and RTT references learnt for a after a RST
// from it, up to capture time until and, unless frame is 0, from a packet
// before frame (so that a capture whose timestamps go back now and then
// gives the same, however far the table has read); ok reports which exist.
func (h *Hosts) since(a netip.Addr, until flows.Nanos, frame uint64) (ttl, rtt hostInfo, ttlOK, rttOK bool) {
	l, ok := h.learnt[addrOf(a)]
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
	s.src, s.srcOK = h.m[src]
	s.dst, s.dstOK = h.m[addrOf(p.Dst)]
	s.srcIPID, s.srcIPIDOK = h.ipidSnapshot(src)
	// Wanted: a sender never seen, or a server seen without its RTT; a
	// client's own SYNs say all there is to learn of it.
	if h.hindsight && (!s.srcOK || s.src.server && s.src.rtt == 0) && !h.wanted[src] {
		if len(h.wanted) >= maxHosts {
			clear(h.wanted)
		}
		h.wanted[src] = true
	}
	return s
}

// of returns the snapshot's entry for the RST's sender (src) or receiver.
func (s *HostSnapshot) of(sender bool) (hostInfo, bool) {
	if sender {
		return s.src, s.srcOK
	}
	return s.dst, s.dstOK
}
