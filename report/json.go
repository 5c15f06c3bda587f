package report

import (
	"io"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/rstscope/rstscope/rstanalysis"
)

// jsonVerdict is one JSON Lines object, documented key by key in
// docs/json.md: the contract's keys first (file to findings), then the
// packet and exchange. Every key is always present; none is omitempty.
type jsonVerdict struct {
	File       string        `json:"file"`
	Frame      uint64        `json:"frame"`
	TS         string        `json:"ts"`
	Client     string        `json:"client"`
	Server     string        `json:"server"`
	From       string        `json:"from"`
	Origin     string        `json:"origin"`
	Confidence float64       `json:"confidence"`
	Phase      string        `json:"phase"`
	Cause      string        `json:"cause"`
	Evidence   []string      `json:"evidence"`
	Findings   []jsonFinding `json:"findings"`

	Flags     string   `json:"flags"`
	TTL       uint8    `json:"ttl"`
	Seq       uint32   `json:"seq"`
	Ack       uint32   `json:"ack"`
	RTTms     *float64 `json:"rtt_ms"` // null when the RTT is unknown
	Midstream bool     `json:"midstream"`
	Request   string   `json:"request"`
	Response  string   `json:"response"`
	Event     uint64   `json:"event"`
	Relation  string   `json:"relation"`
	Vantage   string   `json:"vantage"`
	ConnState string   `json:"conn_state"`
	History   string   `json:"history"`
	Filter    string   `json:"filter"`
	// Sightings is written only by a joint read (several inputs).
	Sightings []jsonSighting `json:"sightings,omitempty"`
	// Conn is written only by a joint read, for a traced connection.
	Conn int `json:"conn,omitempty"`
	// Only on a revision (docs/json.md): absent on a verdict's first issue.
	Revision int      `json:"revision,omitempty"`
	Was      *jsonWas `json:"was,omitempty"`
}

// jsonWas is "was", what the issue a revision replaces said.
type jsonWas struct {
	Origin     string  `json:"origin"`
	Cause      string  `json:"cause"`
	Confidence float64 `json:"confidence"`
}

// jsonFinding is one element of "findings".
type jsonFinding struct {
	Rule   string   `json:"rule"`
	Weight float64  `json:"weight"`
	Text   string   `json:"text"`
	Frames []uint64 `json:"frames"` // [] when none, never null
}

// jsonSummary is the optional last line, {"summary":{...}}.
type jsonSummary struct {
	Inputs      []string       `json:"inputs"`
	Frames      uint64         `json:"frames"`
	TCPPackets  uint64         `json:"tcp_packets"`
	Connections uint64         `json:"connections"`
	MaxOpen     uint64         `json:"max_open"`
	Evicted     uint64         `json:"evicted"`
	RSTs        uint64         `json:"rsts"`
	Verdicts    int            `json:"verdicts"`
	Events      int            `json:"events"`
	FollowUps   int            `json:"follow_ups"`
	ResetConns  int            `json:"reset_connections"`
	Dropped     uint64         `json:"dropped"`
	ByOrigin    map[string]int `json:"by_origin"`
	ByCause     map[string]int `json:"by_cause"`
	Warnings    []string       `json:"warnings"`
	ElapsedS    float64        `json:"elapsed_s"`
	FirstTS     string         `json:"first_ts"`
	LastTS      string         `json:"last_ts"`
	Filter      string         `json:"filter"`
	Joint       *jsonJoint     `json:"joint,omitempty"` // only a joint read
}

// jsonWriter writes JSON Lines with segmentio/encoding's encoder: the same
// bytes as encoding/json for these types with HTML escaping off
// (TestJSONEncoderMatchesStd), in under half the time.
type jsonWriter struct {
	out
	enc    *json.Encoder
	opts   Options
	tl     *tally
	events int // verdicts that begin a reset event

	// reused by every Write: Encode is done with them when it returns.
	// ev and fs are never nil, so that no findings encode as [].
	jv  jsonVerdict
	ev  []string
	fs  []jsonFinding
	rtt float64
	was jsonWas
	// text holds a record's ts, client, server and filter back to back,
	// made into one string: one allocation instead of a dozen.
	text []byte
}

// noFrames is the frames of a finding that names none: [] in JSON.
var noFrames = []uint64{}

