package kernel

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// fakeTrace is a Witness fed with trace lines by the test, without tracefs:
// the clock starts at mono and moves only when the test says so.
type fakeTrace struct {
	t    *testing.T
	w    *Witness
	mono time.Duration // the trace clock "now"
}

var (
	server = netip.MustParseAddrPort("10.0.0.2:80")
	client = netip.MustParseAddrPort("10.0.0.1:40000")
)

// newFake returns a Witness for a host with address 10.0.0.2 (the
// server's) that began recording at the current monotonic time.
func newFake(t *testing.T) *fakeTrace {
	w := newWitness(Options{Local: []netip.Addr{server.Addr()}})
	f := &fakeTrace{t: t, w: w, mono: monoNow().Truncate(time.Microsecond)} // as the trace prints it
	w.started = f.mono
	w.caught = f.mono
	return f
}

// send writes a tcp_send_reset line at offset d after the start.
func (f *fakeTrace) send(d time.Duration, src, dst netip.AddrPort, state, reason string, process bool) {
	flags := "..s1."
	if process {
		flags = "....."
	}
	f.line(fmt.Sprintf("app-42 [000] %s %s: tcp_send_reset: skbaddr=0 skaddr=0 src=%s dest=%s state=%s reason=%s",
		flags, stamp(f.mono+d), src, dst, state, reason))
}

// receive writes a tcp_receive_reset line of local socket local, reset by
// peer, at offset d.
func (f *fakeTrace) receive(d time.Duration, local, peer netip.AddrPort) {
	f.line(fmt.Sprintf("app-42 [000] ..s2. %s: tcp_receive_reset: family=AF_INET sport=%d dport=%d saddr=%s daddr=%s saddrv6=::ffff:%s daddrv6=::ffff:%s sock_cookie=1",
		stamp(f.mono+d), local.Port(), peer.Port(), local.Addr(), peer.Addr(), local.Addr(), peer.Addr()))
}

func (f *fakeTrace) line(l string) {
	if rest := f.w.ingest([]byte(l+"\n"), f.mono); len(rest) != 0 {
		f.t.Fatalf("line left unread: %q", rest)
	}
}

// readUntil says every event until offset d was read.
func (f *fakeTrace) readUntil(d time.Duration) { f.w.caught = f.mono + d }

// at is the wall-clock time of offset d on the trace clock.
func (f *fakeTrace) at(d time.Duration) time.Time {
	return time.Now().Add(f.mono + d - monoNow())
}

func stamp(m time.Duration) string {
	return fmt.Sprintf("%d.%06d", m/time.Second, (m%time.Second)/time.Microsecond)
}

// rst is a RST from the server to the client at offset d, in phase ph.
func (f *fakeTrace) rst(d time.Duration, ph rstanalysis.Phase) *rstanalysis.Reset {
	return &rstanalysis.Reset{Time: f.at(d), Src: server, Dst: client, From: rstanalysis.Server, Phase: ph}
}

// one returns the only testimony, failing otherwise.
func one(t *testing.T, ts []rstanalysis.Testimony) rstanalysis.Testimony {
	t.Helper()
	if len(ts) != 1 {
		t.Fatalf("%d testimonies, want 1: %+v", len(ts), ts)
	}
	return ts[0]
}

