package rstanalysis

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// paths remembers, per path, what the SYNs and SYN-ACKs of its hosts
// showed: a path is the hosts of one network (an IPv4 /24, an IPv6 /64)
// whose packets reach the capture point through one link-layer next hop
// (capture.Packet.SrcMAC; the zero MAC on a link without MACs). Hosts of a
// path at one hop distance share it as far as the capture point can tell,
// so a RST from an address the capture shows no packet of can still be
// compared with its neighbours (rules_paths.go). Like Hosts, whose
// Observe feeds it, it sees packets in capture order and holds no pointer.
type paths []tabSlot[netKey, pathInfo]

// netKey is a path: its network (the /24's three bytes, or the /64's
// eight, big-endian) and its next hop (the MAC's six bytes, and bit 63 set
// for IPv6).
type netKey struct {
	net, hop uint64
}

// pathInfo is what a path's SYNs and SYN-ACKs showed.
type pathInfo struct {
	host     [2]uint64     // the first two hosts: their address's last byte (IPv4) or last 8 bytes (IPv6)
	frame    [2]uint64     // the packet each was first seen in
	rtt      time.Duration // the shortest SYN to SYN-ACK time of the path's hosts
	rttFrame uint64        // the SYN-ACK that showed it
	n        uint8         // distinct hosts: 0, 1, 2, or 3 for more than two
	lo, hi   uint8         // the least and the greatest hop distance seen (flows.Hops)
	inits    uint8         // the initial TTLs seen, one bit each (initBit)
	rttHosts uint8         // who gave an RTT: bit 0 host[0], bit 1 host[1], bit 2 another
	wanted   bool          // a RST wants what the path shows after it (pathLearnt)
}

// maxPaths bounds the path table; past it, it starts afresh.
const maxPaths = 1 << 15

// pathOf returns the path of a reached through next hop mac, and a's part
// within its network.
func pathOf(mac [6]byte, a netip.Addr) (netKey, uint64) {
	hop := uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 | uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
	if a.Is4() {
		v := uint64(v4Key(a))
		return netKey{v >> 8, hop}, v & 0xff
	}
	b := a.As16()
	return netKey{binary.BigEndian.Uint64(b[:8]), hop | 1<<63}, binary.BigEndian.Uint64(b[8:])
}

// pathHash hashes a path.
func pathHash(k *netKey) uint64 { return tabMix(k.net*0x9e3779b97f4a7c15 ^ k.hop) }

// initBit is the bit of ttl's initial TTL in pathInfo.inits.
func initBit(ttl uint8) uint8 {
	switch flows.InitialTTL(ttl) {
	case 32:
		return 1
	case 64:
		return 2
	case 128:
		return 4
	}
	return 8
}

// pathLearnt is what the path table learnt of a wanted path (one a RST
// came through from a sender the host table knew nothing of) after that
// RST: the path as it was when it first stood for a sender by its hop
// distances (pathMinHosts hosts at most one hop apart), and when it first
// did by its SYN-ACK times too, with the time and frame of each. The
// first, not the latest, as for Hosts.learnts: a verdict decided in
// hindsight must not depend on when it is decided.
type pathLearnt struct {
	hops, rtt           pathInfo
	hopsAt, rttAt       flows.Nanos
	hopsFrame, rttFrame uint64
}

// observePath records SYN or SYN-ACK p in the path table (rtt: the time
// from its SYN, 0 for none or for a SYN), and what it makes of a wanted
// path.
func (h *Hosts) observePath(p *capture.Packet, rtt time.Duration) {
	k, host := pathOf(p.SrcMAC, p.Src)
	kh := pathHash(&k)
	e := h.paths.entry(k, kh)
	e.add(host, p, rtt)
	if e.wanted && e.n >= pathMinHosts && e.hi-e.lo <= 1 {
		h.learnPath(k, kh, e, p)
	}
}

// learnPath records wanted path k's entry e, as SYN or SYN-ACK p left it,
// as the first that stands for a sender by its hop distances, or by its
// SYN-ACK times too; once both are known, k is no longer wanted.
func (h *Hosts) learnPath(k netKey, kh uint64, e *pathInfo, p *capture.Packet) {
	l, ok := tabGet(h.pathsLater, k, kh)
	if !ok || l.rttAt != 0 { // forgotten (maxPaths), or done
		e.wanted = false
		return
	}
	at := flows.NanosOf(p.Time)
	if l.hopsAt == 0 {
		l.hops, l.hopsAt, l.hopsFrame = *e, at, p.Frame
	}
	if bits.OnesCount8(e.rttHosts) >= pathMinHosts {
		l.rtt, l.rttAt, l.rttFrame = *e, at, p.Frame
		e.wanted = false
	}
	tabPut(&h.pathsLater, k, kh, l, pathHash)
}

// pathSnapshot returns the path of RST p's sender through p's next hop
// when the host table knows no TTL or no RTT of the sender; ok is false
// for none. With hindsight on, a path whose sender the host table knows
// nothing of, or no RTT of (s, the rest of the RST's snapshot), is wanted:
// what the table learns of it after the RST is kept (pathLearnt).
func (h *Hosts) pathSnapshot(p *capture.Packet, s *HostSnapshot) (pathInfo, bool) {
	if s.srcOK && s.src.rtt > 0 {
		return pathInfo{}, false // the sender's own TTL and RTT say more than its path
	}
	k, _ := pathOf(p.SrcMAC, p.Src)
	kh := pathHash(&k)
	if !h.hindsight || s.srcOK && !s.src.server {
		return tabGet(h.paths, k, kh)
	}
	e := h.paths.entry(k, kh)
	if !e.wanted {
		e.wanted = true
		if !tabHas(h.pathsLater, k, kh) {
			if len(h.pathsLater) >= maxPaths {
				tabClear(&h.pathsLater)
			}
			tabPut(&h.pathsLater, k, kh, pathLearnt{}, pathHash)
		}
	}
	return *e, true
}

// entry returns path k's entry (kh its hash), adding an empty one if it is
// new; it stays valid until the next entry.
func (t *paths) entry(k netKey, kh uint64) *pathInfo {
	tab := (*t)[:cap(*t)]
	if len(tab) > 0 {
		if i := tabFind(tab, k, kh); tab[i].full {
			return &tab[i].val
		}
	}
	s := (*[]tabSlot[netKey, pathInfo])(t)
	if len(*t) >= maxPaths {
		tabClear(s)
	}
	tabPut(s, k, kh, pathInfo{}, pathHash)
	tab = (*t)[:cap(*t)]
	return &tab[tabFind(tab, k, kh)].val
}

// add records host's SYN or SYN-ACK p.
func (e *pathInfo) add(host uint64, p *capture.Packet, rtt time.Duration) {
	hops := uint8(flows.Hops(p.TTL))
	if e.n == 0 {
		e.lo, e.hi = hops, hops
	}
	e.lo, e.hi = min(e.lo, hops), max(e.hi, hops)
	e.inits |= initBit(p.TTL)
	var who uint8
	switch {
	case e.n > 0 && e.host[0] == host:
		who = 1
	case e.n > 1 && e.host[1] == host:
		who = 2
	case e.n < 2:
		e.host[e.n], e.frame[e.n] = host, p.Frame
		e.n++
		who = 1 << (e.n - 1)
	default:
		e.n, who = 3, 4
	}
	if rtt > 0 {
		if e.rtt == 0 || rtt < e.rtt {
			e.rtt, e.rttFrame = rtt, p.Frame
		}
		e.rttHosts |= who
	}
}
