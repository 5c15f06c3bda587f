package gen

import (
	"math"
	"slices"

	ra "github.com/rstscope/rstscope/rstanalysis"
)

// conn is one generated connection: its endpoints, habits and whole script.
type conn struct {
	id           int
	kind         Kind
	v6, tls      bool
	srv          int
	cAddr, sAddr [16]byte
	cPort, sPort uint16
	cFlow, sFlow uint32 // IPv6 flow labels
	cID, sID     uint16 // next IPv4 ID of each socket
	cTS0, sTS0   uint32 // TCP timestamp clocks at start
	start        int64  // µs
	rtt          int64  // handshake round trip at the capture point, µs
	mbTTL        uint8  // TTL of this connection's middlebox packets
	steps        []step
	next         int
	text         []byte // literal payload bytes the steps point into
}

// tsVal is the TCP timestamp (RFC 7323, 1 ms clock) the sender of s puts in.
// The server sent its packets half a round trip before they were captured.
func (c *conn) tsVal(s *step, client bool) uint32 {
	if client {
		return c.cTS0 + uint32((s.at-c.start)/1000)
	}
	return c.sTS0 + uint32(max(s.at-c.rtt/2-c.start, 0)/1000)
}

// tsEcr echoes the latest timestamp the sender of s can have received.
func (c *conn) tsEcr(s *step, client bool) uint32 {
	if client {
		return c.sTS0 + uint32(max(s.at-c.rtt/2-c.start, 0)/1000)
	}
	return c.cTS0 + uint32(max(s.at-c.rtt-c.start, 0)/1000)
}

// newConn draws a connection starting at at (µs) and writes its script.
func (g *generator) newConn(at int64) *conn {
	var c *conn
	if n := len(g.free); n > 0 {
		c = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		c = &conn{}
	}
	r := g.rng
	*c = conn{steps: c.steps[:0], text: c.text[:0], id: g.nextID, start: at}
	g.nextID++
	c.kind = KindNormal
	if r.Float64() < g.cfg.Resets {
		c.kind = g.pickReset()
	}
	c.v6 = r.Float64() < g.cfg.IPv6
	u := r.Float64()
	c.srv = int(float64(numServers) * u * u * u) // a few popular servers
	sv := &g.srv[c.srv]

	ci := c.id % numClients
	k := c.id / numClients
	c.cPort = uint16(32768 + k*portStride%ephemeralPorts)
	if c.v6 {
		c.cAddr = [16]byte{0xfd, 0x00, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(10 + ci)}
		c.sAddr = sv.a6
	} else {
		copy(c.cAddr[:], []byte{10, 20, 0, byte(10 + ci)})
		copy(c.sAddr[:], sv.a4[:])
	}
	c.cFlow, c.sFlow = r.Uint32()&0xfffff, r.Uint32()&0xfffff
	c.cID, c.sID = uint16(r.Uint32()), uint16(r.Uint32())
	c.cTS0, c.sTS0 = r.Uint32(), r.Uint32()
	c.rtt = int64(float64(sv.rtt) * (0.9 + 0.2*r.Float64()))
	switch c.kind {
	case KindTLSReject:
		c.tls = true
	case KindUnreadData:
		c.tls = false
	default:
		c.tls = r.Float64() < 0.65
	}
	c.sPort = 80
	if c.tls {
		c.sPort = 443
	}
	switch c.kind {
	case KindRefused:
		c.sPort = [...]uint16{8080, 8443, 9000, 5432, 6379}[r.IntN(5)]
	case KindFirewallReject:
		c.sPort = [...]uint16{22, 443, 3389, 8080, 25}[r.IntN(5)]
	}
	b := &g.bld
	*b = builder{g: g, c: c, sv: sv, scratch: b.scratch[:0], recs: b.recs[:0]}
	b.script()
	slices.SortStableFunc(c.steps, func(x, y step) int {
		switch {
		case x.at < y.at:
			return -1
		case x.at > y.at:
			return 1
		}
		return 0
	})
	return c
}