func TestTestifySent(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name       string
		feed       func(f *fakeTrace)
		phase      rstanalysis.Phase
		rule       rstanalysis.RuleID
		cause      rstanalysis.Cause
		confidence float64
		text       string
	}{
		{"SO_LINGER 0", func(f *fakeTrace) {
			f.send(100*ms, server, client, "TCP_CLOSE", "TCP_STATE", true)
		}, rstanalysis.PhaseRequest, rstanalysis.RuleKernelState, rstanalysis.CauseServerAbort, confTuple, "SO_LINGER 0, or connect(AF_UNSPEC) (tcp_disconnect), in app (pid 42)"},
		{"closed port", func(f *fakeTrace) {
			f.send(100*ms, server, client, "UNKNOWN", "NO_SOCKET", false)
		}, rstanalysis.PhaseSYN, rstanalysis.RuleKernelNoSocket, rstanalysis.CauseRefused, confTuple, "no socket matched"},
		{"socket gone", func(f *fakeTrace) {
			f.send(100*ms, server, client, "UNKNOWN", "NO_SOCKET", false)
		}, rstanalysis.PhaseIdle, rstanalysis.RuleKernelNoSocket, rstanalysis.CauseStaleConnection, confTuple, "reason=NO_SOCKET"},
		{"unread request", func(f *fakeTrace) {
			f.send(100*ms, server, client, "TCP_CLOSE", "TCP_ABORT_ON_CLOSE", true)
		}, rstanalysis.PhaseRequest, rstanalysis.RuleKernelAbortOnClose, rstanalysis.CauseServerAbort, confTuple, "unread data"},
		{"request after close", func(f *fakeTrace) {
			f.send(100*ms, server, client, "TCP_FIN_WAIT2", "TCP_ABORT_ON_DATA", false)
		}, rstanalysis.PhaseClosing, rstanalysis.RuleKernelAbortOnData, rstanalysis.CauseKeepaliveReuse, confTuple, "TCP_FIN_WAIT2"},
		{"listener", func(f *fakeTrace) {
			f.send(100*ms, netip.AddrPortFrom(netip.IPv4Unspecified(), 80), netip.MustParseAddrPort("0.0.0.0:0"), "TCP_LISTEN", "INVALID_SYN", false)
		}, rstanalysis.PhaseHandshake, rstanalysis.RuleKernelInvalidSYN, rstanalysis.CauseUnknown, confListen, "listener's port"},
		{"NAT", func(f *fakeTrace) {
			f.send(100*ms, netip.MustParseAddrPort("172.17.0.2:8080"), client, "TCP_CLOSE", "TCP_ABORT_ON_CLOSE", true)
		}, rstanalysis.PhaseRequest, rstanalysis.RuleKernelAbortOnClose, rstanalysis.CauseServerAbort, confNAT, "172.17.0.2:8080"},
		{"nearest of two", func(f *fakeTrace) {
			f.send(10*ms, server, client, "UNKNOWN", "NO_SOCKET", false)
			f.send(100*ms, server, client, "TCP_CLOSE", "TCP_STATE", true)
		}, rstanalysis.PhaseRequest, rstanalysis.RuleKernelState, rstanalysis.CauseServerAbort, confTuple, "TCP_STATE"},
		{"a reason this version does not know", func(f *fakeTrace) {
			f.send(100*ms, server, client, "TCP_ESTABLISHED", "TCP_SOMETHING_NEW", false)
		}, rstanalysis.PhaseRequest, rstanalysis.RuleKernelSent, rstanalysis.CauseUnknown, confTuple, "TCP_SOMETHING_NEW"},
		{"MPTCP", func(f *fakeTrace) {
			f.send(100*ms, server, client, "TCP_ESTABLISHED", "MPTCP_RST_EMIDDLEBOX", false)
		}, rstanalysis.PhaseResponse, rstanalysis.RuleKernelMPTCP, rstanalysis.CauseUnknown, confTuple, "MPTCP_RST_EMIDDLEBOX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.feed(f)
			f.readUntil(time.Second)
			got := one(t, f.w.Testify(f.rst(100*ms+20*time.Microsecond, tt.phase)))
			if got.Rule != tt.rule || got.Cause != tt.cause || !got.Sent || got.Confidence != tt.confidence {
				t.Errorf("rule %s cause %s sent %v confidence %v, want %s %s true %v (%q)",
					got.Rule, got.Cause, got.Sent, got.Confidence, tt.rule, tt.cause, tt.confidence, got.Text)
			}
			if !strings.Contains(got.Text, tt.text) {
				t.Errorf("text %q lacks %q", got.Text, tt.text)
			}
			if s := f.w.Stats(); s.Joined != 1 || s.NoEvent != 0 {
				t.Errorf("stats %+v, want 1 joined", s)
			}
		})
	}
}

func TestTestifyNoEvent(t *testing.T) {
	const ms = time.Millisecond
	f := newFake(t)
	// An event on another connection, and one 400 ms from the RST: neither
	// is this RST's.
	f.send(100*ms, server, netip.MustParseAddrPort("10.0.0.9:1"), "UNKNOWN", "NO_SOCKET", false)
	f.send(600*ms, server, client, "UNKNOWN", "NO_SOCKET", false)
	f.readUntil(time.Second)
	got := one(t, f.w.Testify(f.rst(200*ms, rstanalysis.PhaseSYN)))
	if got.Rule != rstanalysis.RuleKernelNoEvent || !got.Sent || got.Cause != rstanalysis.CauseFirewallReject {
		t.Errorf("got %+v, want kernel.no_event, sent, firewall_reject", got)
	}
	if s := f.w.Stats(); s.NoEvent != 1 || s.Sent["NO_SOCKET"] != 2 {
		t.Errorf("stats %+v, want 1 without event and 2 NO_SOCKET sent", s)
	}
}

