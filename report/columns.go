package report

import (
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// A terminal table that fits a width: each column has its cells, maybe a
// shorter variant of them, and the steps that narrow the table are tried
// in order (shorten a column to its minimum, switch a column to its short
// cells, drop a column) until the table fits. Only then, as a last resort,
// the widest columns are cut. tablewriter sizes columns to their content
// and cannot say which column gives way first, so the text tables are laid
// out here; Markdown, which a renderer wraps, keeps tablewriter.

// column is one column of a text table.
type column struct {
	head  string
	right bool
	cells []string // one per row
	// short, when not nil, is a narrower variant of cells (a time without
	// its milliseconds, an endpoint without its port), used after a
	// stepShort step for this column.
	short []string
	// min is the narrowest a stepTrim step cuts the column to (with "…").
	min int
	// foot is the column's cell in the footer row, if the table has one.
	foot string
}

type stepKind uint8

const (
	stepTrim  stepKind = iota // cut the column's cells down to min
	stepShort                 // use the column's short cells
	stepDrop                  // leave the column out
)

// step is one way to narrow a table: kind applied to column col.
type step struct {
	col  int
	kind stepKind
}

// colGap is the space between two columns.
const colGap = 2

// layout is where fitting left each column: shown or not, which variant,
// and how wide.
type layout struct {
	shown []bool
	short []bool
	width []int
	right []bool
}

// fitColumns lays cols out in at most width columns (0: no limit),
// applying steps in order as far as needed.
func fitColumns(cols []column, steps []step, width int) layout {
	l := layout{shown: make([]bool, len(cols)), short: make([]bool, len(cols)), width: make([]int, len(cols)),
		right: make([]bool, len(cols))}
	for i := range cols {
		l.shown[i] = true
		l.right[i] = cols[i].right
		l.width[i] = naturalWidth(&cols[i], false)
	}
	if width <= 0 {
		return l
	}
	for _, s := range steps {
		over := l.total() - width
		if over <= 0 {
			return l
		}
		c := &cols[s.col]
		switch s.kind {
		case stepTrim:
			if c.min > 0 {
				l.width[s.col] = max(c.min, l.width[s.col]-over)
			}
		case stepShort:
			if c.short != nil {
				l.short[s.col] = true
				l.width[s.col] = min(l.width[s.col], naturalWidth(c, true))
			}
		case stepDrop:
			l.shown[s.col] = false
		}
	}
	// The last resort: cut the widest columns, one column at a time.
	for over := l.total() - width; over > 0; over = l.total() - width {
		widest := -1
		for i, w := range l.width {
			if l.shown[i] && (widest < 0 || w > l.width[widest]) {
				widest = i
			}
		}
		if widest < 0 || l.width[widest] <= 4 {
			break
		}
		l.width[widest] = max(4, l.width[widest]-over)
	}
	return l
}

// total is the width of the laid-out table.
func (l *layout) total() int {
	t, n := 0, 0
	for i, w := range l.width {
		if l.shown[i] {
			t += w
			n++
		}
	}
	if n > 1 {
		t += colGap * (n - 1)
	}
	return t
}

func naturalWidth(c *column, short bool) int {
	w := twwidth.Width(c.head)
	cells := c.cells
	if short && c.short != nil {
		cells = c.short
	}
	for _, s := range cells {
		w = max(w, twwidth.Width(s))
	}
	return max(w, twwidth.Width(c.foot))
}

// renderColumns draws cols as laid out: the header, a rule, the rows, and
// the footer under another rule when a column has one. Trailing spaces are
// trimmed from every line.
func renderColumns(cols []column, l layout) string { return renderTitled(cols, l, nil) }

// renderTitled is renderColumns with a title line before the rows that
// titles names (by row index).
func renderTitled(cols []column, l layout, titles map[int]string) string {
	if len(cols) == 0 {
		return ""
	}
	var b strings.Builder
	cells := make([]string, len(cols))
	line := func(cell func(c *column, i int) string) {
		for i := range cols {
			cells[i] = cell(&cols[i], i)
		}
		b.WriteString(rowLine(cells, l))
	}
	rule := strings.Repeat("─", l.total()) + "\n"
	line(func(c *column, _ int) string { return c.head })
	b.WriteString(rule)
	for r := range cols[0].cells {
		if t, ok := titles[r]; ok {
			b.WriteString(truncate(t, l.total()) + "\n")
		}
		line(func(c *column, i int) string {
			if l.short[i] && c.short != nil {
				return c.short[r]
			}
			return c.cells[r]
		})
	}
	hasFoot := false
	for i := range cols {
		hasFoot = hasFoot || cols[i].foot != ""
	}
	if hasFoot {
		b.WriteString(rule)
		line(func(c *column, _ int) string { return c.foot })
	}
	return b.String()
}

// rowLine renders one line of cells as laid out by l.
func rowLine(cells []string, l layout) string {
	var b strings.Builder
	first := true
	for i, c := range cells {
		if i >= len(l.shown) || !l.shown[i] {
			continue
		}
		if !first {
			b.WriteString(strings.Repeat(" ", colGap))
		}
		first = false
		b.WriteString(pad(truncate(c, l.width[i]), l.width[i], i < len(l.right) && l.right[i]))
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

// pad widens s to width display columns, on the left when right is set.
func pad(s string, width int, right bool) string {
	n := width - twwidth.Width(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// textTable fits and renders cols in width.
func textTable(cols []column, steps []step, width int) string {
	return renderColumns(cols, fitColumns(cols, steps, width))
}

// wrap breaks text into lines of at most width display columns at spaces,
// the first keeping text's leading spaces, each after it starting with
// indent; a word longer than a line is cut. width 0 means no limit.
func wrap(text string, width int, indent string) []string {
	if width <= 0 || twwidth.Width(text) <= width {
		return []string{text}
	}
	lead := text[:len(text)-len(strings.TrimLeft(text, " "))]
	var lines []string
	cur := lead
	for _, w := range strings.Fields(text) {
		switch {
		case strings.TrimSpace(cur) == "":
			cur += w
		case twwidth.Width(cur)+1+twwidth.Width(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, truncate(cur, width))
			cur = indent + w
		}
	}
	if strings.TrimSpace(cur) != "" {
		lines = append(lines, truncate(cur, width))
	}
	return lines
}
