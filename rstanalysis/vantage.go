package rstanalysis

import (
	"fmt"

	"github.com/rstscope/rstscope/flows"
)

// maxDistance is the most hops an endpoint's TTL is read as a distance:
// beyond it the TTL is an application's own (eBGP's 1), not a path's.
const maxDistance = 32

// vantageOf says where the capture was taken relative to c, from the hop
// counts of the endpoints' ordinary packets (0 hops: the capturing host),
// the server's from other connections when c has none of its packets.
func (pd *pending) vantageOf(c *flows.Conn) string {
	ch, sh := c.Half[flows.Client].Hops(), c.Half[flows.Server].Hops()
	if ch > maxDistance || sh > maxDistance {
		return "unknown"
	}
	if sh < 0 {
		if h, ok := pd.hosts.of(pd.dir == flows.Server); ok {
			sh = flows.Hops(h.ttl)
		}
	}
	switch {
	case ch == 0 && sh == 0:
		return "same host or link as both ends"
	case ch == 0:
		return "client host"
	case sh == 0:
		return "server host"
	case ch > 0 && sh > 0:
		return fmt.Sprintf("on the path (client %d hops, server %d hops)", ch, sh)
	case ch > 0:
		return fmt.Sprintf("%d hops from the client", ch)
	case sh > 0:
		return fmt.Sprintf("%d hops from the server", sh)
	}
	return "unknown"
}
