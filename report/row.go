package report

import (
	"strconv"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// row is one verdict rendered for people: built once when the verdict is
// written, then read by the text table, the stream lines, the Markdown
// table and the details. Text from the wire is cleaned; the fields a cell
// shows as "-" when empty (flags, request, response) already are.
// Markdown escaping comes on top of these, in markdown.go. CSV and JSON do
// not use rows: they carry the verdict's text as is.
type row struct {
	file     string // the input as given, to group rows by file
	fileText string // file, cleaned

	frame string    // decimal
	ts    string    // RFC 3339 UTC with nine fraction digits
	t     time.Time // the RST's time, UTC; the formats show it in Options.Location

	client, server string // ip:port, IPv6 in brackets
	from, origin   string
	conf           string // two decimals
	phase          string // the phase name
	phaseNote      string // phase, plus " (midstream)" when note is set
	cause          string

	flags, request, response string // cleaned, "-" when empty
	ttl                      uint8
	seq, ack                 uint32
	rtt                      string // "21.046ms", "" when unknown
	vantage                  string // cleaned, "unknown" when empty
	connState, history       string // Zeek's, "-" when unknown
	filter                   string // a Wireshark display filter for the connection
	why                      string // the short reason (whyOf)

	// evidence is what the table's evidence column lists: the event line
	// for a later RST of an event, the findings' texts (strongest first),
	// then the midstream note.
	evidence []string
	event    string   // the event line, "" unless isFollower
	texts    []string // the findings' texts, cleaned: a part of evidence
	note     string   // midstreamNote when the phase does not say so, else ""
}

const midstreamNote = "client and server guessed: the capture began mid-connection"

func newRow(v *rstanalysis.Verdict) row {
	t := v.Time.UTC()
	r := row{
		file: v.File, fileText: clean(v.File),
		frame: strconv.FormatUint(v.Frame, 10), ts: t.Format(tsLayout), t: t,
		client: endpoint(v.Client), server: endpoint(v.Server),
		from: v.From.String(), origin: v.Origin.String(), conf: confText(v.Confidence),
		phase: v.Phase.String(), phaseNote: v.Phase.String(), cause: v.Cause.String(),
		flags: orDash(clean(v.Flags)), request: orDash(clean(v.Request)), response: orDash(clean(v.Response)),
		ttl: v.TTL, seq: v.Seq, ack: v.Ack, rtt: rttText(v.RTT), vantage: clean(vantage(v)),
		connState: orDash(v.ConnState), history: orDash(v.History), filter: wiresharkFilter(v.Client, v.Server),
		why: clean(whyOf(v)),
	}
	if v.Midstream && v.Phase != rstanalysis.PhaseMidstream {
		r.note = midstreamNote
		r.phaseNote += " (midstream)"
	}
	r.evidence = make([]string, 0, len(v.Findings)+2)
	if isFollower(v) {
		r.event = "↳ event #" + strconv.FormatUint(v.Event, 10)
		if v.Relation != "" {
			r.event += ": " + clean(v.Relation)
		}
		r.evidence = append(r.evidence, r.event)
	}
	first := len(r.evidence)
	for i := range v.Findings {
		r.evidence = append(r.evidence, clean(v.Findings[i].Text))
	}
	r.texts = r.evidence[first:len(r.evidence):len(r.evidence)]
	if r.note != "" {
		r.evidence = append(r.evidence, r.note)
	}
	return r
}

// eventAndTexts is the evidence without the midstream note, for a format
// whose phase column carries it (phaseNote).
func (r *row) eventAndTexts() []string {
	if r.note != "" {
		return r.evidence[:len(r.evidence)-1]
	}
	return r.evidence
}