// TestTestifySilent: where the absence of an event proves nothing, the
// witness says nothing.
func TestTestifySilent(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		prep func(f *fakeTrace)
		at   time.Duration
	}{
		{"not read far enough", func(f *fakeTrace) { f.readUntil(220 * ms) }, 200 * ms},
		{"before recording began", func(f *fakeTrace) { f.readUntil(time.Second) }, -50 * ms},
		{"events lost around it", func(f *fakeTrace) {
			f.line("CPU:0 [LOST 7 EVENTS]") // read at f.mono, after events from caught (f.mono) on
			f.readUntil(time.Second)
		}, 100 * ms},
		{"events forgotten", func(f *fakeTrace) {
			f.readUntil(time.Second)
			f.w.horizon = f.mono + 150*ms
		}, 200 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.prep(f)
			if ts := f.w.Testify(f.rst(tt.at, rstanalysis.PhaseSYN)); len(ts) != 0 {
				t.Errorf("testimony %+v, want none", ts)
			}
		})
	}
}

func TestTestifyNotLocal(t *testing.T) {
	f := newFake(t)
	f.send(0, netip.MustParseAddrPort("10.0.0.7:80"), client, "UNKNOWN", "NO_SOCKET", false)
	f.readUntil(time.Second)
	r := &rstanalysis.Reset{Time: f.at(0), Src: netip.MustParseAddrPort("10.0.0.7:80"), Dst: client, From: rstanalysis.Server}
	if ts := f.w.Testify(r); ts != nil {
		t.Errorf("testimony %+v about a RST between two other hosts", ts)
	}
}

// TestTestifyEventUsedOnce: one event proves one RST; a second RST of the
// same connection had none.
func TestTestifyEventUsedOnce(t *testing.T) {
	const ms = time.Millisecond
	f := newFake(t)
	f.send(100*ms, server, client, "TCP_CLOSE", "TCP_STATE", true)
	f.readUntil(time.Second)
	first := one(t, f.w.Testify(f.rst(100*ms, rstanalysis.PhaseRequest)))
	second := one(t, f.w.Testify(f.rst(101*ms, rstanalysis.PhaseRequest)))
	if first.Rule != rstanalysis.RuleKernelState || second.Rule != rstanalysis.RuleKernelNoEvent {
		t.Errorf("rules %s then %s, want kernel.state then kernel.no_event", first.Rule, second.Rule)
	}
}

func TestTestifyReceived(t *testing.T) {
	const ms = time.Millisecond
	// The host is the client this time: RSTs come from the server to it.
	f := newFake(t)
	f.w.local = newLocalAddrs([]netip.Addr{client.Addr()})
	f.receive(100*ms, client, server)
	f.readUntil(time.Second)
	r := f.rst(100*ms, rstanalysis.PhaseRequest)
	got := one(t, f.w.Testify(r))
	if got.Rule != rstanalysis.RuleKernelSocketReset || got.Sent {
		t.Errorf("got %+v, want kernel.socket_reset as context", got)
	}
	// A second RST on the connection, now gone: no socket reset, and its
	// state was established as far as the capture knows.
	got = one(t, f.w.Testify(f.rst(300*ms, rstanalysis.PhaseRequest)))
	if got.Rule != rstanalysis.RuleKernelSocketKept || got.Sent {
		t.Errorf("got %+v, want kernel.socket_untouched as context", got)
	}
	// While closing, a socket in TIME_WAIT takes a RST without
	// tcp_receive_reset: nothing to say.
	if ts := f.w.Testify(f.rst(500*ms, rstanalysis.PhaseClosing)); len(ts) != 0 {
		t.Errorf("testimony %+v for a RST while closing, want none", ts)
	}
}

