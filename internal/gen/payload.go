package gen

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
)

// patternLen is the size of the filler patterns (a power of two); they
// carry MSS extra bytes so that any offset can take a full segment.
const patternLen = 1 << 16

var (
	textPattern   = makeTextPattern()
	randomPattern = makeRandomPattern()
)

func makeTextPattern() []byte {
	words := []string{"lorem", "ipsum", "dolor", "sit", "amet", "packet", "reset", "window",
		"segment", "server", "client", "latency", "incident", "capture", "<b>bold</b>", "<a href=\"/x\">link</a>"}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, patternLen+frameMax)
	for len(b) < patternLen+frameMax {
		b = append(b, "<p>"...)
		for range 8 + r.IntN(16) {
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
		b = append(b, "</p>\n"...)
	}
	return b[:patternLen+frameMax]
}

func makeRandomPattern() []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 0, patternLen+frameMax+8)
	for len(b) < patternLen+frameMax {
		b = binary.LittleEndian.AppendUint64(b, r.Uint64())
	}
	return b
}

// server is one remote host: an address pair, its stack's habits and its
// distance.
type server struct {
	a4     [4]byte
	a6     [16]byte
	name   string
	init   uint8 // initial TTL: 64 (Linux), 128 (Windows), 255 (network gear)
	hops   uint8 // routers between the server and the capture point (>= 3)
	ttl    uint8 // observed TTL: init - hops
	idZero bool  // sends every IPv4 packet with DF and ID 0
	ts     bool  // answers TCP timestamps
	wscale uint8
	mss    uint16
	win    uint16 // window in the SYN-ACK
	rtt    int64  // base round-trip time from the capture point, µs
}

func (s *server) linux() bool { return s.init == 64 }

const numServers = 4096

func newServers(r *rand.Rand) []server {
	prefixes := []string{"www", "api", "cdn", "static", "img", "login", "shop", "news", "mail", "assets"}
	tlds := []string{"com", "net", "org", "io", "de", "fr", "jp", "co.uk"}
	srv := make([]server, numServers)
	for i := range srv {
		s := &srv[i]
		s.a4 = [4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)}
		if s.a4[3] == 0 || s.a4[3] == 255 {
			s.a4[3] = 1 + byte(i>>8)
		}
		s.a6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x53, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
		s.a6[15] |= 1
		s.name = prefixes[r.IntN(len(prefixes))] + ".site" + strconv.Itoa(i) + "." + tlds[r.IntN(len(tlds))]
		// RTT log-uniform in [0.2, 150] ms; hop count grows with it.
		u := r.Float64()
		s.rtt = int64(200 * math.Exp(u*math.Log(750)))
		s.hops = uint8(3 + int(u*20) + r.IntN(3))
		switch x := r.Float64(); {
		case x < 0.6:
			s.init, s.ts, s.wscale, s.mss, s.win = 64, true, 7, 1460, 65160
			s.idZero = r.Float64() < 0.3
		case x < 0.95:
			s.init, s.wscale, s.mss, s.win = 128, 8, 1460, 65535
		default:
			s.init, s.mss, s.win = 255, 1380, 8192
		}
		s.ttl = s.init - s.hops
	}
	return srv
}

