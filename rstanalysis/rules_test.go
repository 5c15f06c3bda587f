package rstanalysis

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// conv builds the packets of TCP conversations as a capture on the client
// host holds them: the client's packets leave with TTL 64 (0 hops), the
// server's arrive with sTTL, and the server is rtt away.
type conv struct {
	t0    time.Time
	now   time.Duration
	frame uint64
	pkts  []capture.Packet

	client, server netip.AddrPort
	sTTL           uint8
	cID, sID       uint16
	cNxt, sNxt     uint32
	rtt            time.Duration
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func newConv(clientPort uint16) *conv {
	return &conv{t0: t0, client: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), clientPort),
		server: netip.MustParseAddrPort("192.0.2.80:80"), sTTL: 57, cID: 100, sID: 5000,
		cNxt: 1000, sNxt: 9000, rtt: 20 * time.Millisecond}
}

// after advances the clock by d.
func (c *conv) after(d time.Duration) *conv { c.now += d; return c }

func (c *conv) pkt(fromServer bool, flags capture.Flags, payload string) *capture.Packet {
	c.frame++
	p := capture.Packet{Frame: c.frame, Time: c.t0.Add(c.now), Flags: flags, HasIPID: true, DF: true, Window: 64240}
	if fromServer {
		p.Src, p.SrcPort, p.Dst, p.DstPort = c.server.Addr(), c.server.Port(), c.client.Addr(), c.client.Port()
		p.TTL, p.IPID, p.Seq, p.Ack = c.sTTL, c.sID, c.sNxt, c.cNxt
		c.sID++
	} else {
		p.Src, p.SrcPort, p.Dst, p.DstPort = c.client.Addr(), c.client.Port(), c.server.Addr(), c.server.Port()
		p.TTL, p.IPID, p.Seq, p.Ack = 64, c.cID, c.cNxt, c.sNxt
		c.cID++
	}
	if flags&capture.ACK == 0 {
		p.Ack = 0
	}
	p.PayloadLen = len(payload)
	p.HeadN = copy(p.Head[:], payload)
	if fromServer {
		c.sNxt += p.SeqLen()
	} else {
		c.cNxt += p.SeqLen()
	}
	c.pkts = append(c.pkts, p)
	return &c.pkts[len(c.pkts)-1]
}

func (c *conv) cli(flags capture.Flags, payload string) *capture.Packet {
	return c.pkt(false, flags, payload)
}
func (c *conv) srv(flags capture.Flags, payload string) *capture.Packet {
	return c.pkt(true, flags, payload)
}

// handshake: SYN now, SYN-ACK one RTT later, the client's ACK right after.
func (c *conv) handshake() *conv {
	c.cli(capture.SYN, "")
	c.after(c.rtt).srv(capture.SYN|capture.ACK, "")
	c.after(50*time.Microsecond).cli(capture.ACK, "")
	return c
}

// request sends an HTTP request and lets the server ACK it one RTT later.
func (c *conv) request() *conv {
	c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
	c.after(c.rtt).srv(capture.ACK, "")
	return c
}

