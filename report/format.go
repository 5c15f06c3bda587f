package report

import (
	"fmt"
	"strings"
)

// Format is an output format for verdicts.
type Format int

const (
	// FormatTable is an aligned text table for a terminal (the default).
	FormatTable Format = iota
	// FormatMarkdown is GitHub Markdown: the same tables, for tickets and reviews.
	FormatMarkdown
	// FormatCSV is RFC 4180 CSV with a header row, one row per RST.
	FormatCSV
	// FormatJSON is JSON Lines, one object per RST (docs/json.md).
	FormatJSON
	// FormatHTML is one self-contained HTML page: the report with its
	// timeline and ladders drawn in SVG, no request at view time.
	FormatHTML
)

var formatNames = [...]string{"table", "markdown", "csv", "json", "html"}

// Formats lists the canonical names ParseFormat accepts, in order.
func Formats() []string { return formatNames[:] }

// String returns the canonical name ("table", "markdown", "csv", "json",
// "html").
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// FormatError reports a format name or value that is not one of Formats.
type FormatError struct {
	Name string // the name as given
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("unknown format %q: use one of %s", e.Name, strings.Join(formatNames[:], ", "))
}

// ParseFormat returns the Format called name, case-insensitively. It also
// accepts "md" for markdown and "jsonl" or "ndjson" for json. Any other name
// yields a *FormatError that lists the valid ones.
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "table":
		return FormatTable, nil
	case "markdown", "md":
		return FormatMarkdown, nil
	case "csv":
		return FormatCSV, nil
	case "json", "jsonl", "ndjson":
		return FormatJSON, nil
	case "html", "htm":
		return FormatHTML, nil
	}
	return 0, &FormatError{Name: name}
}
