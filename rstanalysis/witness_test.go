package rstanalysis

import (
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// fakeWitness answers every RST with the same testimony and records what it
// was asked.
type fakeWitness struct {
	mu    sync.Mutex
	say   []Testimony
	asked []Reset
}

func (f *fakeWitness) Testify(r *Reset) []Testimony {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, *r)
	return f.say
}

func analyzeWith(w Witness, pkts []capture.Packet) []Verdict {
	var vs []Verdict
	a := New(Config{Witness: w}, func(v *Verdict) { vs = append(vs, *v) })
	for i := range pkts {
		a.Packet(&pkts[i])
	}
	a.Flush()
	return vs
}

// injected is a RST an injector near the client forged with the server's
// address during the request: too fast for the server, but with its TTL,
// so the capture alone leaves it unknown.
func injected() []capture.Packet {
	c := newConv(40000).handshake()
	c.after(time.Millisecond).cli(capture.PSH|capture.ACK, "GET /banned HTTP/1.1\r\nHost: example.com\r\n\r\n")
	c.after(200*time.Microsecond).srv(capture.RST|capture.ACK, "")
	return merge(c)
}

func TestWitness(t *testing.T) {
	aborted := func() []capture.Packet {
		c := newConv(40000).handshake().request()
		c.after(5*time.Millisecond).srv(capture.RST|capture.ACK, "")
		return merge(c)
	}
	lone := func() []capture.Packet {
		c := newConv(40000)
		c.srv(capture.RST|capture.ACK, "")
		return merge(c)
	}
	tests := []struct {
		name   string
		pkts   func() []capture.Packet
		say    []Testimony
		origin Origin
		conf   float64
		cause  Cause
		first  RuleID // the first finding
		weight float64
	}{
		{"the kernel's reason settles origin and cause", injected,
			[]Testimony{{Rule: RuleKernelAbortOnClose, Text: "sent", Sent: true, Confidence: 0.99, Cause: CauseServerAbort}},
			OriginServer, 0.99, CauseServerAbort, RuleKernelAbortOnClose, -proof},
		{"no cause from the witness: the phase's", aborted,
			[]Testimony{{Rule: RuleKernelSent, Text: "sent", Sent: true, Confidence: 0.99}},
			OriginServer, 0.99, CauseServerAbort, RuleKernelSent, -proof},
		{"a lone RST proven by the kernel", lone,
			[]Testimony{{Rule: RuleKernelNoSocket, Text: "sent", Sent: true, Confidence: 0.97, Cause: CauseStaleConnection}},
			OriginServer, 0.97, CauseStaleConnection, RuleKernelNoSocket, -proof},
		{"the host's firewall", injected,
			[]Testimony{{Rule: RuleKernelNoEvent, Text: "not the stack", Sent: true, Confidence: 0.9, Cause: CauseFirewallReject}},
			OriginServer, 0.9, CauseFirewallReject, RuleKernelNoEvent, -proof},
		{"context changes nothing", injected,
			[]Testimony{{Rule: RuleKernelSocketReset, Text: "reset a socket"}},
			OriginUnknown, 0, CauseUnknown, RuleTimingTooFast, strong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWitness{say: tt.say}
			vs := analyzeWith(w, tt.pkts())
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			v := vs[0]
			if v.Origin != tt.origin || v.Confidence != tt.conf || v.Cause != tt.cause {
				t.Errorf("origin %s confidence %v cause %s, want %s %v %s; findings %+v",
					v.Origin, v.Confidence, v.Cause, tt.origin, tt.conf, tt.cause, v.Findings)
			}
			if v.Findings[0].Rule != tt.first || v.Findings[0].Weight != tt.weight {
				t.Errorf("first finding %s (%v), want %s (%v)", v.Findings[0].Rule, v.Findings[0].Weight, tt.first, tt.weight)
			}
			found := false
			for _, f := range v.Findings {
				if f.Rule == tt.say[0].Rule {
					found = true
					if f.Text != tt.say[0].Text || (!tt.say[0].Sent && f.Weight != 0) {
						t.Errorf("the testimony's finding %+v", f)
					}
				}
			}
			if !found {
				t.Errorf("no finding %s in %+v", tt.say[0].Rule, v.Findings)
			}
		})
	}
}

// TestWitnessAsked: the witness is asked once per RST, about the RST as it
// was on the wire, with its phase.
func TestWitnessAsked(t *testing.T) {
	pkts := injected()
	w := &fakeWitness{}
	vs := analyzeWith(w, pkts)
	rst := pkts[len(pkts)-1]
	want := Reset{Time: rst.Time, Src: rst.SrcAddrPort(), Dst: rst.DstAddrPort(), Flags: rst.Flags,
		Seq: rst.Seq, Ack: rst.Ack, From: Server, Phase: PhaseRequest}
	if len(w.asked) != 1 || !reflect.DeepEqual(w.asked[0], want) {
		t.Errorf("asked %+v, want once about %+v", w.asked, want)
	}
	// A witness that says nothing leaves the verdict as it is without one.
	if plain := analyze(pkts); !reflect.DeepEqual(plain, vs) {
		t.Errorf("with a silent witness:\n%+v\nwithout:\n%+v", vs, plain)
	}
	if math.Abs(proof) <= decisive {
		t.Errorf("proof %v does not outweigh decisive evidence", proof)
	}
}