// merge interleaves conversations by time and renumbers the frames.
func merge(cs ...*conv) []capture.Packet {
	var all []capture.Packet
	for _, c := range cs {
		all = append(all, c.pkts...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	for i := range all {
		all[i].Frame = uint64(i + 1)
	}
	return all
}

func analyze(pkts []capture.Packet) []Verdict {
	var vs []Verdict
	a := New(Config{}, func(v *Verdict) { vs = append(vs, *v) })
	for i := range pkts {
		a.Packet(&pkts[i])
	}
	a.Flush()
	return vs
}

type want struct {
	origin   Origin
	phase    Phase
	cause    Cause
	evidence string // a substring one finding's text must hold
	rule     RuleID // that finding's rule
}

// TestRules runs each evidence rule of Rules on a conversation built for it;
// the name of each case gives the rule's source (an RFC section, a paper, a
// kernel function) or the ids of the rules it exercises, whose sources Rules
// lists.
func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		build func() []capture.Packet
		want  want // for the last RST
	}{
		{"RFC9293-3.10.7.1/refusal with nothing to compare is unknown", func() []capture.Packet {
			c := newConv(40000)
			syn := c.cli(capture.SYN, "")
			r := c.after(c.rtt).srv(capture.RST|capture.ACK, "")
			r.Seq, r.Ack = 0, syn.Seq+1
			return merge(c)
		}, want{OriginUnknown, PhaseSYN, CauseRefused, "no other packet from the server", RuleTTLNone}},

		{"RFC9293-3.10.7.1+ttl.match/refusal matching the host's other SYN-ACK is the server", func() []capture.Packet {
			base := newConv(40001).handshake()
			c := newConv(40002)
			c.after(time.Second)
			syn := c.cli(capture.SYN, "")
			r := c.after(c.rtt).srv(capture.RST|capture.ACK, "")
			r.Seq, r.Ack = 0, syn.Seq+1
			return merge(base, c)
		}, want{OriginServer, PhaseSYN, CauseRefused, "matches the server's packets on other connections", RuleTTLMatch}},

		{"ttl.mismatch+timing.too_fast/firewall REJECT on the SYN: nearer TTL, faster than the host's RTT", func() []capture.Packet {
			base := newConv(40001).handshake()
			c := newConv(40002)
			c.after(time.Second)
			syn := c.cli(capture.SYN, "")
			r := c.after(300*time.Microsecond).srv(capture.RST|capture.ACK, "")
			r.Seq, r.Ack, r.TTL, r.IPID, r.Window = 0, syn.Seq+1, 63, 0, 0
			return merge(base, c)
		}, want{OriginMiddlebox, PhaseSYN, CauseFirewallReject, "sent from nearer than the server", RuleTimingTooFast}},

		{"Weaver-NDSS2009/genuine SYN-ACK after a RST to the SYN", func() []capture.Packet {
			c := newConv(40000)
			syn := c.cli(capture.SYN, "")
			r := c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			r.Seq, r.Ack, r.TTL = 0, syn.Seq+1, 60
			c.sNxt = 9000
			c.after(c.rtt).srv(capture.SYN|capture.ACK, "")
			return merge(c)
		}, want{OriginMiddlebox, PhaseSYN, CauseInjected, "SYN-ACK (frame 3) arrived", RuleAfterSYNACK}},

		{"RFC9293-3.10.7.3/RST to a SYN whose ack is not ISN+1", func() []capture.Packet {
			c := newConv(40000)
			syn := c.cli(capture.SYN, "")
			r := c.after(c.rtt).srv(capture.RST|capture.ACK, "")
			r.Seq, r.Ack = 0, syn.Seq
			return merge(c)
		}, want{OriginUnknown, PhaseSYN, CauseRefused, "is not the SYN's ISN+1", RuleSYNBadAck}},

		{"shape.reserved_bits/reserved flag bits mark a crafted RST", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.RST|capture.ACK|capture.Reserved1, "")
			return merge(c)
		}, want{OriginMiddlebox, PhaseRequest, CauseInjected, "reserved TCP flag bits", RuleShapeReserved}},

		{"timing.too_fast+after.data_continues/injector near the client: faster than the RTT, server still sending", func() []capture.Packet {
			c := newConv(40000).handshake()
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /banned HTTP/1.1\r\nHost: example.com\r\n\r\n")
			r := c.after(200*time.Microsecond).srv(capture.RST|capture.ACK, "")
			r.IPID = 31337
			c.sID = 5001 // the real server goes on with its own IDs
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n\r\n")
			return merge(c)
		}, want{OriginMiddlebox, PhaseRequest, CauseInjected, "the server kept sending after this RST", RuleAfterContinues}},

		{"timing.too_fast+after.data_continues/injector copying the server's TTL is caught by timing and the race", func() []capture.Packet {
			c := newConv(40000).handshake()
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /banned HTTP/1.1\r\nHost: example.com\r\n\r\n")
			c.after(200*time.Microsecond).srv(capture.RST, "")
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n\r\n")
			return merge(c)
		}, want{OriginMiddlebox, PhaseRequest, CauseInjected, "sent from nearer than the server", RuleTimingTooFast}},

		{"RFC9293-3.10.7.1/server aborts after the request (SO_LINGER 0)", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			return merge(c)
		}, want{OriginServer, PhaseRequest, CauseServerAbort, "TTL 57 matches the server's packets", RuleTTLMatch}},

		{"ipid.jump/IP ID jump on a RST from a sender whose IDs step by 1", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n")
			r := c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			r.IPID = 40000
			return merge(c)
		}, want{OriginUnknown, PhaseResponse, CauseUnknown, "jumps by", RuleIPIDJump}},

		{"ipid.follows/IP ID following the sender's own sequence", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n")
			c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			return merge(c)
		}, want{OriginServer, PhaseResponse, CauseServerAbort, "follows the server's last", RuleIPIDFollows}},

		{"seq.beyond/seq beyond anything the sender sent", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			r := c.after(c.rtt).srv(capture.RST, "")
			r.Seq += 100000
			return merge(c)
		}, want{OriginUnknown, PhaseRequest, CauseUnknown, "bytes beyond anything the server sent", RuleSeqBeyond}},

		{"RFC9293-3.6.1/keep-alive reuse: request on a connection the server closed", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			c.after(time.Millisecond).cli(capture.ACK, "")
			c.after(4*time.Second).srv(capture.FIN|capture.ACK, "")
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n")
			r := c.after(c.rtt).srv(capture.RST, "")
			r.Seq = c.sNxt
			return merge(c)
		}, want{OriginServer, PhaseClosing, CauseKeepaliveReuse, "TTL 57 matches", RuleTTLMatch}},

		{"idle.answers_first+ttl.mismatch/middlebox forgot an idle connection: nearer RST answering the first packet after the gap", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			c.after(time.Millisecond).cli(capture.ACK, "")
			c.after(400*time.Second).cli(capture.PSH|capture.ACK, "GET /later HTTP/1.1\r\nHost: example.com\r\n\r\n")
			r := c.after(time.Millisecond).srv(capture.RST, "")
			r.TTL, r.IPID, r.Window = 63, 0, 0
			return merge(c)
		}, want{OriginMiddlebox, PhaseIdle, CauseIdleTimeout, "first packet after 6m", RuleIdleAnswers}},

		{"RFC8446-4.1.2/server resets the TLS handshake after the ClientHello", func() []capture.Packet {
			c := newConv(40000)
			c.server = netip.MustParseAddrPort("192.0.2.80:443")
			c.handshake()
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, clientHello("example.com"))
			c.after(c.rtt).srv(capture.RST|capture.ACK, "")
			return merge(c)
		}, want{OriginServer, PhaseTLSHandshake, CauseTLSReject, "TTL 57 matches", RuleTTLMatch}},

		{"Linux-tcp_check_req/accept-queue overflow answers the handshake ACK", func() []capture.Packet {
			c := newConv(40000).handshake()
			r := c.after(c.rtt).srv(capture.RST, "")
			r.Seq = c.sNxt
			return merge(c)
		}, want{OriginServer, PhaseEstablished, CauseBacklogOverflow, "TTL 57 matches", RuleTTLMatch}},

		{"Zeek-GH1119/a lone RST is backscatter, never the server", func() []capture.Packet {
			c := newConv(40000)
			c.srv(capture.RST|capture.ACK, "")
			return merge(c)
		}, want{OriginUnknown, PhaseMidstream, CauseUnknown, "no other packet of this connection", RuleLoneRST}},

		{"RFC9293-3.10.7.1/a stack without the socket answers late data after its reset", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "more")
			r := c.after(c.rtt).srv(capture.RST, "")
			r.Seq = c.pkts[len(c.pkts)-2].Ack
			return merge(c)
		}, want{OriginServer, PhaseAfterReset, CauseLateSegment, "TTL 57 matches", RuleTTLMatch}},

		{"client aborts mid-response", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n")
			c.after(time.Millisecond).cli(capture.RST|capture.ACK, "")
			return merge(c)
		}, want{OriginClient, PhaseResponse, CauseClientAbort, "TTL 64 matches the client's packets", RuleTTLMatch}},

		{"RFC2003-3.1/a RST through a tunnel names the tunnel's endpoints and its outer TTL", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n")
			c.after(time.Millisecond).cli(capture.RST|capture.ACK, "")
			for i := range c.pkts {
				p := &c.pkts[i]
				p.Encap, p.OuterTTL = capture.EncapGRE, 62
				p.OuterSrc, p.OuterDst = netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
			}
			return merge(c)
		}, want{OriginClient, PhaseResponse, CauseClientAbort,
			"came through GRE from 198.51.100.1 to 198.51.100.2 with outer TTL 62: the tunnel's entry is 2 hops from the capture point (inner TTL 64)", RuleTunnelOuter}},

		{"RFC9293-3.5+draft-boucadair-tcpm-rst-diagnostic-payload/text carried in a RST is shown", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.RST|capture.ACK, "blocked by policy 42")
			return merge(c)
		}, want{OriginServer, PhaseRequest, CauseServerAbort, `carries 20 bytes: "blocked by policy 42"`, RulePayload}},

		{"Cloudflare-SIGCOMM2023/IP ID copied from the packet it answers", func() []capture.Packet {
			c := newConv(40000).handshake()
			req := c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /banned HTTP/1.1\r\nHost: example.com\r\n\r\n")
			r := c.after(c.rtt).srv(capture.RST|capture.ACK, "")
			r.IPID = req.IPID
			return merge(c)
		}, want{OriginUnknown, PhaseRequest, CauseUnknown, "copied from the client's last packet", RuleIPIDCopied}},

		{"RFC5961-3.2/the receiver keeps its connection after the RST", func() []capture.Packet {
			c := newConv(40000).handshake().request()
			c.after(c.rtt).srv(capture.PSH|capture.ACK, "HTTP/1.1 200 OK\r\n")
			c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
			c.after(100*time.Millisecond).cli(capture.ACK, "")
			return merge(c)
		}, want{OriginServer, PhaseResponse, CauseServerAbort, "the client kept its connection", RuleAfterPeerGoesOn}},

		{"Wang-IMC2017/Great Firewall burst: seq X+1460 after a RST", func() []capture.Packet {
			c := newConv(40000).handshake()
			c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /banned HTTP/1.1\r\nHost: example.com\r\n\r\n")
			first := c.after(300*time.Microsecond).srv(capture.RST, "")
			seq := first.Seq
			for _, jump := range []uint32{1460, 4380} {
				r := c.after(10*time.Microsecond).srv(capture.RST|capture.ACK, "")
				r.Seq = seq + jump
			}
			return merge(c)
		}, want{OriginMiddlebox, PhaseRequest, CauseInjected, "Great Firewall", RuleBurstGFWStep}}, // a burst keeps its event's phase
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := analyze(tt.build())
			if len(vs) == 0 {
				t.Fatal("no verdict")
			}
			v := vs[len(vs)-1]
			got := want{v.Origin, v.Phase, v.Cause, "", ""}
			w := tt.want
			w.evidence, w.rule = "", ""
			if got != w {
				t.Errorf("got origin %v, phase %v, cause %v; want %v, %v, %v\nevidence:\n  %s",
					v.Origin, v.Phase, v.Cause, w.origin, w.phase, w.cause, strings.Join(v.Texts(), "\n  "))
			}
			var found *Finding
			for i, f := range v.Findings {
				if strings.Contains(f.Text, tt.want.evidence) && found == nil {
					found = &v.Findings[i]
				}
			}
			switch {
			case found == nil:
				t.Errorf("no finding holds %q:\n  %s", tt.want.evidence, strings.Join(v.Texts(), "\n  "))
			case found.Rule != tt.want.rule:
				t.Errorf("the finding %q has rule %q, want %q", found.Text, found.Rule, tt.want.rule)
			}
			if (v.Origin == OriginUnknown) != (v.Confidence == 0) {
				t.Errorf("origin %v with confidence %v", v.Origin, v.Confidence)
			}
		})
	}
}

