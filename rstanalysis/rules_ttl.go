package rstanalysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/flows"
)

// ruleTTL compares the RST's TTL or hop limit with the claimed sender's own
// packets, or with its packets on other connections (Cloudflare, SIGCOMM
// 2023: an endpoint's TTL varies by at most 1 within a connection). It
// runs when the verdict is decided, on the connection as it then is, so
// that packets after the RST count as references too.
func ruleTTL(pd *pending, c *flows.Conn) {
	if c == nil {
		return
	}
	if refs := c.Half[pd.dir].TTLs(); len(refs) > 0 {
		ttlAgainst(pd, refs, "packets", nil)
		return
	}
	if h, ok := pd.hosts.of(true); ok {
		ttlAgainstHost(pd, h)
		return
	}
	pd.noTTLRef = true
	pd.fs.add(RuleTTLNone, 0, nil, "no other packet from the %s to compare its TTL %d with: a device on the path answering for it would look the same", pd.dir, pd.v.TTL)
}

// ttlAgainstHost compares the RST's TTL with the sender's latest SYN or
// SYN-ACK on another connection, h. Applications may set their own TTL
// (eBGP's 1, GTSM's 255), so another connection is a weaker reference than
// this one.
func ttlAgainstHost(pd *pending, h hostInfo) {
	when := ""
	if h.frame > pd.v.Frame {
		when = ", after this RST"
	}
	ttlAgainst(pd, []uint8{h.ttl}, fmt.Sprintf("packets on other connections (frame %d%s)", h.frame, when), on(h.frame))
	if when != "" {
		// After an incident an address may have moved to another backend
		// (a failover): a later reference at another distance is weak
		// evidence, unless the RST was made on the capturing link, where
		// no remote host is.
		pd.fs.weaken(RuleTTLMismatch, weak)
	}
}

// ttlAgainst weighs the RST's TTL against refs, the TTLs of the sender's
// packets: its own on this connection (where is "packets", frames nil) or
// on others.
func ttlAgainst(pd *pending, refs []uint8, where string, frames []uint64) {
	d, ttl := pd.dir, int(pd.v.TTL)
	own := frames == nil
	weight := strong
	if !own {
		weight = moderate
	}
	if len(refs) > 1 {
		weight = weak
	}
	best := nearest(refs, ttl)
	hops, refHops := flows.Hops(uint8(ttl)), flows.Hops(uint8(best))
	if !own && flows.InitialTTL(uint8(ttl)) != flows.InitialTTL(uint8(best)) && !(hops == 0 && refHops > 0) {
		// Another host behind the same address, or another OS; but a RST
		// made on the capturing host's link while the sender is hops
		// away is not the sender's, whatever its OS.
		weight = weak
	}
	list := ttlList(refs)
	switch {
	case ttl == best:
		w := -moderate
		if !own || len(refs) > 1 {
			w = -weak
		}
		pd.fs.add(RuleTTLMatch, w, frames, "TTL %d matches the %s's %s (%s)", ttl, d, where, list)
	case absInt(ttl-best) == 1 && !(hops == 0 && refHops > 0):
		// Within the usual variation of one endpoint, and also what a
		// device one hop nearer sends: no weight.
		pd.fs.add(RuleTTLNear, 0, frames, "TTL %d, one off the %s's %s (%s): within an endpoint's usual variation, or one hop nearer", ttl, d, where, list)
	case hops == 0:
		pd.fs.add(RuleTTLInitial, weight, frames, "TTL %d is an initial TTL: made on the capturing host or a device on its link, but the %s's %s arrive %s away (TTL %s)",
			ttl, d, where, hopsText(refHops), list)
	case ttl > best:
		pd.fs.add(RuleTTLMismatch, weight, frames, "TTL %d, the %s's %s arrive with %s: sent %s nearer than the %s",
			ttl, d, where, list, hopsText(ttl-best), d)
	default:
		pd.fs.add(RuleTTLMismatch, weight, frames, "TTL %d, the %s's %s arrive with %s: sent %s farther than the %s, or with another initial TTL",
			ttl, d, where, list, hopsText(best-ttl), d)
	}
}

// nearest returns the reference TTL closest to ttl (the first on a tie).
func nearest(refs []uint8, ttl int) int {
	best := int(refs[0])
	for _, r := range refs[1:] {
		if absInt(int(r)-ttl) < absInt(best-ttl) {
			best = int(r)
		}
	}
	return best
}

func hopsText(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}

// ttlList renders TTLs as "57, 58".
func ttlList(ts []uint8) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = strconv.Itoa(int(t))
	}
	return strings.Join(s, ", ")
}

func absInt(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
