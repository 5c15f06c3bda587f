package report

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes text from the wire safe for a terminal or document: control
// characters (an ANSI escape in a Host header, BEL, NUL, CR) and invalid
// UTF-8 bytes become \xNN escapes, and other characters that print nothing
// (U+202E, which reverses the text after it; U+2028) \uNNNN escapes. It is
// the one escaping of every text format: the table, markdown and CSV
// renderings pass every text from outside (request, response, relation,
// vantage point, evidence, file names, warnings) through it. JSON has its
// own (its encoder, like encoding/json, escapes control characters and
// replaces invalid UTF-8 with U+FFFD).
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case unicode.IsControl(r) && r < 0x100:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case !unicode.IsPrint(r) && r != ' ':
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// mdEscape keeps text from breaking a Markdown table or turning into
// markup: pipes, emphasis, code spans and HTML tags are escaped.
func mdEscape(s string) string {
	return mdReplacer.Replace(s)
}

var mdReplacer = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `*`, `\*`, "`", "\\`", `<`, `&lt;`)
