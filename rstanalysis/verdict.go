package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/flows"
)

// Side names one end of a connection: Client (the SYN sender) or Server.
// It is flows.Side; without a SYN in the capture the sides are guessed from
// the ports and the verdict says so (Verdict.Midstream).
type Side = flows.Side

// The two sides.
const (
	Client = flows.Client
	Server = flows.Server
)

// Origin is who really sent a RST.
type Origin uint8

const (
	OriginUnknown Origin = iota
	OriginServer
	OriginClient
	OriginMiddlebox
)

var originNames = [...]string{"unknown", "server", "client", "middlebox"}

func (o Origin) String() string { return originNames[o] }

// OriginOf returns the origin that means "the endpoint s itself".
func OriginOf(s Side) Origin {
	if s == Server {
		return OriginServer
	}
	return OriginClient
}

// Phase is the state of the exchange when the RST arrived; docs/json.md
// documents each value.
type Phase uint8

const (
	PhaseUnknown      Phase = iota
	PhaseSYN                // the RST answers a SYN: the connection was refused
	PhaseHandshake          // SYN-ACK seen, handshake not completed
	PhaseEstablished        // handshake complete, no payload yet from either side
	PhaseRequest            // the client has sent payload, the server none since
	PhaseTLSHandshake       // a TLS ClientHello was sent and the handshake has not completed
	PhaseResponse           // the server was sending payload
	PhaseIdle               // the exchange had gone quiet
	PhaseClosing            // a FIN had been sent by either side
	PhaseAfterReset         // the connection had already been reset
	PhaseMidstream          // the capture began mid-connection
)

var phaseNames = [...]string{"unknown", "syn", "handshake", "established", "request",
	"tls_handshake", "response", "idle", "closing", "after_reset", "midstream"}

func (p Phase) String() string { return phaseNames[p] }

// Cause is the likely reason for a RST; docs/json.md documents each value.
type Cause uint8

const (
	CauseUnknown         Cause = iota
	CauseRefused               // no listener on the port
	CauseFirewallReject        // a firewall rejected the SYN or a segment with a RST
	CauseServerAbort           // server application aborted, crashed, closed with unread data, SO_LINGER 0
	CauseClientAbort           // client application aborted or closed with unread data
	CauseKeepaliveReuse        // client sent a request on a connection the server had already closed
	CauseIdleTimeout           // NAT, load balancer or firewall forgot an idle connection
	CauseInjected              // on-path injector (censor, IPS) forged the RST
	CauseTLSReject             // the TLS handshake was refused with a RST
	CauseBacklogOverflow       // the listener's accept queue overflowed (tcp_abort_on_overflow)
	CauseStaleConnection       // data to an endpoint that no longer has the socket (restart, crash)
	CauseLateSegment           // a stack answering segments that arrived after the connection ended
)

var causeNames = [...]string{"unknown", "refused", "firewall_reject", "server_abort",
	"client_abort", "keepalive_reuse", "idle_timeout", "injected", "tls_reject",
	"backlog_overflow", "stale_connection", "late_segment"}

func (c Cause) String() string { return causeNames[c] }

// Verdict is the attribution of one RST packet.
type Verdict struct {
	// Frame is the 1-based frame number of the RST in its file, as Wireshark numbers it.
	Frame uint64
	// File is the capture the RST was read from (empty for a single input).
	File string
	// Time is the RST's capture timestamp, in UTC.
	Time time.Time
	// Client and Server are the connection's endpoints.
	Client, Server netip.AddrPort
	// From is the side whose address the RST carries.
	From Side
	// Origin is who really sent it.
	Origin Origin
	// Confidence in Origin, in [0, 1].
	Confidence float64
	Phase      Phase
	Cause      Cause
	// Findings are the rules that fired, strongest first (by |Weight|, ties
	// in the order the rules ran).
	Findings []Finding

	// Flags is the RST's TCP flags as tcpdump prints them ("R", "R.").
	Flags string
	// TTL is the RST's IPv4 TTL or IPv6 hop limit.
	TTL uint8
	// Seq and Ack are the RST's sequence and acknowledgment numbers.
	Seq, Ack uint32
	// RTT is the connection's handshake round-trip time as seen at the
	// vantage point; zero when the handshake was not captured.
	RTT time.Duration
	// Midstream is true when the capture began after the connection's SYN,
	// so the client and server sides were guessed from the ports.
	Midstream bool
	// Request names what the client asked for ("GET example.com/index.html",
	// "TLS ClientHello sni=example.com"); empty when nothing was seen.
	Request string
	// Response names what the server answered ("HTTP 200", "TLS alert
	// handshake_failure"); empty when nothing was seen.
	Response string
	// Event is the frame of the first RST of the event this RST belongs to
	// (an injector's burst, a stack answering late segments after a reset);
	// equal to Frame for the first or only RST of its connection's event.
	Event uint64
	// Relation says how this RST relates to the event's first RST; empty
	// when it is the first.
	Relation string
	// Sightings are the records of this RST packet in every input, in the
	// inputs' order, when several captures are read together (Joint): then
	// Event is a number shared by the event's sightings in every input.
	// Nil for a single input.
	Sightings []Sighting
	// held is the verdict in the making, while it waits for hindsight.
	held *pending

	// Vantage says where the capture was taken relative to this connection
	// ("client host", "server host", "between client and server", "unknown"),
	// inferred from the endpoints' hop counts.
	Vantage string
	// ConnState and History are the connection's Zeek conn_state ("RSTR")
	// and history ("ShADadr") when the verdict was decided, the RST and
	// what followed it included (flows.History); "" when the connection
	// had gone.
	ConnState, History string
	// Ladder is the connection's segments around the RST, for a sequence
	// diagram; nil only in a Verdict made by hand.
	Ladder *Ladder
}

// RuleID is the stable name of one piece of evidence, "ttl.mismatch" or
// "timing.too_fast": the part before the dot names the rule's concern (the
// evidence list of the package doc), the part after what it found. Rules
// lists every id; an id once published keeps its meaning.
type RuleID string

// Texts returns the findings' texts, in order: the verdict's evidence in
// words.
func (v *Verdict) Texts() []string {
	t := make([]string, len(v.Findings))
	for i, f := range v.Findings {
		t[i] = f.Text
	}
	return t
}

// Finding is one rule that fired for one RST.
type Finding struct {
	// Rule names the rule.
	Rule RuleID
	// Weight is the finding's signed weight in the decision: above 0 it
	// says the claimed sender did not make the RST, below 0 that it did, 0
	// is context. The scale is 2 (decisive), 1 (strong), 0.6 (moderate),
	// 0.3 (weak).
	Weight float64
	// Text says what was found, in words.
	Text string
	// Frames are the 1-based frame numbers, in the RST's file, of the
	// packets the finding compares the RST with (the segment it answers, a
	// packet that followed it, a reference on another connection); nil when
	// none.
	Frames []uint64
}