func (g *generator) pickReset() Kind {
	x := g.rng.Float64() * g.resetCum[numKinds-1]
	for k := KindNormal + 1; k < numKinds; k++ {
		if x < g.resetCum[k] {
			return k
		}
	}
	return numKinds - 1
}

// builder writes one connection's script. Times are capture times in µs:
// a packet the client sends at t reaches the server at t+rtt/2, and the
// server's answer is captured at t+rtt+processing.
type builder struct {
	g          *generator
	c          *conn
	sv         *server
	cNxt, sNxt uint32 // next sequence number each side sends
	cRcv, sRcv uint32 // what each side acknowledges
	mss        int    // payload bytes per full segment
	gap        int64  // µs between back-to-back server segments
	ts         bool   // both sides use TCP timestamps
	scratch    []byte // reused for literal payloads before add copies them
	recs       []rec  // reused by response
}

// rec is a run of server (or client) payload: literal bytes then filler.
type rec struct {
	lit  []byte
	fill int
	kind uint8
}

func lbl(o ra.Origin, p ra.Phase, c ra.Cause) uint16 { return packLabel(o, p, c) }

// add appends a step; lit is copied into the connection's text.
func (b *builder) add(at int64, snd sender, flags uint8, seq, ack uint32, lit []byte, fill int, fk uint8, label uint16) {
	c := b.c
	s := step{at: at, seq: seq, ack: ack, flags: flags, snd: snd, label: label,
		bOff: uint32(len(c.text)), bLen: uint16(len(lit)), fLen: uint16(fill), fill: fk}
	c.text = append(c.text, lit...)
	switch {
	case flags&flagSYN != 0 && snd == sndClient:
		s.opt = optSYN
	case flags&flagSYN != 0:
		s.opt = optSYNACK
	case b.ts && (snd == sndClient || snd == sndServer):
		s.opt = optTS
	}
	switch snd {
	case sndClient:
		s.win = 502
		if flags&flagSYN != 0 {
			s.win = 64240
		}
	case sndServer:
		s.win = b.sv.win >> b.sv.wscale
		if flags&flagSYN != 0 {
			s.win = b.sv.win
		}
	case sndInjector:
		s.win = uint16(b.g.rng.IntN(4000))
	}
	c.steps = append(c.steps, s)
}

// c2s sends from the client's socket: seq advances by the payload (and SYN/FIN).
func (b *builder) c2s(at int64, flags uint8, lit []byte, fill int, fk uint8) {
	ack := uint32(0)
	if flags&flagACK != 0 {
		ack = b.cRcv
	}
	b.add(at, sndClient, flags, b.cNxt, ack, lit, fill, fk, 0)
	b.cNxt += seqLen(flags, len(lit)+fill)
}

// s2c sends from the server's socket; the client has received it when captured.
func (b *builder) s2c(at int64, flags uint8, lit []byte, fill int, fk uint8) {
	ack := uint32(0)
	if flags&flagACK != 0 {
		ack = b.sRcv
	}
	b.add(at, sndServer, flags, b.sNxt, ack, lit, fill, fk, 0)
	b.sNxt += seqLen(flags, len(lit)+fill)
	b.cRcv = b.sNxt
}

// seqLen is the sequence space a segment takes: its payload, plus one for
// SYN and one for FIN (RFC 9293 §3.4).
func seqLen(flags uint8, payload int) uint32 {
	n := uint32(payload)
	if flags&flagSYN != 0 {
		n++
	}
	if flags&flagFIN != 0 {
		n++
	}
	return n
}

// rst adds a reset from snd with the given truth.
func (b *builder) rst(at int64, snd sender, flags uint8, seq, ack uint32, o ra.Origin, p ra.Phase, cause ra.Cause) {
	b.add(at, snd, flagRST|flags, seq, ack, nil, 0, 0, lbl(o, p, cause))
}

func (b *builder) rnd(n int64) int64 { return b.g.rng.Int64N(n) }

