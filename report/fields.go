package report

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// Field rendering shared by every format.

// tsLayout is RFC 3339 in UTC with exactly nine fraction digits, so
// timestamps sort as strings (docs/json.md, "ts").
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func timestamp(t time.Time) string { return t.UTC().Format(tsLayout) }

// endpoint renders ip:port with IPv6 in brackets; "" for a missing endpoint.
func endpoint(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
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
// earlier frame.
func isFollower(v *rstanalysis.Verdict) bool { return v.Event != 0 && v.Event != v.Frame }

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
