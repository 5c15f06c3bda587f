package report

import (
	"fmt"
	"strings"
)

// details lists everything about one verdict, indented by indent: the
// verbose section of the text and markdown formats.
func details(r *row, indent string) string {
	var b strings.Builder
	name := "#" + r.frame
	if r.fileText != "" {
		name = r.fileText + " " + name
	}
	fmt.Fprintf(&b, "%s%s  %s  %s → %s\n", indent, name, r.ts, r.client, r.server)
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