// proc is a server's processing time, µs: log-normal around 2 ms.
func (b *builder) proc() int64 {
	v := math.Exp(math.Log(2000) + 1.2*b.g.rng.NormFloat64())
	return int64(min(max(v, 50), 200_000))
}

// think is the client's pause between requests, µs.
func (b *builder) think() int64 {
	v := b.g.rng.ExpFloat64() * b.g.think
	return int64(min(max(v, 1000), float64(b.g.maxGap)))
}

// longGap is a device's idle timeout plus a little: classic ELB 60 s, Azure
// LB 4 min, AWS NLB 350 s (the providers' defaults, as for the rule
// idle.answers_first), capped at Span/2.
func (b *builder) longGap() int64 {
	v := [...]int64{65e6, 245e6, 355e6}[b.g.rng.IntN(3)] + b.rnd(5e6)
	return min(v, b.g.maxGap)
}

// mbHops is a middlebox's distance from the capture point: nearer than the server.
func (b *builder) mbHops() int64 { return 1 + b.rnd(int64(b.sv.hops)-2) }

// bodyLen is a response body size in bytes: log-normal, median 1.2 kB.
func (b *builder) bodyLen() int {
	v := math.Exp(math.Log(1200) + 1.2*b.g.rng.NormFloat64())
	return int(min(max(v, 0), 2<<20))
}

// serverSend sends recs from the server as segments of at most b.mss
// bytes, the first captured at at, in slow-start flights (initial window
// 10, RFC 6928), with the client's delayed ACK every second segment. It
// stops after max segments when max >= 0 and returns the capture time of the
// last segment sent and how many it sent.
func (b *builder) serverSend(at int64, recs []rec, limit int, clientACKs bool) (last int64, sent int) {
	flight, inFlight, flightStart := 10, 0, at
	t, unacked := at, 0
	for _, r := range recs {
		lit, fill := r.lit, r.fill
		for len(lit) > 0 || fill > 0 {
			if limit >= 0 && sent == limit {
				return last, sent
			}
			if inFlight == flight {
				flightStart = max(flightStart+b.c.rtt, t+b.gap)
				t = flightStart
				flight *= 2
				inFlight = 0
			} else if sent > 0 {
				t += b.gap
			}
			l := lit[:min(len(lit), b.mss)]
			f := min(fill, b.mss-len(l))
			lit, fill = lit[len(l):], fill-f
			flags := uint8(flagACK)
			if len(lit) == 0 && fill == 0 {
				flags |= flagPSH
			}
			b.s2c(t, flags, l, f, r.kind)
			sent++
			inFlight++
			last = t
			unacked++
			if clientACKs && unacked == 2 {
				b.c2s(t+20+b.rnd(40), flagACK, nil, 0, 0)
				unacked = 0
			}
		}
	}
	if clientACKs && unacked > 0 {
		b.c2s(last+40+b.rnd(200), flagACK, nil, 0, 0)
	}
	return last, sent
}

// lateRSTs makes the client's stack answer every server segment added since
// step index from: the socket is gone, so each gets a RST with seq = its ack
// (RFC 9293 §3.10.7.1).
func (b *builder) lateRSTs(from int) {
	n := len(b.c.steps)
	for i := from; i < n; i++ {
		s := b.c.steps[i]
		if s.snd == sndServer {
			b.rst(s.at+15+b.rnd(30), sndClientStack, 0, s.ack, 0, ra.OriginClient, ra.PhaseAfterReset, ra.CauseLateSegment)
		}
	}
}

