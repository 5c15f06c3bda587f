// Package report renders rstanalysis verdicts and a run's summary for people
// (a terminal table, GitHub Markdown, a self-contained HTML page) and for
// machines (CSV, JSON Lines). It knows nothing about packets: its input is
// one rstanalysis.Verdict per RST, in capture order, and a Summary at the
// end.
//
// # The unit: reset events
//
// The people formats list and count reset events: the first RST of a
// connection and the RSTs that follow from it (Verdict.Event), one line
// each, with Options.RSTs for one line per RST instead. A first RST that
// only answers a segment after its connection had ended (late_segment)
// begins no event and counts apart. Summaries count events, RSTs and
// connections; follow-ups are counted as such. CSV and JSON stay one
// record per RST, with its event.
//
// # Formats
//
//   - table (the default): the headline (counts, the capture's span, the
//     vantage point), the events, a timeline of events per interval by
//     origin, the counts by origin and cause with the first and last event,
//     what to check next per cause, a ladder (sequence diagram) per cause
//     with a Wireshark display filter, the counts by server, and what was
//     read. Every line fits Options.Width: the columns give way in a fixed
//     order (columns.go). Options.Verbose adds every evidence line.
//   - markdown: the same for an incident document: tables, the timeline as
//     a Mermaid xychart-beta, the ladders as Mermaid sequenceDiagrams.
//   - html: one page with inline style and SVG, no script, nothing fetched.
//   - csv: encoding/csv, a header row named like the JSON keys, one row per
//     RST.
//   - json: JSON Lines, one object per RST with every key always present,
//     in a fixed order, and an optional summary line; docs/json.md is the
//     contract, field by field.
//
// # Files
//
// writer.go holds Writer, Options and Summary; event.go the events (book,
// sampler: which events to list in bounded memory), tally.go the counts,
// sheet.go what the people formats share and the digest they render at
// Close; text.go, markdown.go and html.go the people formats, summary.go
// their shared blocks, timeline.go the timeline, ladder.go and
// ladderdoc.go the ladders, nextsteps.go what to check next, details.go
// the verbose details, columns.go the width-fitted text tables; csv.go and
// json.go the machine formats; filter.go Options.Filter; fields.go,
// escape.go and render.go field formatting, escaping and the tablewriter
// helper; joint.go what several captures read together change (verdicts
// with Sightings: an event counted once across the inputs, its frames in
// every input in one cell, the inputs' clocks in the capture block and in
// JSON).
//
// # Streaming
//
// A Writer is fed as verdicts become final. The table and markdown formats
// buffer their lists until Close by default; with Options.Stream they print
// each RST at once (the table as one line per RST, its columns fixed at the
// first line) and flush, for live capture. CSV and JSON write every row as
// it comes and, with Options.Stream, flush it too, so `rstscope ... | jq`
// works live. HTML is a document, written at Close. Summaries need every
// verdict and come at Close; what they count is kept per event, connection
// and server, and the events kept for listing are a bounded sample.
//
// # Trade-offs
//
// The table trades columns for width: at 80 columns it keeps the time, the
// server, the origin, the cause and the RST count and lets the rest go; -v,
// markdown, HTML, CSV and JSON carry everything. Text that came off the wire
// (a Host header, a TLS SNI, a RST's payload) is escaped before it reaches a
// terminal or a document, so control characters, pipes and tags cannot
// rewrite the screen, the table or the page; CSV and JSON carry it as is,
// escaped only by their own encoders.
package report
