package flows

import (
	"bytes"
	"strconv"
	"strings"
)

// App is what the first bytes of a connection say about the application
// exchange: the request and the response, in words.
type App struct {
	// Request names the client's request: "GET example.com/path" for
	// HTTP/1.x, "TLS ClientHello sni=example.com" for TLS, or a short
	// printable prefix of other protocols; empty when the client sent nothing.
	Request string
	// Response names the server's answer: "HTTP 200", "TLS ServerHello",
	// "TLS alert fatal handshake_failure"; empty when the server sent nothing.
	Response string
	// TLS is true when the client's stream starts with a TLS handshake record.
	TLS bool
	// HTTP is true when the client's stream starts with an HTTP/1.x request.
	HTTP bool
	// LastRequest names the request of the latest client turn when it is not
	// the first (a keep-alive connection's later request).
	LastRequest string
}

// AppOf describes the application exchange of c from the first bytes of
// each direction. It allocates the strings it returns; call it when a
// verdict is made, not per packet.
func AppOf(c *Conn) App {
	var a App
	cl, sv := &c.Half[Client], &c.Half[Server]
	ch, sh := c.Head(Client), c.Head(Server)
	switch {
	case isTLSHandshake(ch):
		a.TLS = true
		a.Request = "TLS ClientHello"
		if sni := clientHelloSNI(ch); sni != "" {
			a.Request += " sni=" + sni
		}
	case isHTTPRequest(ch):
		a.HTTP = true
		a.Request = httpRequest(ch)
	case len(ch) > 0:
		a.Request = sample(ch, cl.PayloadBytes)
	}
	if c.Turns > 2 && isHTTPRequest(c.ClientTurn()) {
		a.LastRequest = httpRequest(c.ClientTurn())
	}
	switch {
	case len(sh) >= 5 && sh[0] == 22 && sh[1] == 3:
		a.Response = "TLS ServerHello"
		if len(sh) >= 6 && sh[5] != 2 {
			a.Response = "TLS handshake"
		}
	case len(sh) >= 12 && bytes.HasPrefix(sh, []byte("HTTP/1.")):
		a.Response = "HTTP " + string(sh[9:12])
	case len(sh) > 0:
		a.Response = sample(sh, sv.PayloadBytes)
	}
	if a.TLS {
		if sv.HasAlert {
			a.Response = "TLS alert " + AlertString(sv.Alert)
		} else if cl.HasAlert && a.Response == "" {
			a.Response = "(client sent TLS alert " + AlertString(cl.Alert) + ")"
		}
	}
	return a
}

// TLSHandshakeOpen reports whether c carries TLS whose handshake has not
// completed: the client sent a ClientHello and has not yet sent a second
// flight of payload (TLS 1.2 and 1.3 both need one, RFC 8446 §2).
func TLSHandshakeOpen(c *Conn) bool {
	return isTLSHandshake(c.Head(Client)) && c.Turns <= 2
}

func isTLSHandshake(b []byte) bool {
	return len(b) >= 6 && b[0] == 22 && b[1] == 3 && b[2] <= 4 && b[5] == 1
}

var methods = [...]string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

func isHTTPRequest(b []byte) bool {
	for _, m := range methods {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// httpRequest renders "METHOD host/path" from an HTTP/1.x request head.
func httpRequest(b []byte) string {
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return Printable(b, 40)
	}
	host := ""
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(h) > 5 && strings.EqualFold(string(h[:5]), "host:") {
			host = strings.TrimSpace(string(h[5:]))
			break
		}
	}
	target := f[1]
	if len(target) > 60 {
		target = target[:57] + "..."
	}
	if host != "" && strings.HasPrefix(target, "/") {
		return f[0] + " " + host + target
	}
	return f[0] + " " + target
}

// clientHelloSNI returns the server_name extension's host name (RFC 6066
// §3) from a TLS record holding a ClientHello (RFC 8446 §4.1.2), or "" when
// it is not within b.
func clientHelloSNI(b []byte) string {
	// record header (5) + handshake header (4) + version (2) + random (32)
	p := 5 + 4 + 2 + 32
	if len(b) < p+1 {
		return ""
	}
	p += 1 + int(b[p]) // session id
	if len(b) < p+2 {
		return ""
	}
	p += 2 + (int(b[p])<<8 | int(b[p+1])) // cipher suites
	if len(b) < p+1 {
		return ""
	}
	p += 1 + int(b[p]) // compression methods
	if len(b) < p+2 {
		return ""
	}
	p += 2 // extensions length
	for len(b) >= p+4 {
		typ := int(b[p])<<8 | int(b[p+1])
		n := int(b[p+2])<<8 | int(b[p+3])
		p += 4
		if typ == 0 { // server_name: list length (2), type (1), name length (2), name
			if len(b) < p+5 {
				return ""
			}
			l := int(b[p+3])<<8 | int(b[p+4])
			if b[p+2] != 0 || len(b) < p+5+l {
				return ""
			}
			return Printable(b[p+5:p+5+l], 253)
		}
		p += n
	}
	return ""
}

var alertNames = map[byte]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
	116: "certificate_required", 120: "no_application_protocol",
}

// AlertString renders a TLS alert (level, description; RFC 8446 §6) as
// "fatal handshake_failure".
func AlertString(a [2]byte) string {
	level := "warning"
	if a[0] == 2 {
		level = "fatal"
	}
	name, ok := alertNames[a[1]]
	if !ok {
		name = "alert_" + strconv.Itoa(int(a[1]))
	}
	return level + " " + name
}

// sample describes a stream that is neither HTTP nor TLS: its first words
// when they are text, else its size.
func sample(b []byte, total uint64) string {
	text := 0
	for _, c := range b {
		if c >= 0x20 && c <= 0x7e || c == '\r' || c == '\n' || c == '\t' {
			text++
		}
	}
	if text*10 >= len(b)*9 {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		return strconv.Quote(Printable(bytes.TrimRight(line, "\r"), 40))
	}
	return strconv.FormatUint(total, 10) + " bytes, binary"
}

// Printable returns up to n bytes of b as text, non-printable bytes as '.'.
func Printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

// noteAlert records a TLS alert record (content type 21, RFC 8446 §5.1) at
// the start of a segment's payload: in clear when its length is 2 (level,
// description), encrypted when longer (after the handshake).
func (h *Half) noteAlert(pl []byte) {
	if len(pl) < 5 || pl[0] != 21 || pl[1] != 3 {
		return
	}
	if n := int(pl[3])<<8 | int(pl[4]); n == 2 && len(pl) >= 7 {
		h.Alert = [2]byte{pl[5], pl[6]}
		h.HasAlert = true
	} else {
		h.EncryptedAlert = true
	}
}