// inject forges resets for the packet the client sent at trig: one RST+ACK
// (an IPS) or the Great Firewall's RST then three RST+ACKs at X, X+1460,
// X+4380 (Wang et al., IMC 2017). The injector is nearer than the server;
// the real server's reply still arrives and the client's stack resets it.
func (b *builder) inject(trig int64, phase ra.Phase, reply []rec) {
	hops := b.mbHops()
	b.c.mbTTL = 64 - uint8(hops)
	at := trig + b.c.rtt*hops/int64(b.sv.hops) + 30 + b.rnd(50)
	x := b.sNxt
	if b.c.kind == KindGFW {
		b.rst(at, sndInjector, 0, x, 0, ra.OriginMiddlebox, phase, ra.CauseInjected)
		for i, d := range [...]uint32{0, 1460, 4380} {
			b.rst(at+int64(3+4*i)+b.rnd(3), sndInjector, flagACK, x+d, b.cNxt, ra.OriginMiddlebox, phase, ra.CauseInjected)
		}
	} else {
		b.rst(at, sndInjector, flagACK, x, b.cNxt, ra.OriginMiddlebox, phase, ra.CauseInjected)
	}
	b.sRcv = b.cNxt
	from := len(b.c.steps)
	b.serverSend(max(trig+b.c.rtt+b.proc(), at+10), reply, 1+int(b.rnd(3)), false)
	b.lateRSTs(from)
}

