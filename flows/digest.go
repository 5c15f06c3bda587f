package flows

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// digestHeads cuts each head to the bytes AppOf reads once they decide
// what it says (headDigest); tests turn it off to compare.
var digestHeads = true

// headDigest returns how many of the first bytes of head b, direction d's,
// AppOf and TLSHandshakeOpen read whatever bytes follow, and whether that
// is decided (ok): the head then keeps only those and takes no more. full
// says that b is the whole head (its cap reached, or a client turn).
//
// For the client: a TLS ClientHello up to the end of its SNI (RFC 6066
// §3), or its first 6 bytes when full without one; an HTTP/1.x request up
// to the end of its Host header line (or its request line when full
// without one, at least 40 bytes when that line has a single field); any
// other stream whole when full (its share of printable bytes names it).
// For the server: 6 bytes of a TLS record, 12 of an HTTP/1.x status line,
// any other stream whole when full.
func headDigest(d Side, b []byte, full bool) (n int, ok bool) {
	if d == Server {
		switch {
		case len(b) >= 6 && b[0] == 22 && b[1] == 3:
			return 6, true
		case len(b) >= 12 && bytes.HasPrefix(b, []byte("HTTP/1.")):
			return 12, true
		}
		return len(b), full
	}
	switch {
	case isTLSHandshake(b):
		if end := sniEnd(b); end > 0 {
			return end, true
		}
		return 6, full
	case isHTTPRequest(b):
		return httpDigest(b, full)
	}
	return len(b), full
}

// httpDigest is headDigest for an HTTP/1.x request head (httpRequest).
func httpDigest(b []byte, full bool) (int, bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return len(b), full
	}
	if fields(b[:i]) < 2 { // httpRequest names the first 40 bytes
		return min(len(b), max(40, i+2)), full || len(b) >= 40
	}
	for at, rest := i+2, b[i+2:]; len(rest) > 0; {
		j := bytes.Index(rest, []byte("\r\n"))
		if j < 0 {
			break // a line still coming: it may be the Host header
		}
		if h := rest[:j]; len(h) > 5 && bytes.EqualFold(h[:5], []byte("host:")) {
			return at + j, true
		}
		at, rest = at+j+2, rest[j+2:]
	}
	if full {
		if last := bytes.LastIndex(b, []byte("\r\n")); last+2 < len(b) {
			// The last line has no CRLF: httpRequest reads it too.
			h := b[last+2:]
			if len(h) > 5 && bytes.EqualFold(h[:5], []byte("host:")) {
				return len(b), true
			}
		}
		return i + 2, true
	}
	return 0, false
}

// fields counts the fields of b as strings.Fields splits them, up to 2.
func fields(b []byte) int {
	n, in := 0, false
	for len(b) > 0 && n < 2 {
		r, size := utf8.DecodeRune(b)
		if unicode.IsSpace(r) {
			in = false
		} else if !in {
			in = true
			n++
		}
		b = b[size:]
	}
	return n
}

// sniEnd returns the end of the server_name extension's host name in TLS
// record b holding a ClientHello, as clientHelloSNI reads it, or 0 when
// clientHelloSNI finds none within b.
func sniEnd(b []byte) int {
	p := 5 + 4 + 2 + 32
	if len(b) < p+1 {
		return 0
	}
	p += 1 + int(b[p])
	if len(b) < p+2 {
		return 0
	}
	p += 2 + (int(b[p])<<8 | int(b[p+1]))
	if len(b) < p+1 {
		return 0
	}
	p += 1 + int(b[p])
	if len(b) < p+2 {
		return 0
	}
	p += 2
	for len(b) >= p+4 {
		typ := int(b[p])<<8 | int(b[p+1])
		n := int(b[p+2])<<8 | int(b[p+3])
		p += 4
		if typ == 0 {
			if len(b) < p+5 {
				return 0
			}
			l := int(b[p+3])<<8 | int(b[p+4])
			if b[p+2] != 0 || len(b) < p+5+l {
				return 0
			}
			return p + 5 + l
		}
		p += n
	}
	return 0
}