// TestPrune: events older than Retain before the newest read are
// forgotten, and the horizon moves past them.
func TestPrune(t *testing.T) {
	f := newFake(t)
	f.w.retain = time.Second
	for i := range 5 {
		f.send(time.Duration(i)*time.Second, server, netip.AddrPortFrom(client.Addr(), uint16(1000+i)), "UNKNOWN", "NO_SOCKET", false)
	}
	f.readUntil(3500 * time.Millisecond) // forgets what came before 2.5 s
	f.w.mu.Lock()
	f.w.prune()
	n, horizon := f.w.idx.Len(), f.w.horizon
	f.w.mu.Unlock()
	if n != 2 || horizon != f.mono+2*time.Second {
		t.Errorf("%d events held, horizon %v after start; want 2 and 2s", n, horizon-f.mono)
	}
	if len(f.w.idx.byTuple) != 2 || len(f.w.idx.byDst) != 2 {
		t.Errorf("index maps hold %d and %d keys, want 2 each", len(f.w.idx.byTuple), len(f.w.idx.byDst))
	}
}

// TestReasonsNamed: every reason this machine's kernel prints, as its
// tcp_send_reset format lists them, has a rule that rstanalysis lists.
func TestReasonsNamed(t *testing.T) {
	listed := map[rstanalysis.RuleID]bool{}
	for _, r := range rstanalysis.Rules {
		listed[r.ID] = true
	}
	// From the print fmt of tcp_send_reset on Linux 6.18.
	names := strings.Fields(`NOT_SPECIFIED NO_SOCKET TCP_INVALID_ACK_SEQUENCE TCP_RFC7323_PAWS TCP_TOO_OLD_ACK
		TCP_ACK_UNSENT_DATA TCP_FLAGS TCP_OLD_ACK TCP_ABORT_ON_DATA TCP_TIMEWAIT_SOCKET INVALID_SYN
		TCP_ABORT_ON_CLOSE TCP_ABORT_ON_LINGER TCP_ABORT_ON_MEMORY TCP_STATE TCP_KEEPALIVE_TIMEOUT
		TCP_DISCONNECT_WITH_DATA MPTCP_RST_EUNSPEC MPTCP_RST_EMPTCP MPTCP_RST_ERESOURCE MPTCP_RST_EPROHIBIT
		MPTCP_RST_EWQ2BIG MPTCP_RST_EBADPERF MPTCP_RST_EMIDDLEBOX ERROR`)
	for _, n := range names {
		r := reasonOf(n)
		if !listed[r.rule] {
			t.Errorf("%s: rule %q is not in rstanalysis.Rules", n, r.rule)
		}
		if r.what == "" {
			t.Errorf("%s: no words", n)
		}
		if !strings.HasPrefix(n, "MPTCP_") && n != "ERROR" && n != "NOT_SPECIFIED" && r.rule == rstanalysis.RuleKernelSent {
			t.Errorf("%s: known to the kernel but not to this table", n)
		}
	}
}

// BenchmarkReset is the witness's work for one reset, in rstscope: reading
// the two events a refused connection gives (tcp_send_reset and the peer's
// tcp_receive_reset, one read), then joining the RST.
func BenchmarkReset(b *testing.B) {
	f := newFake(&testing.T{})
	f.w.retain = time.Second
	peer := netip.MustParseAddr("10.0.0.1")
	lines := make([][]byte, b.N)
	rsts := make([]rstanalysis.Reset, b.N)
	for i := range b.N {
		d := time.Duration(i) * time.Millisecond // 1000 resets a second
		c := netip.AddrPortFrom(peer, uint16(1024+i%60000))
		lines[i] = fmt.Appendf(nil, "<...>-1 [001] ..s1. %s: tcp_send_reset: skbaddr=0 skaddr=0 src=%s dest=%s state=UNKNOWN reason=NO_SOCKET\n"+
			"<...>-1 [001] ..s1. %s: tcp_receive_reset: family=AF_INET sport=%d dport=80 saddr=%s daddr=%s saddrv6=::1 daddrv6=::1 sock_cookie=1\n",
			stamp(f.mono+d), server, c, stamp(f.mono+d), c.Port(), c.Addr(), server.Addr())
		rsts[i] = rstanalysis.Reset{Time: f.at(d), Src: server, Dst: c, From: rstanalysis.Server, Phase: rstanalysis.PhaseSYN}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f.w.ingest(lines[i], f.mono+time.Duration(i)*time.Millisecond)
		f.w.caught = f.mono + time.Duration(i)*time.Millisecond + 100*time.Millisecond
		if ts := f.w.Testify(&rsts[i]); len(ts) != 1 || ts[0].Rule != rstanalysis.RuleKernelNoSocket {
			b.Fatalf("testimony %+v", ts)
		}
	}
}
