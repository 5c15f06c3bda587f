package rstanalysis

import (
	"fmt"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// rulePath compares the link-layer next hop a RST came through (its source
// MAC) with the one its claimed sender's SYNs and SYN-ACKs came through,
// on this connection and earlier ones: a host's packets reach the capture
// point through one next hop, and hosts behind it at the same hop distance
// share a path. A RST through another next hop was made by another device
// on the capturing link: a local injector or firewall. The rule speaks only
// when every packet of the sender the host table saw came through exactly
// one MAC, so that a mirror port, a bond, or a capture on several
// interfaces, where the next hop varies, say nothing; a tunnelled segment
// or a link without MACs neither.
func rulePath(pd *pending, c *flows.Conn, p *capture.Packet) {
	if h, ok := pd.hosts.of(true); ok {
		sender := &c.Half[pd.dir]
		pathAgainst(pd, h, sender.Packets > uint64(sender.RSTs), "")
	}
}

// pathAgainstHost compares the RST's next hop with what the host table
// learnt of its sender after it, h (hindsight, a revision).
func pathAgainstHost(pd *pending, h hostInfo) {
	pathAgainst(pd, h, false, ", after this RST")
}

// pathAgainst compares the RST's next hop with h, what the host table knew
// of the sender; own says the sender has packets of its own on the RST's
// connection, and when is "" or ", after this RST".
func pathAgainst(pd *pending, h hostInfo, own bool, when string) {
	var none [6]byte
	if pd.rst.mac == none || h.macs != 1 || h.mac == none {
		return
	}
	if h.mac != pd.rst.mac {
		w, where := moderate, "on other connections"
		if own {
			w, where = strong, "on this connection and before"
		}
		pd.fs.add(RulePathMACMismatch, w, on(h.frame), "came through link-layer next hop %s, but every SYN and SYN-ACK of the %s %s (the latest at frame %d%s) came through %s: made by another device on the capturing link",
			macText(pd.rst.mac), pd.dir, where, h.frame, when, macText(h.mac))
		return
	}
	if !own {
		pd.fs.add(RulePathMACMatch, 0, on(h.frame), "came through link-layer next hop %s, as the %s's packets on other connections (frame %d%s): the same path",
			macText(pd.rst.mac), pd.dir, h.frame, when)
	}
}

// macText renders a MAC-48 as tcpdump does: 02:42:ac:11:00:02.
func macText(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
