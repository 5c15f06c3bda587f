package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Hosts remembers, per address, the TTL of its latest SYN or SYN-ACK and the
// time from a SYN to that host's SYN-ACK: a reference for a RST on a
// connection with no other packet from its claimed sender (DESIGN.md §3.2,
// §3.6). It must see packets in capture order, so that a RST is judged on
// what came before it whatever the number of workers.
type Hosts struct {
	m   map[netip.Addr]hostInfo
	syn map[flows.Key]time.Time // SYNs awaiting their SYN-ACK
}

type hostInfo struct {
	ttl   uint8
	frame uint64        // the packet the TTL was seen in
	rtt   time.Duration // SYN to SYN-ACK, when the host answered a SYN
}

// HostSnapshot is what Hosts knew of a RST's two addresses when it arrived.
type HostSnapshot struct {
	src, dst     hostInfo
	srcOK, dstOK bool
}

// maxHosts bounds the tables; past it they start afresh (a rare event that
// only weakens the cross-connection evidence for a while).
const maxHosts = 1 << 17

// NewHosts returns an empty host table.
func NewHosts() *Hosts {
	return &Hosts{m: make(map[netip.Addr]hostInfo), syn: make(map[flows.Key]time.Time)}
}

// Observe records p if it is a SYN or a SYN-ACK; other packets cost a branch.
func (h *Hosts) Observe(p *capture.Packet) {
	if p.Flags&(capture.SYN|capture.RST) != capture.SYN {
		return
	}
	var rtt time.Duration
	if p.Flags&capture.ACK == 0 {
		if len(h.syn) >= maxHosts {
			clear(h.syn)
		}
		h.syn[flows.KeyOf(p)] = p.Time
	} else if k := flows.KeyOf(p); !h.syn[k].IsZero() {
		rtt = p.Time.Sub(h.syn[k])
		delete(h.syn, k)
	}
	old, ok := h.m[p.Src]
	if !ok && len(h.m) >= maxHosts {
		clear(h.m)
	}
	if rtt == 0 && ok {
		rtt = old.rtt
	}
	h.m[p.Src] = hostInfo{ttl: p.TTL, frame: p.Frame, rtt: rtt}
}

// Snapshot returns what the table knows of p's source and destination.
func (h *Hosts) Snapshot(p *capture.Packet) HostSnapshot {
	var s HostSnapshot
	s.src, s.srcOK = h.m[p.Src]
	s.dst, s.dstOK = h.m[p.Dst]
	return s
}

// of returns the snapshot's entry for the RST's sender (src) or receiver.
func (s *HostSnapshot) of(sender bool) (hostInfo, bool) {
	if sender {
		return s.src, s.srcOK
	}
	return s.dst, s.dstOK
}
