package report

import (
	"fmt"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// nextStep is one line a reviewer can act on for an event of its cause,
// filled in from the event: the hosts, the time, the distance of the
// device that sent the RST.
func nextStep(v *rstanalysis.Verdict, when string) string {
	srv, cli := endpoint(v.Server), v.Client.Addr().String()
	host := v.Server.Addr().String()
	hops := plural(hopsOf(v.TTL), "hop") + " from the capture point"
	if hopsOf(v.TTL) == 0 {
		hops = "on the capturing host or its link"
	}
	var s string
	switch v.Cause {
	case rstanalysis.CauseRefused:
		s = fmt.Sprintf("is anything listening on %s (ss -ltn on the server)? bound to 127.0.0.1 only? a host firewall REJECT rule?", srv)
	case rstanalysis.CauseFirewallReject:
		s = fmt.Sprintf("the rules (ACLs, security groups, IPS policies) of the device %s (the RST's TTL %d); traceroute -T -p %d %s finds it",
			hops, v.TTL, v.Server.Port(), host)
	case rstanalysis.CauseServerAbort:
		s = fmt.Sprintf("the application's logs on %s around %s: aborts, crashes, restarts, the OOM killer, requests larger than it reads", host, when)
	case rstanalysis.CauseClientAbort:
		s = fmt.Sprintf("the client on %s around %s: its request timeout against the server's response time, cancellations", cli, when)
	case rstanalysis.CauseKeepaliveReuse:
		s = fmt.Sprintf("the client pool's idle timeout against %s's keep-alive timeout: it must be shorter; retry idempotent requests on a fresh connection", srv)
	case rstanalysis.CauseIdleTimeout:
		s = fmt.Sprintf("the idle timeout of the device %s (NAT, load balancer, firewall) against the TCP keep-alive interval or the application's pings", hops)
	case rstanalysis.CauseInjected:
		s = fmt.Sprintf("the path, not the server: a device %s forged it; capture on both sides of a suspect, and the IPS or DPI rules that match the request", hops)
	case rstanalysis.CauseTLSReject:
		s = fmt.Sprintf("%s's TLS configuration for the name asked (openssl s_client -connect %s -servername NAME) and its TLS logs", srv, srv)
	case rstanalysis.CauseBacklogOverflow:
		s = fmt.Sprintf("nstat -az TcpExtListenOverflows on %s; the application's listen backlog and net.core.somaxconn; does it accept fast enough?", host)
	case rstanalysis.CauseStaleConnection:
		s = fmt.Sprintf("restarts or failovers of %s before %s; make the client pool validate or expire idle connections", srv, when)
	case rstanalysis.CauseLateSegment:
		s = "nothing in itself: a stack answered a segment that came after its connection had ended; many of them mean the other side " +
			"sends after the close (a half-close, a lingering write): that side's shutdown; after a reset, the RST its event began with"
	default:
		s = "the evidence (-v); a capture at the other end too: a second vantage point usually decides"
	}
	for _, f := range v.Findings {
		if strings.HasPrefix(string(f.Rule), "vendor.") {
			s += "; " + f.Text
		}
	}
	return s
}

// hopsOf is how many routers a packet that arrived with ttl crossed, from
// the nearest initial TTL above it (32, 64, 128, 255).
func hopsOf(ttl uint8) int {
	for _, i := range []int{32, 64, 128} {
		if int(ttl) <= i {
			return i - int(ttl)
		}
	}
	return 255 - int(ttl)
}
