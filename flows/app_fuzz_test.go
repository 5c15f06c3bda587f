package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// FuzzAppOf runs bytes from the wire, as the client's and the server's
// streams, through the table's reassembly and AppOf (HTTP/1.x request and
// status lines, TLS records and alerts): it must not panic, what it names
// stays bounded and consistent with what it says the stream is, and
// cutting the heads to their digests (headDigest) changes nothing in it.
func FuzzAppOf(f *testing.F) {
	f.Add([]byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n"), uint8(0))
	f.Add([]byte("POST /x HTTP/1.0\r\nhost:\x1b[2J\r\n"), []byte("HTTP/1.1 5"), uint8(3))
	f.Add([]byte(tlsHello("example.com")), []byte{21, 3, 3, 0, 2, 2, 40}, uint8(0))
	f.Add([]byte(tlsHello(strings.Repeat("a", 300))), []byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, uint8(7))
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 3, 3}, []byte{21, 3, 3, 0, 26, 1}, uint8(1))
	f.Add([]byte("\x00\x01\x02binary"), []byte("SSH-2.0-OpenSSH_9.6\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, client, server []byte, split uint8) {
		digestHeads = false
		whole := fuzzConn(client, server, int(split))
		wa, wopen := AppOf(whole), TLSHandshakeOpen(whole)
		digestHeads = true
		c := fuzzConn(client, server, int(split))
		a := AppOf(c)
		if a != wa || TLSHandshakeOpen(c) != wopen {
			t.Fatalf("with digests %+v (TLS handshake open %v), whole heads %+v (%v)", a, TLSHandshakeOpen(c), wa, wopen)
		}
		if len(a.Request) > 2*ClientHeadCap || len(a.LastRequest) > 2*ClientHeadCap {
			t.Fatalf("request %d bytes, last request %d, from a %d-byte head", len(a.Request), len(a.LastRequest), ClientHeadCap)
		}
		if len(a.Response) > 2*ServerHeadCap+64 {
			t.Fatalf("response %d bytes from a %d-byte head", len(a.Response), ServerHeadCap)
		}
		if a.TLS && !strings.HasPrefix(a.Request, "TLS ClientHello") {
			t.Fatalf("TLS stream named %q", a.Request)
		}
		if a.TLS && a.HTTP {
			t.Fatal("a stream both TLS and HTTP")
		}
		if len(client) > 0 && a.Request == "" {
			t.Fatalf("client sent %d bytes, no request named", len(client))
		}
		if h := c.Head(Client); len(h) > ClientHeadCap || string(h) != string(client[:len(h)]) {
			t.Fatalf("client head %q is not a prefix of the stream", h)
		}
	})
}

// fuzzConn builds a connection whose client sent client and whose server
// answered server, each cut into segments of at most split+1 bytes (and
// capture.HeadLen).
func fuzzConn(client, server []byte, split int) *Conn {
	tb := NewTable(Config{})
	var frame uint64
	at := time.Duration(0)
	step := func(from, to string, flags capture.Flags, seq, ack uint32, payload []byte) *Conn {
		frame++
		at += time.Millisecond
		c, _ := tb.Step(seg(frame, at, from, to, flags, seq, ack, string(payload)))
		return c
	}
	step(cl, sv, capture.SYN, 1000, 0, nil) // a half-open record, until the SYN-ACK
	c := step(sv, cl, capture.SYN|capture.ACK, 5000, 1001, nil)
	step(cl, sv, capture.ACK, 1001, 5001, nil)
	size := min(split+1, capture.HeadLen)
	cseq, sseq := uint32(1001), uint32(5001)
	for len(client) > 0 || len(server) > 0 {
		if n := min(size, len(client)); n > 0 {
			c = step(cl, sv, capture.ACK|capture.PSH, cseq, sseq, client[:n])
			client, cseq = client[n:], cseq+uint32(n)
		}
		if n := min(size, len(server)); n > 0 {
			c = step(sv, cl, capture.ACK|capture.PSH, sseq, cseq, server[:n])
			server, sseq = server[n:], sseq+uint32(n)
		}
	}
	return c
}

// tlsHello is a TLS record holding a ClientHello with an SNI (RFC 8446
// §4.1.2, RFC 6066 §3).
func tlsHello(sni string) string {
	name := []byte(sni)
	list := append([]byte{0, byte(len(name) >> 8), byte(len(name))}, name...)
	body := append([]byte{byte(len(list) >> 8), byte(len(list))}, list...)
	ext := append([]byte{0, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	hello := append([]byte{3, 3}, make([]byte, 32)...)
	hello = append(hello, 0, 0, 2, 0x13, 0x01, 1, 0, byte(len(ext)>>8), byte(len(ext)))
	hello = append(hello, ext...)
	hs := append([]byte{1, 0, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	return string(append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...))
}
