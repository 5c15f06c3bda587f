// Package report renders rstanalysis verdicts and a run's summary for people
// (an aligned terminal table, GitHub Markdown) and for machines (CSV, JSON
// Lines). It knows nothing about packets: its input is one
// rstanalysis.Verdict per RST, in capture order, and a Summary at the end.
//
// # Formats
//
//   - table (the default): one row of two lines per RST — frame, time,
//     client and server, from and flags, origin and confidence, phase and
//     cause, request and response, and the two strongest evidence lines —
//     sized to a 160-column terminal by shortening the evidence; then the
//     summaries by origin × cause and by server endpoint, and what was read.
//     Options.Verbose adds a details section with every evidence line.
//   - markdown: the same tables as GitHub Markdown, with all the evidence in
//     the cell.
//   - csv: encoding/csv, a header row named like the JSON keys, one row per
//     RST; the findings become two columns, rules (their rule ids) and
//     evidence (their texts), each joined with " | ".
//   - json: JSON Lines, one object per RST with every key always present,
//     in a fixed order, and an optional summary line; docs/json.md is the
//     contract, field by field.
//
// # Files
//
// Each verdict is rendered once into a row (row.go), the cleaned fields
// the text, markdown and details renderings share. text.go and markdown.go
// are the two people formats, sharing the buffering (sheet.go), the
// summaries and capture block (summary.go) and the details (details.go);
// csv.go and json.go render the verdict itself. fields.go, escape.go and
// render.go hold the field formatting, the escaping and the tablewriter
// helper. The evidence every format shows is the verdict's Findings.
//
// # Streaming
//
// A Writer is fed as verdicts become final. The table and markdown formats
// buffer their rows until Close by default, because a table's column widths
// depend on every row; with Options.Stream they print each RST at once (the
// table as one fixed-width line per RST) and flush, for live capture. CSV and
// JSON write every row as it comes and, with Options.Stream, flush it too,
// so `rstscope ... | jq` works live. Summaries need every verdict and come at
// Close; what they count is kept per connection and server, not per RST.
//
// # Trade-offs
//
// The two-line table row trades `grep` on the terminal output for fitting
// every field into 160 columns; CSV and JSON are the formats for tools.
// Text that came off the wire (a Host header, a TLS SNI) is escaped before
// it reaches a terminal or a Markdown document, so control characters and
// pipes cannot rewrite the screen or the table; CSV and JSON carry it as is,
// escaped only by their own encoders.
package report
