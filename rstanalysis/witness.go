package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// Witness is evidence from outside the capture: the testimony of a host
// about the RSTs it sent and received, such as its kernel's own record of
// every reset (package internal/kernel reads Linux's tcp:tcp_send_reset and
// tcp:tcp_receive_reset tracepoints). The capture can only infer who made a
// RST; the host that made it knows, and says why.
//
// Testify is called once per RST, when its verdict is decided, from the
// goroutine that decides it: with Sharded, from several workers at once, so
// a Witness must be safe for concurrent use. It returns what the witness
// has to say about r, nothing when r is none of its business (a RST between
// two other hosts). It may block briefly to catch up with its own source.
type Witness interface {
	Testify(r *Reset) []Testimony
}

// Reset is the RST a Witness is asked about, as captured.
type Reset struct {
	// Time is the RST's capture timestamp (the wall clock of a live
	// capture).
	Time time.Time
	// Src and Dst are the RST's addresses and ports, as on the wire.
	Src, Dst netip.AddrPort
	Flags    capture.Flags
	Seq, Ack uint32
	// From is the side whose address the RST carries.
	From Side
	// Phase is the state of the exchange when the RST arrived.
	Phase Phase
}

// Testimony is one thing a Witness says about a RST: a finding with a rule
// id of its own ("kernel.abort_on_close"), and, when the witness saw the
// RST's claimed sender make it, proof that settles the verdict.
type Testimony struct {
	Rule RuleID
	// Text says what the witness saw, in words.
	Text string
	// Sent is true when the witness saw the host whose address the RST
	// carries make it: its TCP stack, or something else on that host (its
	// firewall). The verdict's origin is then that side, with Confidence,
	// whatever the capture's evidence says: the host's own word outweighs
	// inference from packets. False makes the testimony context (weight 0).
	Sent bool
	// Confidence in Sent, in [0, 1]: below 1 only for the doubt in joining
	// the witness's record with the packet (addresses, ports and time).
	Confidence float64
	// Cause is the reason the witness gives; CauseUnknown leaves the cause
	// to the capture's evidence (by phase, as for any RST its claimed sender
	// made).
	Cause Cause
}

// proof is the weight of testimony that the claimed sender's host made the
// RST: above decisive, because no packet evidence can outweigh the host's
// own record of what it sent.
const proof = 3.0

// hear asks witness w (Config.Witness), if any, about the verdict's RST,
// records what it says as findings, and returns the testimony that proves
// who sent it (nil when none does).
func (pd *pending) hear(w Witness) *Testimony {
	if w == nil {
		return nil
	}
	v := &pd.v
	r := Reset{Time: pd.v.Time, From: pd.dir, Phase: v.Phase, Flags: pd.rst.flags, Seq: pd.v.Seq, Ack: pd.v.Ack}
	r.Src, r.Dst = v.Server, v.Client
	if pd.dir == Client {
		r.Src, r.Dst = v.Client, v.Server
	}
	var sworn *Testimony
	for _, t := range w.Testify(&r) {
		w := 0.0
		if t.Sent {
			w = -proof
			if sworn == nil {
				sworn = &t
			}
		}
		pd.fs.add(t.Rule, w, nil, "%s", t.Text)
	}
	return sworn
}

// swear makes a decided verdict follow testimony t that its claimed sender's
// host made the RST: the origin is that side, with the witness's confidence,
// and the cause the witness's, or else the one the capture's evidence gives
// for a RST its claimed sender made.
func (pd *pending) swear(t *Testimony) {
	if t == nil {
		return
	}
	v := &pd.v
	v.Origin = OriginOf(v.From)
	v.Confidence = float64(int(clamp(t.Confidence, 0, 1)*100+0.5)) / 100
	v.Cause = t.Cause
	if v.Cause == CauseUnknown {
		v.Cause = pd.cause()
	}
}
