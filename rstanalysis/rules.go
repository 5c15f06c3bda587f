package rstanalysis

// The rule ids. The part before the dot is the concern (the evidence list
// of the package doc), the part after what was found.
const (
	RuleSYNRefusal      RuleID = "syn.refusal"   // RST+ACK with ack = ISN+1 answers the SYN
	RuleSYNBareRST      RuleID = "syn.bare_rst"  // a bare RST answers a SYN
	RuleSYNBadAck       RuleID = "syn.bad_ack"   // RST+ACK to a SYN with ack ≠ ISN+1
	RuleTTLNone         RuleID = "ttl.none"      // no packet of the sender to compare with
	RuleTTLMatch        RuleID = "ttl.match"     // same TTL as the sender's packets
	RuleTTLNear         RuleID = "ttl.near"      // one off the sender's packets
	RuleTTLInitial      RuleID = "ttl.initial"   // an initial TTL where the sender is hops away
	RuleTTLMismatch     RuleID = "ttl.mismatch"  // nearer or farther than the sender
	RuleIPIDCopied      RuleID = "ipid.copied"   // the peer's last IP ID, copied
	RuleIPIDFollows     RuleID = "ipid.follows"  // continues the sender's IP ID sequence
	RuleIPIDJump        RuleID = "ipid.jump"     // jumps from the sender's IP ID sequence
	RuleAfterSYNACK     RuleID = "after.syn_ack" // the server's SYN-ACK came after a RST to the SYN
	RuleAfterContinues  RuleID = "after.data_continues"
	RuleAfterPeerGoesOn RuleID = "after.peer_continues" // the receiver kept its connection
	RuleBurstGFWStep    RuleID = "burst.gfw_step"       // seq jumps by 1460, 2920 or 4380 from the previous RST
	RuleBurstFollowStep RuleID = "burst.follow_step"    // a later RST jumps so from this one
	RuleBurstAckDiffers RuleID = "burst.ack_differs"    // back-to-back RST+ACKs with different acks
	RuleBurstAckZero    RuleID = "burst.ack_zero"       // RST+ACK with ack 0
	RuleTimingTooFast   RuleID = "timing.too_fast"      // sooner than the path to the sender allows
	RuleTimingPlausible RuleID = "timing.consistent"    // as late as the path to the sender needs
	RuleShapeReserved   RuleID = "shape.reserved_bits"  // reserved TCP flag bits set
	RuleShapeSYNFIN     RuleID = "shape.syn_or_fin"     // RST with SYN or FIN
	RuleShapeSocketless RuleID = "shape.socketless"     // IP ID 0, DF, window 0, no options
	RuleSeqInWindow     RuleID = "seq.in_window"        // seq = the sender's SND.NXT
	RuleSeqBeyond       RuleID = "seq.beyond"           // seq beyond anything the sender sent
	RuleSeqPeerAck      RuleID = "seq.peer_ack"         // seq = the peer's last ack
	RuleIdleAnswers     RuleID = "idle.answers_first"   // answers the first packet after a silence
	RuleIdleAfter       RuleID = "idle.after_silence"   // sent after a silence
	RulePayload         RuleID = "payload.data"         // the RST carries data
	RuleLoneRST         RuleID = "lone.no_connection"   // no other packet of the connection
	RuleLoneMidstream   RuleID = "lone.midstream"       // the capture began mid-connection
	RulePathMACMismatch RuleID = "path.mac_mismatch"    // through another link-layer next hop than the sender's packets
	RulePathMACMatch    RuleID = "path.mac_match"       // through the next hop of the sender's other connections
	RulePathHopsFit     RuleID = "path.hops_fit"        // from the hop distance of the sender's network behind its next hop
	RulePathHopsMisfit  RuleID = "path.hops_misfit"     // from another hop distance than the sender's network
	RulePathTooFast     RuleID = "path.too_fast"        // a refusal sooner than the sender's network answers a SYN
	RulePathRTTFits     RuleID = "path.rtt_consistent"  // a refusal as late as the sender's network needs
	RuleIPIDHostFits    RuleID = "ipid.host_follows"    // follows the sender's global IP ID counter
	RuleIPIDHostOdd     RuleID = "ipid.host_misfit"     // does not fit the sender's IP IDs across connections
	RuleTunnelOuter     RuleID = "tunnel.outer_ttl"     // came through a tunnel: its endpoints and outer TTL

	// The host's kernel on its own RSTs (a Witness, package internal/kernel):
	// tcp:tcp_send_reset by its reason (enum sk_rst_reason,
	// include/net/rstreason.h), none at all, tcp:tcp_receive_reset.
	RuleKernelNoSocket       RuleID = "kernel.no_socket"            // NO_SOCKET: no socket for the segment
	RuleKernelAbortOnClose   RuleID = "kernel.abort_on_close"       // TCP_ABORT_ON_CLOSE: closed with unread data
	RuleKernelAbortOnData    RuleID = "kernel.abort_on_data"        // TCP_ABORT_ON_DATA: data after the application closed
	RuleKernelAbortOnLinger  RuleID = "kernel.abort_on_linger"      // TCP_ABORT_ON_LINGER: TCP_LINGER2 < 0 in FIN_WAIT2
	RuleKernelAbortOnMemory  RuleID = "kernel.abort_on_memory"      // TCP_ABORT_ON_MEMORY: orphans or memory exhausted
	RuleKernelState          RuleID = "kernel.state"                // TCP_STATE: an abort (SO_LINGER 0, SOCK_DESTROY)
	RuleKernelDisconnectData RuleID = "kernel.disconnect_with_data" // TCP_DISCONNECT_WITH_DATA
	RuleKernelKeepalive      RuleID = "kernel.keepalive_timeout"    // TCP_KEEPALIVE_TIMEOUT: probes unanswered
	RuleKernelTimewait       RuleID = "kernel.timewait_socket"      // TCP_TIMEWAIT_SOCKET
	RuleKernelInvalidSYN     RuleID = "kernel.invalid_syn"          // INVALID_SYN: a bad segment to a SYN_RECV request
	RuleKernelBadSegment     RuleID = "kernel.bad_segment"          // TCP_FLAGS, TCP_*_ACK*, TCP_RFC7323_PAWS
	RuleKernelMPTCP          RuleID = "kernel.mptcp"                // MPTCP_RST_*: an MPTCP subflow reset
	RuleKernelSent           RuleID = "kernel.sent"                 // NOT_SPECIFIED, ERROR or a reason not listed here
	RuleKernelNoEvent        RuleID = "kernel.no_event"             // a local RST the TCP stack did not send
	RuleKernelSocketReset    RuleID = "kernel.socket_reset"         // the RST reset a local socket
	RuleKernelSocketKept     RuleID = "kernel.socket_untouched"     // the RST reset no local socket
	RuleVendorF5             RuleID = "vendor.bigip_cause"          // F5 BIG-IP's reset cause in the payload
	RuleVendorCitrix         RuleID = "vendor.citrix_code"          // a Citrix ADC reset code in the window
	RuleDiagnostic           RuleID = "payload.diagnostic"          // an RST diagnostic payload (0x33AA)

	// Several captures of one incident read together (Joint).
	RuleJointSeenLeaving RuleID = "joint.seen_leaving"  // the claimed sender's own capture shows it leaving
	RuleJointAbsent      RuleID = "joint.absent"        // a capture nearer the sender covers the moment and lacks it
	RuleJointConnUnseen  RuleID = "joint.conn_unseen"   // the connection never reached the capture nearer the sender
	RuleJointHops        RuleID = "joint.hops_mismatch" // its TTL does not fit the hops from the sender
	RuleJointLost        RuleID = "joint.lost_on_path"  // seen leaving, never seen arriving
	RuleJointSeenPassing RuleID = "joint.seen_passing"  // seen at a capture nearer the sender than this one
)