func (b *builder) script() {
	g, c, sv := b.g, b.c, b.sv
	r := g.rng
	R := c.rtt
	b.ts = sv.ts
	mss := int(min(sv.mss, 1460))
	if c.v6 {
		mss -= 20
	}
	if b.ts {
		mss -= 12
	}
	b.mss = mss
	b.gap = 12 + b.rnd(110)
	b.cNxt = r.Uint32()
	sISN := r.Uint32()

	t := c.start
	b.c2s(t, flagSYN, nil, 0, 0)
	switch c.kind {
	case KindRefused:
		b.rst(t+R+20+b.rnd(100), sndServerStack, flagACK, 0, b.cNxt, ra.OriginServer, ra.PhaseSYN, ra.CauseRefused)
		return
	case KindFirewallReject:
		hops := b.mbHops()
		c.mbTTL = 64 - uint8(hops)
		b.rst(t+R*hops/int64(sv.hops)+20+b.rnd(60), sndFirewall, flagACK, 0, b.cNxt, ra.OriginMiddlebox, ra.PhaseSYN, ra.CauseFirewallReject)
		return
	}
	b.sNxt = sISN
	b.sRcv = b.cNxt
	t += R
	b.s2c(t, flagSYN|flagACK, nil, 0, 0)
	t += 15 + b.rnd(40)
	b.c2s(t, flagACK, nil, 0, 0)
	host := sv.name

	if c.kind == KindBacklogOverflow {
		// tcp_abort_on_overflow: the listener answers the handshake's ACK
		// with a RST (seq = that ACK's ack), and then the request too.
		ackAt := t
		t += 10 + b.rnd(min(200, R/2))
		if c.tls {
			b.scratch = appendClientHello(b.scratch[:0], r, host)
		} else {
			b.scratch = appendRequest(b.scratch[:0], r, host)
		}
		b.c2s(t, flagPSH|flagACK, b.scratch, 0, 0)
		phase := ra.PhaseRequest
		if c.tls {
			phase = ra.PhaseTLSHandshake
		}
		b.rst(ackAt+R+10+b.rnd(50), sndServerStack, 0, b.sNxt, 0, ra.OriginServer, phase, ra.CauseBacklogOverflow)
		b.rst(t+R+10+b.rnd(50), sndServerStack, 0, b.sNxt, 0, ra.OriginServer, ra.PhaseAfterReset, ra.CauseLateSegment)
		return
	}

	if c.tls {
		t += 30 + b.rnd(300)
		chStart := len(c.text) + 44 // session ID in the ClientHello record
		b.scratch = appendClientHello(b.scratch[:0], r, host)
		b.c2s(t, flagPSH|flagACK, b.scratch, 0, 0)
		var sid [32]byte
		copy(sid[:], c.text[chStart:])
		enc := 2000 + int(b.rnd(2500))
		b.scratch = appendServerHello(b.scratch[:0], r, sid[:], enc)
		b.recs = append(b.recs[:0], rec{lit: b.scratch, fill: enc, kind: fillRandom})
		flight := b.recs
		switch c.kind {
		case KindTLSReject:
			b.sRcv = b.cNxt
			b.rst(t+R+b.proc(), sndServer, flagACK, b.sNxt, b.cNxt, ra.OriginServer, ra.PhaseTLSHandshake, ra.CauseTLSReject)
			return
		case KindInjected, KindGFW:
			b.inject(t, ra.PhaseTLSHandshake, flight)
			return
		}
		b.sRcv = b.cNxt
		last, _ := b.serverSend(t+R+b.proc()/4, flight, -1, true)
		t = last + 100 + b.rnd(400)
		b.c2s(t, flagPSH|flagACK, []byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03, 0x03, 0x00, 0x35}, 0x35, fillRandom)
	}

	nreq := 1
	for nreq < 6 && r.Float64() < 0.35 {
		nreq++
	}
	switch c.kind {
	case KindKeepaliveReuse, KindIdleTimeout, KindStaleConnection:
		nreq = max(nreq, 2)
	}
	for i := range nreq {
		final := i == nreq-1
		if i > 0 {
			switch {
			case final && c.kind == KindKeepaliveReuse:
				// The server's keep-alive timeout closes; the client's next
				// request crosses or follows the FIN; the orphaned socket
				// answers the data with a RST (seq = the segment's ack).
				t += [...]int64{4e6, 5e6, 15e6}[r.IntN(3)] + b.rnd(1e5)
				b.s2c(t, flagFIN|flagACK, nil, 0, 0)
				t += 20 + b.rnd(40)
				b.c2s(t, flagACK, nil, 0, 0)
				t += 50 + b.rnd(500)
				b.clientRequest(t, host)
				b.rst(t+R+10+b.rnd(50), sndServerStack, 0, b.cRcv, 0, ra.OriginServer, ra.PhaseClosing, ra.CauseKeepaliveReuse)
				return
			case final && c.kind == KindIdleTimeout:
				t += b.longGap()
				b.clientRequest(t, host)
				hops := b.mbHops()
				c.mbTTL = 64 - uint8(hops)
				b.rst(t+R*hops/int64(sv.hops)+20+b.rnd(60), sndLB, 0, b.cRcv, 0, ra.OriginMiddlebox, ra.PhaseIdle, ra.CauseIdleTimeout)
				return
			case final && c.kind == KindStaleConnection:
				t += 20e6 + b.rnd(max(b.g.maxGap-20e6, 1))
				b.clientRequest(t, host)
				b.rst(t+R+10+b.rnd(50), sndServerStack, 0, b.cRcv, 0, ra.OriginServer, ra.PhaseIdle, ra.CauseStaleConnection)
				return
			default:
				t += b.think()
			}
		}

		reqAt := t
		if final && c.kind == KindUnreadData {
			// The server answers 413 and closes with the body unread: Linux
			// sends a RST instead of a FIN (tcp_close, TCPAbortOnClose).
			body := 3000 + int(b.rnd(3000))
			b.scratch = appendPost(b.scratch[:0], host, body)
			b.c2s(t, flagACK, b.scratch, min(body, b.mss-len(b.scratch)), fillRandom)
			for sent := b.mss - len(b.scratch); sent < body; sent += b.mss {
				t += 10 + b.rnd(30)
				b.c2s(t, flagACK, nil, min(b.mss, body-sent), fillRandom)
			}
			b.sRcv = b.cNxt
			at := reqAt + R + b.proc()/2
			b.scratch = appendResponseHead(b.scratch[:0], "413 Content Too Large", 0, true)
			b.s2c(at, flagPSH|flagACK, b.scratch, 0, 0)
			b.rst(at+5+b.rnd(20), sndServer, flagACK, b.sNxt, b.sRcv, ra.OriginServer, ra.PhaseResponse, ra.CauseServerAbort)
			return
		}
		b.clientRequest(t, host)
		phase := ra.PhaseRequest
		switch {
		case final && (c.kind == KindInjected || c.kind == KindGFW):
			b.inject(reqAt, phase, b.response(b.bodyLen()))
			return
		case final && c.kind == KindServerAbort:
			b.sRcv = b.cNxt
			b.rst(reqAt+R+b.proc(), sndServer, flagACK, b.sNxt, b.sRcv, ra.OriginServer, ra.PhaseRequest, ra.CauseServerAbort)
			return
		}
		b.sRcv = b.cNxt
		at := reqAt + R + b.proc()
		if at-reqAt-R > 5000 {
			b.s2c(reqAt+R+40, flagACK, nil, 0, 0) // the request's ACK before a slow answer
		}
		switch {
		case final && c.kind == KindAbortMidResponse:
			recs := b.response(8*b.mss + b.bodyLen())
			last, _ := b.serverSend(at, recs, 1+int(b.rnd(6)), true)
			b.rst(last+b.gap, sndServer, flagACK, b.sNxt, b.sRcv, ra.OriginServer, ra.PhaseResponse, ra.CauseServerAbort)
			return
		case final && c.kind == KindClientAbort:
			// The client gives up mid-download; segments already in flight
			// reach its stack after the socket is gone.
			recs := b.response(30*b.mss + b.bodyLen())
			last, _ := b.serverSend(at, recs, 2+int(b.rnd(8)), true)
			rstAt := last + 30 + b.rnd(300)
			b.rst(rstAt, sndClient, flagACK, b.cNxt, b.cRcv, ra.OriginClient, ra.PhaseResponse, ra.CauseClientAbort)
			from := len(c.steps)
			for j := range 1 + r.IntN(3) {
				b.s2c(rstAt+int64(j+1)*b.gap+5, flagACK, nil, b.mss, b.fillKind())
			}
			b.lateRSTs(from)
			return
		}
		last, _ := b.serverSend(at, b.response(b.bodyLen()), -1, true)
		t = last
	}

	// Close: either side first (RFC 9293 §3.6).
	t += b.think()
	if r.IntN(2) == 0 {
		b.c2s(t, flagFIN|flagACK, nil, 0, 0)
		b.sRcv = b.cNxt
		t += R + 20 + b.rnd(100)
		b.s2c(t, flagFIN|flagACK, nil, 0, 0)
		b.c2s(t+20+b.rnd(40), flagACK, nil, 0, 0)
	} else {
		b.s2c(t, flagFIN|flagACK, nil, 0, 0)
		t += 20 + b.rnd(40)
		b.c2s(t, flagACK, nil, 0, 0)
		t += 50 + b.rnd(2000)
		b.c2s(t, flagFIN|flagACK, nil, 0, 0)
		b.sRcv = b.cNxt
		b.s2c(t+R+10, flagACK, nil, 0, 0)
	}
}