func newJSONWriter(w io.Writer, opts Options) *jsonWriter {
	j := &jsonWriter{out: newOut(w), opts: opts, ev: []string{}, fs: []jsonFinding{}}
	j.enc = json.NewEncoder(j.bw)
	j.enc.SetEscapeHTML(false)
	if opts.Summary {
		j.tl = newTally()
	}
	return j
}

func (j *jsonWriter) Write(v *rstanalysis.Verdict) error {
	if err := j.check(); err != nil {
		return err
	}
	switch {
	case j.tl == nil:
	case v.Revision > 0:
		j.tl.revise(v, cellKey{}, cellKey{}, 0, false)
	case repeatSighting(v):
	default:
		j.tl.add(v, cellKey{originOf(v), v.Cause}, false)
		if startsEvent(v) {
			j.events++
		}
	}
	j.ev, j.fs = j.ev[:0], j.fs[:0]
	for i := range v.Findings {
		f := &v.Findings[i]
		frames := f.Frames
		if frames == nil {
			frames = noFrames
		}
		j.ev = append(j.ev, f.Text)
		j.fs = append(j.fs, jsonFinding{Rule: string(f.Rule), Weight: weight(f.Weight), Text: f.Text, Frames: frames})
	}
	b := appendTimestamp(j.text[:0], v.Time)
	ts := len(b)
	b = appendEndpoint(b, v.Client)
	cl := len(b)
	b = appendEndpoint(b, v.Server)
	sv := len(b)
	b = appendWiresharkFilter(b, v.Client, v.Server)
	j.text = b
	text := string(b)
	j.jv = jsonVerdict{
		File: v.File, Frame: v.Frame, TS: text[:ts],
		Client: text[ts:cl], Server: text[cl:sv],
		From: v.From.String(), Origin: v.Origin.String(), Confidence: confidence(v.Confidence),
		Phase: v.Phase.String(), Cause: v.Cause.String(), Evidence: j.ev, Findings: j.fs,
		Flags: v.Flags, TTL: v.TTL, Seq: v.Seq, Ack: v.Ack,
		Midstream: v.Midstream, Request: v.Request, Response: v.Response,
		Event: v.Event, Relation: v.Relation, Vantage: vantage(v),
		ConnState: v.ConnState, History: v.History, Filter: text[sv:],
		Sightings: jsonSightings(v), Conn: v.Conn,
	}
	if v.Revision > 0 {
		j.jv.Revision = v.Revision
		j.was = jsonWas{Origin: clampOrigin(v.Was.Origin).String(), Cause: v.Was.Cause.String(),
			Confidence: confidence(v.Was.Confidence)}
		j.jv.Was = &j.was
	}
	if v.RTT > 0 {
		j.rtt = rttMillis(v.RTT)
		j.jv.RTTms = &j.rtt
	}
	if j.err == nil {
		j.err = j.enc.Encode(&j.jv) // Encode ends the line
	}
	if j.opts.Stream {
		return j.flush()
	}
	return j.err
}

func (j *jsonWriter) Close(s Summary) error {
	if err := j.check(); err != nil {
		return err
	}
	j.closed = true
	if j.tl != nil && j.err == nil {
		js := jsonSummary{
			Inputs: nonNil(s.Inputs), Frames: s.Frames, TCPPackets: s.TCPPackets,
			Connections: s.Connections, MaxOpen: s.MaxOpen, Evicted: s.Evicted, RSTs: s.RSTs, Verdicts: j.tl.total,
			Events: j.events, FollowUps: j.tl.total - j.events, ResetConns: len(j.tl.conns),
			Dropped: s.Dropped, ByOrigin: map[string]int{}, ByCause: map[string]int{},
			Warnings: nonNil(s.Warnings), ElapsedS: s.Elapsed.Seconds(),
			FirstTS: optTimestamp(s.First), LastTS: optTimestamp(s.Last), Filter: s.Filter,
			Joint: jsonJointOf(s.Joint),
		}
		for o, n := range j.tl.byOrigin {
			js.ByOrigin[rstanalysis.Origin(o).String()] = n
		}
		for c, n := range j.tl.byCause {
			js.ByCause[c.String()] = n
		}
		j.err = j.enc.Encode(struct {
			Summary jsonSummary `json:"summary"`
		}{js})
	}
	return j.flush()
}

// optTimestamp is timestamp(t), or "" for a zero t.
func optTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