// Rule describes one RuleID.
type Rule struct {
	ID RuleID
	// Means says what the finding shows, in a few words.
	Means string
	// Source is where the rule comes from: an RFC section, a paper, a
	// kernel's behaviour.
	Source string
	// Soft marks evidence for the claimed sender that an on-path forger
	// matches for free (a correct seq, a plausible delay): it supports the
	// sender when nothing says otherwise, and cannot outweigh evidence of
	// forgery (see the package doc, Decision).
	Soft bool
}

// Rules lists every rule, by concern.
var Rules = [...]Rule{
	{ID: RuleSYNRefusal, Means: "a stack refusing the connection", Source: "RFC 9293 §3.10.7.1"},
	{ID: RuleSYNBareRST, Means: "a RST to a SYN the client would ignore", Source: "RFC 9293 §3.10.7.1, §3.10.7.3"},
	{ID: RuleSYNBadAck, Means: "a RST to a SYN the client would ignore", Source: "RFC 9293 §3.10.7.3"},
	{ID: RuleTTLNone, Means: "no reference for the TTL", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleTTLMatch, Means: "sent from the sender's distance", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleTTLNear, Means: "within an endpoint's variation, or one hop nearer", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleTTLInitial, Means: "made on the capturing host or its link", Source: "initial TTLs 32, 64, 128, 255"},
	{ID: RuleTTLMismatch, Means: "sent from another distance than the sender", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleIPIDCopied, Means: "an injector's signature", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleIPIDFollows, Means: "sent on the sender's socket", Source: "Linux ip_select_ident"},
	{ID: RuleIPIDJump, Means: "made elsewhere", Source: "Cloudflare, SIGCOMM 2023"},
	{ID: RuleIPIDHostFits, Means: "sent by the host's stack", Source: "RFC 6864 §4; Cloudflare, SIGCOMM 2023", Soft: true},
	{ID: RuleIPIDHostOdd, Means: "not made by the host's stack", Source: "RFC 6864 §4; Cloudflare, SIGCOMM 2023"},
	{ID: RuleAfterSYNACK, Means: "the server had not refused", Source: "Weaver, Sommer, Paxson, NDSS 2009"},
	{ID: RuleAfterContinues, Means: "the sender went on as if it had not reset", Source: "Weaver, Sommer, Paxson, NDSS 2009"},
	{ID: RuleAfterPeerGoesOn, Means: "the receiver ignored the RST", Source: "RFC 5961 §3.2"},
	{ID: RuleBurstGFWStep, Means: "an injector's RST burst", Source: "Wang et al., IMC 2017"},
	{ID: RuleBurstFollowStep, Means: "an injector's RST burst", Source: "Wang et al., IMC 2017"},
	{ID: RuleBurstAckDiffers, Means: "two senders", Source: "Cloudflare, SIGCOMM 2023 (RST≠RST)"},
	{ID: RuleBurstAckZero, Means: "an injector's signature", Source: "Cloudflare, SIGCOMM 2023 (RST;RST0)"},
	{ID: RuleTimingTooFast, Means: "sent from nearer than the sender", Source: "handshake RTT legs, RFC 9293 §3.5"},
	{ID: RuleTimingPlausible, Means: "as late as the sender's distance needs", Source: "handshake RTT legs, RFC 9293 §3.5", Soft: true},
	{ID: RuleShapeReserved, Means: "a crafted packet", Source: "RFC 9293 §3.1"},
	{ID: RuleShapeSYNFIN, Means: "a crafted packet", Source: "RFC 9293 §3.10.7"},
	{ID: RuleShapeSocketless, Means: "made without a socket", Source: "Linux tcp_v4_send_reset, netfilter nf_send_reset"},
	{ID: RuleSeqInWindow, Means: "sent by a stack that knows the connection", Source: "RFC 9293 §3.10.7.3, RFC 5961 §3.2", Soft: true},
	{ID: RuleSeqBeyond, Means: "not made by the sender", Source: "RFC 9293 §3.4"},
	{ID: RuleSeqPeerAck, Means: "a stack answering without the connection", Source: "RFC 9293 §3.10.7.1"},
	{ID: RuleIdleAnswers, Means: "the connection was forgotten while idle", Source: "RFC 9293 §3.8.4 (keep-alives)"},
	{ID: RuleIdleAfter, Means: "a timeout", Source: "RFC 9293 §3.8.4"},
	{ID: RulePayload, Means: "a diagnostic text", Source: "RFC 9293 §3.10.7.1"},
	{ID: RuleLoneRST, Means: "backscatter, or a capture that began late", Source: "Zeek #1119 (lone RSTs)"},
	{ID: RuleLoneMidstream, Means: "client and server guessed from the ports", Source: ""},
	{ID: RulePathMACMismatch, Means: "made by another device on the capturing link", Source: "IEEE 802.3 source address; RFC 826 (one next hop per path)"},
	{ID: RulePathMACMatch, Means: "came along the sender's path", Source: "IEEE 802.3 source address"},
	{ID: RulePathHopsFit, Means: "sent from the distance of the sender's network", Source: "hop distance from initial TTLs (RFC 791 §3.2, RFC 8200 §3) of a network's hosts behind one next hop"},
	{ID: RulePathHopsMisfit, Means: "sent from another distance than the sender's network", Source: "hop distance from initial TTLs (RFC 791 §3.2, RFC 8200 §3) of a network's hosts behind one next hop"},
	{ID: RulePathTooFast, Means: "sent from nearer than the sender's network", Source: "SYN to SYN-ACK times of a network's hosts behind one next hop, RFC 9293 §3.5"},
	{ID: RulePathRTTFits, Means: "as late as the sender's network needs", Source: "SYN to SYN-ACK times of a network's hosts behind one next hop, RFC 9293 §3.5", Soft: true},
	{ID: RuleTunnelOuter, Means: "how far the tunnel's entry is from the capture point", Source: "RFC 2003 §3.1, RFC 2473 §3 (the encapsulator's outer TTL)"},
	{ID: RuleKernelNoSocket, Means: "the host's stack had no socket for the segment", Source: "Linux tcp_v4_rcv, tcp_v6_rcv (tcp:tcp_send_reset)"},
	{ID: RuleKernelAbortOnClose, Means: "the application closed the socket with unread data", Source: "Linux __tcp_close (tcp:tcp_send_reset)"},
	{ID: RuleKernelAbortOnData, Means: "data arrived after the application closed the socket", Source: "Linux tcp_rcv_state_process (tcp:tcp_send_reset)"},
	{ID: RuleKernelAbortOnLinger, Means: "FIN_WAIT2 cut short by TCP_LINGER2", Source: "Linux __tcp_close (tcp:tcp_send_reset)"},
	{ID: RuleKernelAbortOnMemory, Means: "the host ran short of memory or orphan sockets", Source: "Linux __tcp_close, tcp_out_of_resources (tcp:tcp_send_reset)"},
	{ID: RuleKernelState, Means: "an abortive close (SO_LINGER 0) or a socket destroyed", Source: "Linux tcp_disconnect, tcp_abort (tcp:tcp_send_reset)"},
	{ID: RuleKernelDisconnectData, Means: "a disconnect with data unsent", Source: "Linux tcp_disconnect (tcp:tcp_send_reset)"},
	{ID: RuleKernelKeepalive, Means: "keep-alive probes went unanswered", Source: "Linux tcp_keepalive_timer (tcp:tcp_send_reset)"},
	{ID: RuleKernelTimewait, Means: "a segment to a TIME_WAIT socket", Source: "Linux tcp_timewait_state_process (tcp:tcp_send_reset)"},
	{ID: RuleKernelInvalidSYN, Means: "a bad segment to a half-open connection, or a full accept queue", Source: "Linux tcp_check_req (tcp:tcp_send_reset)"},
	{ID: RuleKernelBadSegment, Means: "a segment the socket's state cannot accept", Source: "Linux tcp_rcv_state_process (tcp:tcp_send_reset)"},
	{ID: RuleKernelMPTCP, Means: "an MPTCP subflow reset", Source: "Linux net/mptcp, RFC 8684 §3.6 (tcp:tcp_send_reset)"},
	{ID: RuleKernelSent, Means: "the host's stack sent it", Source: "Linux tcp:tcp_send_reset"},
	{ID: RuleKernelNoEvent, Means: "made on the host outside its TCP stack: a firewall or a raw socket", Source: "Linux nf_send_reset (no tcp:tcp_send_reset)"},
	{ID: RuleKernelSocketReset, Means: "the RST reset a socket of this host", Source: "Linux tcp_reset (tcp:tcp_receive_reset)"},
	{ID: RuleKernelSocketKept, Means: "the RST reset no socket of this host", Source: "Linux tcp_validate_incoming, RFC 5961 §3.2 (no tcp:tcp_receive_reset)"},
	{ID: RuleVendorF5, Means: "a load balancer (F5 BIG-IP) made it", Source: "F5 K13223 (tm.rstcause.pkt)"},
	{ID: RuleVendorCitrix, Means: "a load balancer (Citrix ADC) made it", Source: "Citrix CTX695832, CTX492010"},
	{ID: RuleJointSeenLeaving, Means: "the claimed sender's own capture shows the RST leaving it: proof it sent it", Source: "two vantage points of one connection (RFC 9293 §3.10.7.1 aside: a packet seen leaving a host was sent by it)"},
	{ID: RuleJointAbsent, Means: "a capture nearer the claimed sender covers the moment and holds no such RST: proof it was made between", Source: "two vantage points of one connection, matched packets and clock alignment (NTP-style bounds, RFC 5905 §8)"},
	{ID: RuleJointConnUnseen, Means: "the connection never reached the capture on the claimed sender's side: made between", Source: "two vantage points; the SYN's absence at the far end"},
	{ID: RuleJointHops, Means: "the RST's TTL does not fit the hop count between the captures: made between", Source: "TTL decrement per hop, RFC 791 §3.2 / RFC 8200 §3"},
	{ID: RuleJointLost, Means: "seen leaving the sender's side, never at the receiver's capture: lost on the path", Source: "two vantage points of one connection"},
	{ID: RuleJointSeenPassing, Means: "seen at a capture nearer the claimed sender: not made between there and here", Source: "two vantage points of one connection"},
	{ID: RuleDiagnostic, Means: "the sender's stated reason", Source: "draft-ietf-tcpm-rst-diagnostic-payload; RFC 9293 §3.5.3"},
}

// softRules are the ids of Rules whose Soft is set.
var softRules = func() map[RuleID]bool {
	m := make(map[RuleID]bool)
	for _, r := range Rules {
		if r.Soft {
			m[r.ID] = true
		}
	}
	return m
}()

// Weights of evidence: positive says the RST was not made by the endpoint
// whose address it carries, negative says it was. None is proof alone; the
// decision sums them.
const (
	decisive = 2.0 // no endpoint stack sends it: outweighs anything a forger can copy
	strong   = 1.0
	moderate = 0.6
	weak     = 0.3
)