func (b *builder) fillKind() uint8 {
	if b.c.tls {
		return fillRandom
	}
	return fillText
}

// clientRequest sends one request: HTTP/1.1 text, or a TLS record.
func (b *builder) clientRequest(at int64, host string) {
	if b.c.tls {
		n := 80 + int(b.rnd(500))
		b.scratch = appendRecordHead(b.scratch[:0], n)
		b.c2s(at, flagPSH|flagACK, b.scratch, n, fillRandom)
		return
	}
	b.scratch = appendRequest(b.scratch[:0], b.g.rng, host)
	b.c2s(at, flagPSH|flagACK, b.scratch, 0, 0)
}

// response returns a response of body bytes: an HTTP head and text body,
// or TLS records of at most 16 KiB of encrypted filler.
func (b *builder) response(body int) []rec {
	if !b.c.tls {
		b.scratch = appendResponseHead(b.scratch[:0], "200 OK", body, false)
		b.recs = append(b.recs[:0], rec{lit: b.scratch, fill: body, kind: fillText})
		return b.recs
	}
	recs := b.recs[:0]
	b.scratch = b.scratch[:0]
	for body > 0 || len(recs) == 0 {
		n := min(body, 16384) + 17 // plus the AEAD tag and content type
		off := len(b.scratch)
		b.scratch = appendRecordHead(b.scratch, n)
		recs = append(recs, rec{lit: b.scratch[off : off+5], fill: n, kind: fillRandom})
		body -= min(body, 16384)
	}
	b.recs = recs
	return recs
}
