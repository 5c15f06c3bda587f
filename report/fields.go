package report

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// Field rendering shared by every format.

// tsLayout is RFC 3339 in UTC with exactly nine fraction digits, so
// timestamps sort as strings (docs/json.md, "ts").
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func timestamp(t time.Time) string { return t.UTC().Format(tsLayout) }

// appendTimestamp appends timestamp(t) to b.
func appendTimestamp(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, tsLayout) }

// endpoint renders ip:port with IPv6 in brackets; "" for a missing endpoint.
func endpoint(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// appendEndpoint appends endpoint(ap) to b.
func appendEndpoint(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return b
	}
	return ap.AppendTo(b)
}

// confidence clamps c into [0, 1] and rounds it to two decimals; NaN is 0.
func confidence(c float64) float64 {
	switch {
	case math.IsNaN(c) || c <= 0:
		return 0
	case c >= 1:
		return 1
	}
	return math.Round(c*100) / 100
}

func confText(c float64) string { return strconv.FormatFloat(confidence(c), 'f', 2, 64) }

// weight rounds a finding's weight to two decimals; NaN and ±Inf, which
// JSON cannot carry, are 0.
func weight(w float64) float64 {
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return 0
	}
	return math.Round(w*100) / 100
}

// rttMillis is the RTT in milliseconds, rounded to the microsecond.
func rttMillis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// rttText is the RTT as "21.046ms", or "" when it is unknown (not positive).
func rttText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatFloat(rttMillis(d), 'f', -1, 64) + "ms"
}

// isFollower reports whether v is a later RST of an event that began at an
// earlier frame (in a joint read: whose Relation is not "").
func isFollower(v *rstanalysis.Verdict) bool {
	if isJoint(v) {
		return v.Relation != ""
	}
	return v.Event != 0 && v.Event != v.Frame
}

// startsEvent reports whether v begins a reset event as the people formats
// count them: the first RST of its connection's event, unless it answers a
// segment that arrived after the connection had ended (late_segment). Such
// a reply, and what follows it, is a consequence of an end, not a reset to
// explain: it counts apart, as a late-segment reply.
func startsEvent(v *rstanalysis.Verdict) bool {
	return !isFollower(v) && v.Cause != rstanalysis.CauseLateSegment
}

// vantage is v.Vantage, "unknown" when the analysis left it empty.
func vantage(v *rstanalysis.Verdict) string {
	if v.Vantage == "" {
		return "unknown"
	}
	return v.Vantage
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wiresharkFilter is a Wireshark display filter that selects the
// connection between client and server: "ip.addr==A && ip.addr==B &&
// tcp.port==P && tcp.port==Q" (ipv6.addr for IPv6; one term when both
// ends share an address or a port).
func wiresharkFilter(client, server netip.AddrPort) string {
	return string(appendWiresharkFilter(nil, client, server))
}

// appendWiresharkFilter appends wiresharkFilter(client, server) to b.
func appendWiresharkFilter(b []byte, client, server netip.AddrPort) []byte {
	if !client.IsValid() || !server.IsValid() {
		return b
	}
	field := "ip.addr=="
	if client.Addr().Is6() {
		field = "ipv6.addr=="
	}
	b = client.Addr().AppendTo(append(b, field...))
	if server.Addr() != client.Addr() {
		b = server.Addr().AppendTo(append(b, " && "+field...))
	}
	b = strconv.AppendUint(append(b, " && tcp.port=="...), uint64(client.Port()), 10)
	if server.Port() != client.Port() {
		b = strconv.AppendUint(append(b, " && tcp.port=="...), uint64(server.Port()), 10)
	}
	return b
}

// framesFilter adds to a connection's filter the frames from first to
// last: the RSTs of an event and what lies between them.
func framesFilter(conn string, first, last uint64) string {
	if first == last {
		return conn + " && frame.number==" + strconv.FormatUint(first, 10)
	}
	return fmt.Sprintf("%s && frame.number>=%d && frame.number<=%d", conn, first, last)
}

// ruleMeans is what each rule's finding shows, in a few words.
var ruleMeans = func() map[rstanalysis.RuleID]string {
	m := make(map[rstanalysis.RuleID]string, len(rstanalysis.Rules))
	for _, r := range rstanalysis.Rules {
		m[r.ID] = r.Means
	}
	return m
}()

// whyOf is a verdict's reason in a few words: a load balancer's stated
// reset reason if the RST carries one, else what the two strongest
// findings that point the verdict's way mean ("sent from nearer than the
// sender; an injector's RST burst").
func whyOf(v *rstanalysis.Verdict) string {
	var parts []string
	for i := range v.Findings {
		f := &v.Findings[i]
		if strings.HasPrefix(string(f.Rule), "vendor.") {
			return f.Text
		}
	}
	for i := range v.Findings {
		f := &v.Findings[i]
		agrees := f.Weight != 0
		switch v.Origin {
		case rstanalysis.OriginMiddlebox:
			agrees = f.Weight > 0
		case rstanalysis.OriginServer, rstanalysis.OriginClient:
			agrees = f.Weight < 0
		}
		m := ruleMeans[f.Rule]
		if (agrees || v.Origin == rstanalysis.OriginUnknown) && m != "" && !slices.Contains(parts, m) {
			parts = append(parts, m)
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

// zoneName names loc for a heading: "UTC", or its abbreviation at t
// ("CET", "+0530").
func zoneName(loc *time.Location, t time.Time) string {
	if loc == nil || loc == time.UTC {
		return "UTC"
	}
	return t.In(loc).Format("MST")
}

// inLoc is t in loc (UTC when loc is nil).
func inLoc(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t.UTC()
	}
	return t.In(loc)
}

// dur renders a span for people: "412 ms", "21.6 s", "3m12s", "2h5m".
func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		f, prec := float64(d)/1e6, 0
		switch {
		case f < 1:
			prec = 3
		case f < 10:
			prec = 2
		case f < 100:
			prec = 1
		}
		return strconv.FormatFloat(f, 'f', prec, 64) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