var (
	httpPaths = []string{"/", "/index.html", "/api/v1/items", "/static/app.js", "/img/logo.png",
		"/login", "/search?q=tcp+reset", "/feed.xml", "/healthz", "/assets/style.css"}
	userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

// appendRequest appends an HTTP/1.1 GET request for one of the known paths.
func appendRequest(b []byte, r *rand.Rand, host string) []byte {
	b = append(b, "GET "...)
	b = append(b, httpPaths[r.IntN(len(httpPaths))]...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, userAgent...)
	b = append(b, "\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"...)
	return b
}

// appendPost appends the head of an HTTP/1.1 upload of bodyLen bytes.
func appendPost(b []byte, host string, bodyLen int) []byte {
	b = append(b, "POST /upload HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, userAgent...)
	b = append(b, "\r\nContent-Type: application/octet-stream\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(bodyLen), 10)
	b = append(b, "\r\n\r\n"...)
	return b
}

// appendResponseHead appends an HTTP/1.1 response head for a body of bodyLen bytes.
func appendResponseHead(b []byte, status string, bodyLen int, close bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(bodyLen), 10)
	if close {
		b = append(b, "\r\nConnection: close\r\n\r\n"...)
	} else {
		b = append(b, "\r\nConnection: keep-alive\r\n\r\n"...)
	}
	return b
}

// appendClientHello appends a TLS record holding a ClientHello for sni,
// shaped like a browser's (RFC 8446 §4.1.2; padded to 512 bytes as Chrome
// and Firefox do, RFC 7685).
func appendClientHello(b []byte, r *rand.Rand, sni string) []byte {
	start := len(b)
	b = append(b, 0x16, 0x03, 0x01, 0, 0) // record header, length later
	b = append(b, 0x01, 0, 0, 0)          // handshake header, length later
	b = append(b, 0x03, 0x03)
	b = appendRandom(b, r, 32)
	b = append(b, 32)
	b = appendRandom(b, r, 32)
	suites := []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	b = binary.BigEndian.AppendUint16(b, uint16(2*len(suites)))
	for _, s := range suites {
		b = binary.BigEndian.AppendUint16(b, s)
	}
	b = append(b, 1, 0) // compression: null
	extStart := len(b)
	b = append(b, 0, 0) // extensions length, later
	// server_name (RFC 6066 §3)
	n := len(sni)
	b = append(b, 0x00, 0x00)
	b = binary.BigEndian.AppendUint16(b, uint16(n+5))
	b = binary.BigEndian.AppendUint16(b, uint16(n+3))
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, sni...)
	b = append(b,
		0x00, 0x17, 0x00, 0x00, // extended_master_secret
		0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info
		0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, // supported_groups
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats
		0x00, 0x23, 0x00, 0x00, // session_ticket
		0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1', // ALPN
		0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, // status_request
		0x00, 0x0d, 0x00, 0x12, 0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01, // signature_algorithms
		0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, // psk_key_exchange_modes
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, // supported_versions
		0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, // key_share: x25519
	)
	b = appendRandom(b, r, 32)
	// padding (RFC 7685) to a 512-byte handshake message.
	if hs := len(b) - start - 5; hs+4 < 512 {
		pad := 512 - hs - 4
		b = append(b, 0x00, 0x15)
		b = binary.BigEndian.AppendUint16(b, uint16(pad))
		b = append(b, zeros[:pad]...)
	}
	binary.BigEndian.PutUint16(b[extStart:], uint16(len(b)-extStart-2))
	hs := len(b) - start - 9
	b[start+6], b[start+7], b[start+8] = byte(hs>>16), byte(hs>>8), byte(hs)
	binary.BigEndian.PutUint16(b[start+3:], uint16(len(b)-start-5))
	return b
}

// appendServerHello appends a TLS 1.3 ServerHello record, a
// ChangeCipherSpec record and the header of an encrypted record of encLen
// bytes (whose body is filler) — the start of a server's first flight.
func appendServerHello(b []byte, r *rand.Rand, sessionID []byte, encLen int) []byte {
	b = append(b, 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03)
	b = appendRandom(b, r, 32)
	b = append(b, 32)
	b = append(b, sessionID...)
	b = append(b, 0x13, 0x01, 0x00, 0x00, 0x2e,
		0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, // supported_versions: TLS 1.3
		0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20) // key_share: x25519
	b = appendRandom(b, r, 32)
	b = append(b, 0x14, 0x03, 0x03, 0x00, 0x01, 0x01)
	return appendRecordHead(b, encLen)
}

// appendRecordHead appends a TLS application_data record header for n bytes.
func appendRecordHead(b []byte, n int) []byte {
	return append(b, 0x17, 0x03, 0x03, byte(n>>8), byte(n))
}

var zeros [512]byte

func appendRandom(b []byte, r *rand.Rand, n int) []byte {
	for range n / 8 {
		b = binary.LittleEndian.AppendUint64(b, r.Uint64())
	}
	return b
}
