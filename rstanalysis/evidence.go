package rstanalysis

import (
	"fmt"
	"time"
)

// rule names a piece of evidence of DESIGN.md §3.
type rule uint8

const (
	ruleFlags     rule = iota // §3.1 phase and flags: the answer to a SYN
	ruleTTL                   // §3.2 TTL / hop limit against the sender's own packets
	ruleHostTTL               // §3.2 the same, against the sender's packets on other connections
	ruleIPID                  // §3.3 IP ID against the sender's own sequence
	ruleRace                  // §3.4 the claimed sender kept sending after its RST
	ruleBurst                 // §3.5 several RSTs whose seq/ack jump
	ruleTiming                // §3.6 faster than the path to the claimed sender allows
	ruleShape                 // §3.7 crafted flag combinations, netfilter's shape
	ruleSeq                   // §3.8 sequence numbers
	ruleIdle                  // §3.9 idle gaps
	rulePayload               // §3.10 data carried in the RST
	ruleLone                  // §3.11 a RST with no connection around it
	ruleChallenge             // §3.8 the receiver kept its socket (RFC 5961 challenge ACK)
)

// Weights of evidence: positive says the RST was not made by the endpoint
// whose address it carries, negative says it was. None is proof alone
// (DESIGN.md §3); the decision sums them.
const (
	decisive = 2.0 // no endpoint stack sends it: outweighs anything a forger can copy
	strong   = 1.0
	moderate = 0.6
	weak     = 0.3
)

// finding is one rule that fired for one RST.
type finding struct {
	rule   rule
	forged float64 // > 0: evidence of a forged RST; < 0: of a genuine one; 0: context
	// soft marks genuine evidence that any on-path forger matches for free
	// (a correct seq, a plausible delay): it supports the claimed sender
	// when nothing says otherwise, but cannot outweigh evidence of forgery.
	soft bool
	text string
}

type findings []finding

func (fs *findings) add(r rule, forged float64, format string, args ...any) {
	*fs = append(*fs, finding{rule: r, forged: forged, text: fmt.Sprintf(format, args...)})
}

// addSoft adds genuine evidence that a forger matches for free.
func (fs *findings) addSoft(r rule, genuine float64, format string, args ...any) {
	*fs = append(*fs, finding{rule: r, forged: -genuine, soft: true, text: fmt.Sprintf(format, args...)})
}

// sums returns the total weight for forgery, and for genuineness: all of
// it, and the part a forger cannot match for free.
func (fs findings) sums() (forged, genuine, hard float64) {
	for _, f := range fs {
		switch {
		case f.forged > 0:
			forged += f.forged
		case f.soft:
			genuine -= f.forged
		default:
			genuine -= f.forged
			hard -= f.forged
		}
	}
	return forged, genuine, hard
}

// ms renders a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	case f >= 1:
		return fmt.Sprintf("%.2f ms", f)
	}
	return fmt.Sprintf("%.3f ms", f)
}

// dur renders a longer interval (idle gaps) in seconds or minutes.
func dur(d time.Duration) string {
	if d < time.Second {
		return ms(d)
	}
	if d < 2*time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}
