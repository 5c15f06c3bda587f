package report

import (
	"fmt"
	"strings"
	"time"
)

// details lists everything about one verdict, indented by indent, its
// times in loc: the verbose section of the people formats.
func details(r *row, indent string, loc *time.Location) string {
	var b strings.Builder
	name := "#" + r.frame
	if r.fileText != "" {
		name = r.fileText + " " + name
	}
	fmt.Fprintf(&b, "%s%s  %s  %s → %s\n", indent, name, inLoc(r.t, loc).Format("2006-01-02 15:04:05.000000000 MST"),
		r.client, r.server)
	in := indent + "    "
	kv := func(k, v string) { fmt.Fprintf(&b, "%s%-9s %s\n", in, k, v) }
	kv("verdict", fmt.Sprintf("from %s, origin %s (confidence %s), phase %s, cause %s",
		r.from, r.origin, r.conf, r.phaseNote, r.cause))
	pkt := fmt.Sprintf("flags %s  ttl %d  seq %d  ack %d", r.flags, r.ttl, r.seq, r.ack)
	if r.rtt != "" {
		pkt += "  rtt " + r.rtt
	}
	kv("packet", pkt)
	kv("vantage", r.vantage)
	kv("request", r.request)
	kv("response", r.response)
	kv("zeek", "conn_state "+r.connState+"  history "+r.history)
	kv("filter", r.filter)
	if r.event != "" {
		kv("event", strings.TrimPrefix(r.event, "↳ event "))
	}
	if len(r.texts) == 0 {
		kv("evidence", "none")
	}
	for i, e := range r.texts {
		k := ""
		if i == 0 {
			k = "evidence"
		}
		kv(k, fmt.Sprintf("%d. %s", i+1, e))
	}
	return b.String()
}
