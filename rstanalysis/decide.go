package rstanalysis

import (
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// The decision's thresholds and confidence scales, on the weights' scale
// (decisive 2, strong 1, moderate 0.6, weak 0.3). A middlebox needs strong
// evidence of forgery that outweighs the hard evidence for the sender by
// half a strong finding; the claimed sender needs some evidence for it and
// less against. Confidence grows with the margin, within bounds that keep
// a verdict from sounding surer than heuristics can be.
const (
	middleboxMargin = 0.5
	middleboxBase   = 0.5
	middleboxSlope  = 0.15
	middleboxMin    = 0.55
	middleboxMax    = 0.97
	senderBase      = 0.45
	senderSlope     = 0.25
	senderMin       = 0.5
	senderMax       = 0.95
)

// decide turns the findings into origin, confidence and cause.
func (pd *pending) decide() {
	v := &pd.v
	forged, genuine, hard := pd.fs.sums()
	if pd.lend {
		v.Findings = pd.fs.sorted(v.Findings) // lent: see Config.Lend
	} else {
		v.Findings = pd.fs.sorted(nil)
	}
	switch {
	case pd.lone:
		v.Origin, v.Confidence = OriginUnknown, 0
	case forged >= strong && forged >= hard+middleboxMargin:
		v.Origin = OriginMiddlebox
		v.Confidence = clamp(middleboxBase+middleboxSlope*(forged-genuine), middleboxMin, middleboxMax)
	case forged >= moderate:
		v.Origin, v.Confidence = OriginUnknown, 0
	case genuine >= weak && forged < genuine:
		v.Origin = OriginOf(v.From)
		v.Confidence = clamp(senderBase+senderSlope*(genuine-forged), senderMin, senderMax)
	default:
		v.Origin, v.Confidence = OriginUnknown, 0
	}
	if v.Origin == OriginUnknown && pd.byVendor() {
		return
	}
	// The one place confidence is rounded: to two decimals.
	v.Confidence = float64(int(v.Confidence*100+0.5)) / 100
	v.Cause = pd.cause()
}

func clamp(f, lo, hi float64) float64 { return min(max(f, lo), hi) }

// cause names the likely reason from the origin, the phase and the shape of
// the exchange.
func (pd *pending) cause() Cause {
	v := &pd.v
	switch v.Origin {
	case OriginMiddlebox:
		switch {
		case pd.injectedish:
			return CauseInjected
		case v.Phase == PhaseIdle || pd.answersIdle:
			return CauseIdleTimeout
		}
		return CauseFirewallReject
	case OriginUnknown:
		if v.Phase == PhaseSYN && v.From == Server {
			return CauseRefused
		}
		return CauseUnknown
	}
	server := v.Origin == OriginServer
	if server && pd.handshakeAn && v.Phase != PhaseAfterReset {
		return CauseBacklogOverflow
	}
	return endpointCause(v.Phase, server, pd)
}

// endpointCause is the cause of a RST its claimed sender made, by phase.
func endpointCause(ph Phase, server bool, pd *pending) Cause {
	switch ph {
	case PhaseSYN:
		if server {
			return CauseRefused
		}
		return CauseClientAbort
	case PhaseAfterReset:
		return CauseLateSegment
	case PhaseMidstream:
		return CauseUnknown
	case PhaseTLSHandshake:
		if server {
			return CauseTLSReject
		}
		return CauseClientAbort
	case PhaseClosing:
		if server && pd.serverFINed {
			return CauseKeepaliveReuse
		}
		return CauseLateSegment
	case PhaseIdle:
		if server && pd.answersIdle && !pd.seqLive {
			return CauseStaleConnection
		}
	}
	if server {
		return CauseServerAbort
	}
	return CauseClientAbort
}

// handshakeSlack is added to the handshake RTT within which a server RST
// that answers the handshake's final ACK counts as the kernel's answer.
const handshakeSlack = 10 * time.Millisecond

// handshakeAnswer reports whether a server RST answers the handshake's final
// ACK without taking any client data: the kernel's answer when the accept
// queue is full and tcp_abort_on_overflow is set (Linux tcp_check_req).
func (pd *pending) handshakeAnswer(c *flows.Conn) bool {
	cl, sv := &c.Half[flows.Client], &c.Half[flows.Server]
	if pd.dir != flows.Server || !c.Established() || sv.PayloadBytes > 0 || !sv.SawSYN || !cl.SawSYN {
		return false
	}
	return pd.v.Seq == sv.ISN+1 && (pd.rst.flags&capture.ACK == 0 || pd.v.Ack == cl.ISN+1) &&
		flows.NanosOf(pd.v.Time).Sub(c.ACKTime) <= c.ClientRTT()+c.ServerRTT()+handshakeSlack
}