// clientHello builds a TLS 1.2 record holding a minimal ClientHello with
// an SNI extension (RFC 8446 §4.1.2, RFC 6066 §3).
func clientHello(sni string) string {
	ext := []byte{0, 0} // server_name
	name := []byte(sni)
	list := append([]byte{0, byte(len(name) >> 8), byte(len(name))}, name...)
	body := append([]byte{byte(len(list) >> 8), byte(len(list))}, list...)
	ext = append(ext, byte(len(body)>>8), byte(len(body)))
	ext = append(ext, body...)
	hello := []byte{3, 3}
	hello = append(hello, make([]byte, 32)...) // random
	hello = append(hello, 0)                   // session id
	hello = append(hello, 0, 2, 0x13, 0x01)    // one cipher suite
	hello = append(hello, 1, 0)                // compression: null
	hello = append(hello, byte(len(ext)>>8), byte(len(ext)))
	hello = append(hello, ext...)
	hs := append([]byte{1, 0, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	rec := append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	return string(rec)
}

// TestVerdictOrder: verdicts come out in capture order even when a later
// RST's connection ends first.
func TestVerdictOrder(t *testing.T) {
	a, b := newConv(40000).handshake(), newConv(40001).handshake()
	a.after(time.Millisecond).srv(capture.RST|capture.ACK, "")
	b.after(2*time.Millisecond).srv(capture.RST|capture.ACK, "")
	vs := analyze(merge(a, b))
	if len(vs) != 2 || vs[0].Frame >= vs[1].Frame {
		t.Fatalf("verdict frames %v, want two in increasing order", frames(vs))
	}
}

func frames(vs []Verdict) []uint64 {
	var f []uint64
	for _, v := range vs {
		f = append(f, v.Frame)
	}
	return f
}

// TestHindsight: a server's first connection refused, its later ones
// answered. The refusal has no packet of the server to compare with when
// its grace ends; with hindsight it waits, and the later SYN-ACK's TTL and
// RTT decide it. A RST made on the capturing host's link (TTL 64, 0 hops)
// for a server whose later packets come 7 hops away, faster than its RTT,
// is a middlebox.
func TestHindsight(t *testing.T) {
	build := func(rstTTL uint8, delay time.Duration) []capture.Packet {
		refused := newConv(40000)
		syn := refused.cli(capture.SYN, "")
		r := refused.after(delay).srv(capture.RST|capture.ACK, "")
		r.Seq, r.Ack, r.TTL = 0, syn.Seq+1, rstTTL
		later := newConv(40001)
		later.after(30 * time.Second).handshake().request()
		return merge(refused, later)
	}
	tests := []struct {
		name      string
		rstTTL    uint8
		delay     time.Duration
		hindsight time.Duration
		origin    Origin
		rule      RuleID
	}{
		{"no hindsight: unknown", 57, 20 * time.Millisecond, 0, OriginUnknown, RuleTTLNone},
		{"the server's later SYN-ACK matches", 57, 20 * time.Millisecond, time.Minute, OriginServer, RuleTTLMatch},
		{"made on the link, sooner than the server's RTT", 64, 100 * time.Microsecond, time.Minute, OriginMiddlebox, RuleTTLInitial},
		{"the later connection comes too late", 57, 20 * time.Millisecond, 10 * time.Second, OriginUnknown, RuleTTLNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := build(tt.rstTTL, tt.delay)
			var vs []Verdict
			a := New(Config{Hindsight: tt.hindsight}, func(v *Verdict) { vs = append(vs, *v) })
			for i := range pkts {
				a.Packet(&pkts[i])
			}
			a.Flush()
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			v := vs[0]
			if v.Origin != tt.origin || v.Phase != PhaseSYN {
				t.Errorf("origin %v phase %v, want %v syn:\n  %s", v.Origin, v.Phase, tt.origin, strings.Join(v.Texts(), "\n  "))
			}
			i := slices.IndexFunc(v.Findings, func(f Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("no %s finding:\n  %s", tt.rule, strings.Join(v.Texts(), "\n  "))
			}
			if f := v.Findings[i]; tt.rule != RuleTTLNone && (len(f.Frames) != 1 || f.Frames[0] <= v.Frame || !strings.Contains(f.Text, "after this RST")) {
				t.Errorf("%s cites frames %v, want one after the RST (frame %d): %s", tt.rule, f.Frames, v.Frame, f.Text)
			}
		})
	}
}
