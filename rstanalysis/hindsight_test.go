package rstanalysis

import (
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestHindsightFullSameVerdicts: a refusal from a server not yet seen is
// held for hindsight; the server's next connection, 10 s later, shows its
// TTL and RTT; at 29.9 s comes a flood of lone RSTs, and a RST at 30.1 s
// ends the refusal's 30 s window. With fewer than maxHeld verdicts in
// the window the refusal is decided in hindsight (server); with more it
// goes as it was decided (unknown). Either way one Analyzer and any
// number of workers give the same verdicts: whether the refusal waits
// must not depend on how far the reading is ahead of the verdicts.
func TestHindsightFullSameVerdicts(t *testing.T) {
	for _, tt := range []struct {
		flood int
		want  Origin
	}{{maxHeld - 2, OriginServer}, {maxHeld + 100, OriginUnknown}} {
		t.Run(fmt.Sprintf("flood%d", tt.flood), func(t *testing.T) {
			pkts := fullWindow(tt.flood)
			one, _ := flushed(pkts, 0, nil)
			if len(one) != tt.flood+2 {
				t.Fatalf("%d verdicts, want %d", len(one), tt.flood+2)
			}
			if v := one[0]; v.Origin != tt.want {
				t.Errorf("the refusal: %v, want %v:\n  %v", v.Origin, tt.want, v.Texts())
			}
			for _, c := range []struct{ n, procs int }{{1, 2}, {1, 1}, {2, 3}, {3, 4}, {3, 1}} {
				t.Run(fmt.Sprintf("%dworkers_%dprocs", c.n, c.procs), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
					got, _ := flushed(pkts, c.n, nil)
					if len(got) != len(one) {
						t.Fatalf("%d verdicts, one Analyzer gives %d", len(got), len(one))
					}
					for i := range got {
						if !reflect.DeepEqual(got[i], one[i]) {
							t.Fatalf("verdict %d (frame %d) differs:\n  Analyzer: %v %v\n  %d workers: %v %v",
								i, one[i].Frame, one[i].Origin, one[i].Texts(), c.n, got[i].Origin, got[i].Texts())
						}
					}
				})
			}
		})
	}
}

// fullWindow is a refusal at 0 s, an answered connection of its server at
// 10 s, flood lone RSTs at 29.9 s, and at 30.05 s a connection that the
// client resets at 30.1 s, past the refusal's window.
func fullWindow(flood int) []capture.Packet {
	refused := newConv(40000)
	syn := refused.cli(capture.SYN, "")
	r := refused.after(20*time.Millisecond).srv(capture.RST|capture.ACK, "")
	r.Seq, r.Ack = 0, syn.Seq+1
	next := newConv(40001)
	next.after(10 * time.Second).handshake().request()
	last := newConv(40002)
	last.server = netip.MustParseAddrPort("198.51.100.7:443")
	last.after(30*time.Second + 50*time.Millisecond).handshake()
	last.after(10*time.Millisecond).cli(capture.RST|capture.ACK, "")
	lone := &conv{pkts: loneFlood(flood)}
	for i := range lone.pkts {
		lone.pkts[i].Time = lone.pkts[i].Time.Add(29*time.Second + 900*time.Millisecond)
	}
	return merge(refused, next, lone, last)
}

// TestHindsightRing: verdicts held now and then among many that are not,
// with a window of a few verdicts and with one longer than maxHeld of
// them, come out once each in capture order, and no more than maxHeld
// wait at once, however the ring wraps.
func TestHindsightRing(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, window := range []time.Duration{5 * time.Second, time.Hour} {
		var out []uint64
		h := &hindsight{hosts: NewHosts(), window: window, emit: func(v *Verdict) {
			if v.held != nil {
				t.Errorf("frame %d emitted still held", v.Frame)
			}
			out = append(out, v.Frame)
		}}
		const n = 3 * maxHeld
		for i := range uint64(n) {
			v := Verdict{Frame: i + 1, Time: t0.Add(time.Duration(i) * time.Second),
				Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("198.51.100.1:80")}
			if i%7 == 0 || i%11 == 3 {
				v.held = &pending{v: v}
			}
			h.add(&v)
			if w := h.waiting(); w >= maxHeld || len(h.ring) > maxHeld {
				t.Fatalf("window %v, after frame %d: %d wait in a ring of %d", window, i+1, w, len(h.ring))
			}
		}
		h.advance(time.Time{}, 0)
		if len(out) != n || h.waiting() != 0 {
			t.Fatalf("window %v: %d verdicts out of %d, %d still wait", window, len(out), n, h.waiting())
		}
		for i, f := range out {
			if f != uint64(i+1) {
				t.Fatalf("window %v: verdict %d is frame %d, want capture order", window, i, f)
			}
		}
	}
}
