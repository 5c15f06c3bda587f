package kernel

import (
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// reason is what one value of the kernel's enum sk_rst_reason
// (include/net/rstreason.h, Linux 6.10 and later) says about a RST its
// stack sent: the finding's rule, the words, and the cause it maps onto.
type reason struct {
	rule rstanalysis.RuleID
	// what says why the stack sent it, in words; whatIn, if set, says it
	// for the socket's state.
	what   string
	whatIn func(state string) string
	// cause maps the reason, with the socket's state and the exchange's
	// phase as the capture saw it, onto a cause; CauseUnknown leaves the
	// cause to the capture's evidence (rstanalysis, by phase, as for any
	// RST its sender made). nil means CauseUnknown.
	cause func(state string, ph rstanalysis.Phase, from rstanalysis.Side) rstanalysis.Cause
}

// reasons maps the names the kernel prints (the tracepoint's print fmt
// turns the enum into these names itself, so the numbering, which differs
// between kernel versions, never matters here) onto what they mean. Each
// entry names the kernel function that sends a RST with that reason.
var reasons = map[string]reason{
	// net/ipv4/tcp_ipv4.c tcp_v4_rcv (label no_tcp_socket) and
	// net/ipv6/tcp_ipv6.c tcp_v6_rcv: no socket matches the segment, and
	// tcp_v4_send_reset answers it. On a SYN, no listener: refused. On a
	// segment of a connection, the socket is gone (the process exited or
	// restarted, or closed and the socket was freed): a stale connection,
	// or keep-alive reuse when the exchange was closing.
	"NO_SOCKET": {rule: rstanalysis.RuleKernelNoSocket,
		what: "no socket matched the segment it answers", cause: noSocketCause},

	// net/ipv4/tcp.c __tcp_close: close() with data in the receive queue
	// the application never read; RFC 2525 §2.17 asks for a RST then
	// (TCPAbortOnClose).
	"TCP_ABORT_ON_CLOSE": {rule: rstanalysis.RuleKernelAbortOnClose,
		what: "the application closed the socket with unread data", cause: abortCause},

	// net/ipv4/tcp_input.c tcp_rcv_state_process (TCP_FIN_WAIT1,
	// TCP_FIN_WAIT2): data arrived after the application had closed the
	// socket or shut down its receiving side (TCPAbortOnData). On a
	// server: the client sent a request on a connection the server had
	// closed, keep-alive reuse.
	"TCP_ABORT_ON_DATA": {rule: rstanalysis.RuleKernelAbortOnData,
		what: "data arrived after the application had closed the socket", cause: abortOnDataCause},

	// net/ipv4/tcp.c __tcp_close: an orphaned socket in FIN_WAIT2 with
	// TCP_LINGER2 below 0 is reset at once (TCPAbortOnLinger).
	"TCP_ABORT_ON_LINGER": {rule: rstanalysis.RuleKernelAbortOnLinger,
		what: "the socket was closed with TCP_LINGER2 < 0 in FIN_WAIT2", cause: abortCause},

	// net/ipv4/tcp.c __tcp_close (tcp_check_oom) and net/ipv4/tcp_timer.c
	// tcp_out_of_resources: too many orphaned sockets or TCP memory
	// exhausted (TCPAbortOnMemory).
	"TCP_ABORT_ON_MEMORY": {rule: rstanalysis.RuleKernelAbortOnMemory,
		what: "the host was short of memory or of orphan sockets (tcp_mem, tcp_max_orphans)", cause: abortCause},

	// net/ipv4/tcp.c tcp_disconnect: the abort of RFC 9293 §3.10.5, with
	// state TCP_CLOSE: close() with SO_LINGER 0 (__tcp_close calls
	// disconnect) or connect(AF_UNSPEC). net/ipv4/tcp.c tcp_abort, with the
	// socket's state as it was: SOCK_DESTROY (`ss -K`). net/ipv4/tcp_timer.c
	// tcp_keepalive_timer, in TCP_FIN_WAIT2: an orphan whose FIN_WAIT2
	// timeout ran out.
	"TCP_STATE": {rule: rstanalysis.RuleKernelState,
		what: "an abort", whatIn: stateAbort, cause: abortCause},

	// net/ipv4/tcp.c tcp_disconnect: in TCP_CLOSING or TCP_LAST_ACK with
	// data not yet sent.
	"TCP_DISCONNECT_WITH_DATA": {rule: rstanalysis.RuleKernelDisconnectData,
		what: "the socket was disconnected with data still unsent", cause: abortCause},

	// net/ipv4/tcp_timer.c tcp_keepalive_timer: every keep-alive probe
	// went unanswered; the peer, or the path's NAT or firewall, forgot the
	// idle connection.
	"TCP_KEEPALIVE_TIMEOUT": {rule: rstanalysis.RuleKernelKeepalive,
		what: "every keep-alive probe went unanswered",
		cause: func(string, rstanalysis.Phase, rstanalysis.Side) rstanalysis.Cause {
			return rstanalysis.CauseIdleTimeout
		}},

	// net/ipv4/tcp_minisocks.c tcp_timewait_state_process returns
	// TCP_TW_RST, and tcp_v4_rcv answers: a segment to a connection in
	// TIME_WAIT.
	"TCP_TIMEWAIT_SOCKET": {rule: rstanalysis.RuleKernelTimewait,
		what: "a segment reached a connection in TIME_WAIT",
		cause: func(string, rstanalysis.Phase, rstanalysis.Side) rstanalysis.Cause {
			return rstanalysis.CauseLateSegment
		}},

	// net/ipv4/tcp_minisocks.c tcp_check_req (label embryonic_reset): a
	// bad segment to a half-open connection, or, with
	// net.ipv4.tcp_abort_on_overflow, the final ACK of a handshake when
	// the accept queue is full (label listen_overflow). The capture tells
	// them apart (rstanalysis: backlog_overflow).
	"INVALID_SYN": {rule: rstanalysis.RuleKernelInvalidSYN,
		what: "a bad segment reached a half-open connection, or the accept queue was full"},

	// net/ipv4/tcp_ipv4.c tcp_v4_do_rcv (label reset) after
	// net/ipv4/tcp_input.c tcp_rcv_state_process or
	// tcp_rcv_synsent_state_process rejects a segment; the skb drop reason
	// becomes the RST's (include/net/rstreason.h
	// sk_rst_convert_drop_reason). TCP_FLAGS in TCP_LISTEN is an ACK to a
	// listener: the segment's connection is gone, a stale connection.
	"TCP_FLAGS":                {rule: rstanalysis.RuleKernelBadSegment, what: "a segment with flags its socket's state cannot accept", cause: badSegmentCause},
	"TCP_INVALID_ACK_SEQUENCE": {rule: rstanalysis.RuleKernelBadSegment, what: "an ACK outside [SND.UNA, SND.NXT]", cause: badSegmentCause},
	"TCP_RFC7323_PAWS":         {rule: rstanalysis.RuleKernelBadSegment, what: "a segment failing PAWS (RFC 7323 §5)", cause: badSegmentCause},
	"TCP_TOO_OLD_ACK":          {rule: rstanalysis.RuleKernelBadSegment, what: "an ACK too old", cause: badSegmentCause},
	"TCP_ACK_UNSENT_DATA":      {rule: rstanalysis.RuleKernelBadSegment, what: "an ACK for data never sent", cause: badSegmentCause},
	"TCP_OLD_ACK":              {rule: rstanalysis.RuleKernelBadSegment, what: "an old ACK", cause: badSegmentCause},

	// include/net/rstreason.h SK_RST_REASON_NOT_SPECIFIED and
	// SK_RST_REASON_ERROR: the stack sent it and gave no reason.
	"NOT_SPECIFIED": {rule: rstanalysis.RuleKernelSent, what: "no reason given"},
	"ERROR":         {rule: rstanalysis.RuleKernelSent, what: "an unexpected error"},
}

// reasonOf returns what the kernel's reason name means: MPTCP_RST_* (the
// MP_TCPRST codes of RFC 8684 §3.6, net/mptcp/subflow.c) as one, and any
// name this version does not know as kernel.sent with the name itself.
func reasonOf(name string) reason {
	if r, ok := reasons[name]; ok {
		return r
	}
	if strings.HasPrefix(name, "MPTCP_RST_") {
		return reason{rule: rstanalysis.RuleKernelMPTCP, what: "an MPTCP subflow reset (" + name + ")"}
	}
	return reason{rule: rstanalysis.RuleKernelSent, what: "reason " + name}
}

// words says why the stack sent the RST, the socket being in state.
func (r reason) words(state string) string {
	if r.whatIn != nil {
		return r.whatIn(state)
	}
	return r.what
}

// stateAbort tells TCP_STATE's senders apart by the state the socket was
// in when the RST was sent: tcp_disconnect has set TCP_CLOSE already,
// tcp_abort and the FIN_WAIT2 timer have not.
func stateAbort(state string) string {
	switch state {
	case "TCP_CLOSE":
		return "an abortive close: close() with SO_LINGER 0, or connect(AF_UNSPEC) (tcp_disconnect)"
	case "TCP_FIN_WAIT2":
		return "an orphaned socket's FIN_WAIT2 timeout ran out"
	}
	return "the socket was destroyed (SOCK_DESTROY, `ss -K`) or aborted"
}

// causeOf is the cause r gives for a RST sent with the socket in state,
// at phase ph, by side from.
func (r reason) causeOf(state string, ph rstanalysis.Phase, from rstanalysis.Side) rstanalysis.Cause {
	if r.cause == nil {
		return rstanalysis.CauseUnknown
	}
	return r.cause(state, ph, from)
}

// abortCause: the application, or its stack on its behalf, aborted.
func abortCause(_ string, _ rstanalysis.Phase, from rstanalysis.Side) rstanalysis.Cause {
	if from == rstanalysis.Server {
		return rstanalysis.CauseServerAbort
	}
	return rstanalysis.CauseClientAbort
}

// abortOnDataCause: on a server, the client reused a connection the server
// had closed; on a client, the client closed while the server still sent.
func abortOnDataCause(_ string, _ rstanalysis.Phase, from rstanalysis.Side) rstanalysis.Cause {
	if from == rstanalysis.Server {
		return rstanalysis.CauseKeepaliveReuse
	}
	return rstanalysis.CauseClientAbort
}

// noSocketCause: refused on a SYN, a late segment after a reset, the
// capture's call when the exchange was closing (keep-alive reuse or a late
// segment), otherwise a connection whose socket is gone.
func noSocketCause(_ string, ph rstanalysis.Phase, _ rstanalysis.Side) rstanalysis.Cause {
	switch ph {
	case rstanalysis.PhaseSYN:
		return rstanalysis.CauseRefused
	case rstanalysis.PhaseAfterReset:
		return rstanalysis.CauseLateSegment
	case rstanalysis.PhaseClosing, rstanalysis.PhaseUnknown:
		return rstanalysis.CauseUnknown
	}
	return rstanalysis.CauseStaleConnection
}

// badSegmentCause: an ACK to a listener is a connection the host no longer
// has; otherwise the capture's call.
func badSegmentCause(state string, ph rstanalysis.Phase, _ rstanalysis.Side) rstanalysis.Cause {
	if state == "TCP_LISTEN" && ph != rstanalysis.PhaseSYN && ph != rstanalysis.PhaseHandshake {
		return rstanalysis.CauseStaleConnection
	}
	return rstanalysis.CauseUnknown
}
