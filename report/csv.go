package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// csvHeader names the CSV columns: the JSON keys, except that the findings
// become two columns, rules (each finding's rule id) and evidence (each
// finding's text), last because it is the longest.
var csvHeader = []string{"file", "frame", "ts", "client", "server", "from", "origin", "confidence",
	"phase", "cause", "flags", "ttl", "seq", "ack", "rtt_ms", "midstream", "request", "response",
	"event", "relation", "vantage", "conn_state", "history", "filter", "rules", "evidence"}

// Text from the wire or from outside (the file name, request, response,
// relation, vantage point and evidence texts) goes through clean, as in the
// table and markdown formats: a CSV shown with cat must not drive the
// terminal (ESC[2J, OSC 52), and a strict UTF-8 reader must accept it.
// encoding/csv quotes what CSV needs quoted (commas, quotes, newlines).

// csvEvidenceSep joins the rule ids, and the evidence texts, of a verdict's
// findings in one CSV field each.
const csvEvidenceSep = " | "

type csvWriter struct {
	out
	cw     *csv.Writer
	opts   Options
	header bool
	rec    []string
	sb     strings.Builder
}

func newCSVWriter(w io.Writer, opts Options) *csvWriter {
	c := &csvWriter{out: newOut(w), opts: opts, rec: make([]string, len(csvHeader))}
	c.cw = csv.NewWriter(c.bw)
	return c
}

func (c *csvWriter) Write(v *rstanalysis.Verdict) error {
	if err := c.check(); err != nil {
		return err
	}
	if v.Revision > 0 { // CSV lists each RST once, as first issued
		return nil
	}
	if !c.header {
		c.header = true
		c.record(csvHeader)
	}
	rtt := ""
	if v.RTT > 0 {
		rtt = strconv.FormatFloat(rttMillis(v.RTT), 'f', -1, 64)
	}
	r := c.rec
	r[0], r[1], r[2] = clean(v.File), strconv.FormatUint(v.Frame, 10), timestamp(v.Time)
	r[3], r[4], r[5], r[6] = endpoint(v.Client), endpoint(v.Server), v.From.String(), v.Origin.String()
	r[7], r[8], r[9] = confText(v.Confidence), v.Phase.String(), v.Cause.String()
	r[10], r[11] = v.Flags, strconv.Itoa(int(v.TTL))
	r[12], r[13] = strconv.FormatUint(uint64(v.Seq), 10), strconv.FormatUint(uint64(v.Ack), 10)
	r[14], r[15], r[16], r[17] = rtt, strconv.FormatBool(v.Midstream), clean(v.Request), clean(v.Response)
	r[18], r[19], r[20] = strconv.FormatUint(v.Event, 10), clean(v.Relation), clean(vantage(v))
	r[21], r[22], r[23] = v.ConnState, v.History, wiresharkFilter(v.Client, v.Server)
	r[24], r[25] = joinFindings(&c.sb, v.Findings, true), joinFindings(&c.sb, v.Findings, false)
	c.record(r)
	if c.opts.Stream {
		return c.flush()
	}
	return c.err
}

func (c *csvWriter) record(r []string) {
	if c.err == nil {
		c.err = c.cw.Write(r)
	}
}

// Close writes the header if no verdict came, so the file still parses
// with its columns, then flushes. CSV carries no summary.
func (c *csvWriter) Close(Summary) error {
	if err := c.check(); err != nil {
		return err
	}
	c.closed = true
	if !c.header {
		c.header = true
		c.record(csvHeader)
	}
	c.cw.Flush()
	if c.err == nil {
		c.err = c.cw.Error()
	}
	return c.flush()
}

// flush pushes the csv.Writer's buffer through to the underlying writer.
func (c *csvWriter) flush() error {
	if c.err == nil {
		c.cw.Flush()
		c.err = c.cw.Error()
	}
	return c.out.flush()
}

// joinFindings joins the findings' rule ids (rules) or texts (cleaned) with
// csvEvidenceSep, in their order; b is scratch space.
func joinFindings(b *strings.Builder, fs []rstanalysis.Finding, rules bool) string {
	b.Reset()
	for i := range fs {
		if i > 0 {
			b.WriteString(csvEvidenceSep)
		}
		if rules {
			b.WriteString(string(fs[i].Rule))
		} else {
			b.WriteString(clean(fs[i].Text))
		}
	}
	return b.String()
}
