package rstanalysis

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Reset reasons that devices write into the RSTs they make, as their
// vendors document them. A load balancer's reason names the device that
// made the RST. It weighs nothing in the sums of the decision: a full proxy
// answers with the address, distance and sequence space the client knows
// as the server's, so the other rules rightly find the server's stack (the
// proxy's). Where they leave the origin unknown, the reason decides it: the
// middlebox, a load balancer (pending.byVendor).

// vendorReason is what a load balancer's reset reason decides.
type vendorReason struct {
	confidence float64
	cause      Cause // CauseUnknown: the middlebox causes' usual choice (decide)
}

// bigIPCause matches F5 BIG-IP's reset cause: with the db key
// tm.rstcause.pkt enabled, BIG-IP writes why it reset the connection into
// the RST's payload, "[0x2fb1a95:704] Flow expired (sweeper)", prefixed
// "BIG-IP: " by some versions (F5 K13223, "Configuring the BIG-IP system to
// log TCP RST packets").
var bigIPCause = regexp.MustCompile(`^(?:BIG-IP: ?)?\[0x[0-9a-fA-F]+:[0-9]+\] ?([[:print:]]+)`)

// bigIPCauses maps words of a BIG-IP reset cause to the cause they name,
// first match first; a cause not listed leaves the middlebox causes'
// usual choice.
var bigIPCauses = []struct {
	words string // lower case, any of them, separated by |
	cause Cause
}{
	{"rst from remote|reset from remote", CauseServerAbort}, // relays the far side's reset (a client_abort when the RST claims the client)
	{"expired|idle timeout|timed out|timeout", CauseIdleTimeout},
	{"no flow found", CauseStaleConnection},
	{"no pool member|no server selected|no available|pool member|node down|no local listener|port denied", CauseRefused},
	{"ssl|tls|handshake fail", CauseTLSReject},
	{"irule|policy|reject|denied|acl|filter|drop", CauseFirewallReject},
}

// citrixCodes are the reset codes Citrix ADC (NetScaler) puts in the window
// field of the RSTs it makes whose meaning Citrix documents.
var citrixCodes = map[uint16]struct {
	meaning, source string
	cause           Cause
}{
	8201: {"no connection state for the data (the SYN-cookie check found none: a first data segment out of order)",
		"Citrix CTX695832", CauseStaleConnection},
	9300: {"NSBE_DBG_RST_ZSSSR: an idle connection reset by the zombie clean-up",
		"Citrix CTX492010", CauseIdleTimeout},
}

// diagnosticMagic starts an RST diagnostic payload
// (draft-ietf-tcpm-rst-diagnostic-payload, formerly
// draft-boucadair-tcpm-rst-diagnostic-payload): 0x33AA, a 16-bit reason
// code and a 32-bit Private Enterprise Number (PEN), 8 bytes in all.
const diagnosticMagic = 0x33AA

// diagnosticCodes are the draft's initial "TCP Failure Causes" (PEN 0).
var diagnosticCodes = [...]string{1: "illegal option length", 2: "desynchronized state",
	3: "new data received after CLOSE", 4: "ABORT", 5: "unexpected ACK in a non-synchronized state",
	6: "unexpected SYN in the window", 7: "unexpected security compartment", 8: "malformed message",
	9: "not authorized", 10: "resource exceeded", 11: "network failure", 12: "reset received from the peer",
	13: "destination unreachable", 14: "connection timeout", 15: "too much outstanding data",
	16: "unacceptable performance", 17: "middlebox interference"}

// ruleVendor: a reset reason the RST carries, in its payload (F5 BIG-IP's
// reset cause, an RST diagnostic payload, RFC 9293 §3.5.3 SHLD-2 allowing
// data in a RST) or in its window field (Citrix ADC's reset codes).
func ruleVendor(pd *pending, _ *flows.Conn, p *capture.Packet) {
	pay := p.Payload()
	if m := bigIPCause.FindSubmatch(pay); m != nil {
		reason := strings.TrimSpace(string(m[1]))
		vr := &vendorReason{confidence: 0.95, cause: bigIPCauseOf(reason)}
		if vr.cause == CauseServerAbort && pd.dir == flows.Client {
			vr.cause = CauseClientAbort
		}
		pd.vendor = vr
		pd.fs.add(RuleVendorF5, 0, nil, "made by a load balancer, F5 BIG-IP: its reset cause %q is in the RST (F5 K13223)", reason)
		return
	}
	if p.PayloadLen == 8 && len(pay) == 8 && binary.BigEndian.Uint16(pay) == diagnosticMagic {
		code, pen := binary.BigEndian.Uint16(pay[2:]), binary.BigEndian.Uint32(pay[4:])
		pd.fs.add(RuleDiagnostic, 0, nil, "RST diagnostic payload: %s (draft-ietf-tcpm-rst-diagnostic-payload)", diagnosticText(code, pen))
		return
	}
	if c, ok := citrixCodes[p.Window]; ok && p.PayloadLen == 0 {
		pd.vendor = &vendorReason{confidence: 0.85, cause: c.cause}
		pd.fs.add(RuleVendorCitrix, 0, nil, "made by a load balancer, Citrix ADC (NetScaler): window %d is its reset code for %s (%s)",
			p.Window, c.meaning, c.source)
	}
}

func bigIPCauseOf(reason string) Cause {
	r := strings.ToLower(reason)
	for _, c := range bigIPCauses {
		for w := range strings.SplitSeq(c.words, "|") {
			if strings.Contains(r, w) {
				return c.cause
			}
		}
	}
	return CauseUnknown
}

// diagnosticText names a diagnostic payload's reason.
func diagnosticText(code uint16, pen uint32) string {
	switch {
	case pen != 0:
		return fmt.Sprintf("reason code %d of the vendor with PEN %d", code, pen)
	case int(code) < len(diagnosticCodes) && diagnosticCodes[code] != "":
		return fmt.Sprintf("reason code %d, %s", code, diagnosticCodes[code])
	}
	return fmt.Sprintf("reason code %d", code)
}

// byVendor decides a verdict the other evidence left unknown from a load
// balancer's reset reason, and reports whether there was one: the origin
// is the middlebox, the cause the one the reason names, else the middlebox
// causes' usual choice.
func (pd *pending) byVendor() bool {
	vr := pd.vendor
	if vr == nil {
		return false
	}
	v := &pd.v
	v.Origin, v.Confidence, v.Cause = OriginMiddlebox, vr.confidence, vr.cause
	if v.Cause == CauseUnknown {
		v.Cause = pd.cause()
	}
	return true
}
