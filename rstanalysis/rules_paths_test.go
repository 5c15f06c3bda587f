package rstanalysis

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// pathCapture builds a capture on the client host: the servers at
// neighbours (192.0.2.x, by last byte and TTL) each answer a handshake
// through next hop router, 20 ms away; then a SYN to 192.0.2.80, which
// shows no packet of its own, is refused dt later by a RST+ACK with TTL
// ttl through next hop mac, a minute after the capture's start (or at
// refusedAt, when not 0).
func pathCapture(neighbours map[byte]uint8, ttl uint8, dt time.Duration, mac [6]byte, refusedAt ...time.Duration) []capture.Packet {
	router, client := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	var cs []*conv
	port := uint16(40000)
	for last, sTTL := range neighbours {
		c := newConv(port)
		c.server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, last}), 443)
		c.sTTL = sTTL
		c.t0 = t0.Add(time.Duration(last) * time.Second)
		c.handshake().request()
		cs = append(cs, c)
		port++
	}
	refused := newConv(port)
	refused.t0 = t0.Add(time.Minute)
	if len(refusedAt) > 0 {
		refused.t0 = t0.Add(refusedAt[0])
	}
	syn := refused.cli(capture.SYN, "")
	r := refused.after(dt).srv(capture.RST|capture.ACK, "")
	r.Seq, r.Ack, r.TTL = 0, syn.Seq+1, ttl
	cs = append(cs, refused)
	pkts := merge(cs...)
	for i := range pkts {
		p := &pkts[i]
		switch {
		case p.Flags&capture.RST != 0:
			p.SrcMAC = mac
		case p.Src.As4()[3] == 1:
			p.SrcMAC = client
		default:
			p.SrcMAC = router
		}
	}
	return pkts
}

// lonePath drops the SYN a capture's last RST answers: the RST is alone
// on its connection.
func lonePath(pkts []capture.Packet) []capture.Packet {
	last := pkts[len(pkts)-1]
	out := slices.DeleteFunc(pkts, func(p capture.Packet) bool { return p.Flags == capture.SYN && p.SrcPort == last.DstPort })
	for i := range out {
		out[i].Frame = uint64(i + 1)
	}
	return out
}

// TestPathRules: a refusal from an address the capture shows nothing else
// of, against the hosts of its network behind the same next hop.
func TestPathRules(t *testing.T) {
	router, other := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 0x99}
	two := map[byte]uint8{10: 57, 11: 57}          // two neighbours 7 hops away
	near := map[byte]uint8{10: 57, 11: 56, 12: 57} // three, 7 to 8 hops away
	split := map[byte]uint8{10: 57, 11: 50}        // two at 7 and 14 hops: no path
	alone := map[byte]uint8{10: 57}                // one neighbour only
	fast, slow := 100*time.Microsecond, 21*time.Millisecond
	tests := []struct {
		name   string
		pkts   []capture.Packet
		want   map[RuleID]float64 // the path findings (of path.hops_* and path.too_fast / rtt_consistent)
		origin Origin
	}{
		{"fits the path: distance and delay", pathCapture(two, 57, slow, router),
			map[RuleID]float64{RulePathHopsFit: -weak, RulePathRTTFits: 0}, OriginServer},
		{"fits a path 7 to 8 hops away", pathCapture(near, 56, slow, router),
			map[RuleID]float64{RulePathHopsFit: -weak, RulePathRTTFits: 0}, OriginServer},
		{"made on the capturing link, at once", pathCapture(two, 64, fast, router),
			map[RuleID]float64{RulePathHopsMisfit: moderate, RulePathTooFast: moderate}, OriginMiddlebox},
		{"another distance alone says unknown", pathCapture(two, 60, slow, router),
			map[RuleID]float64{RulePathHopsMisfit: moderate, RulePathRTTFits: 0}, OriginUnknown},
		{"another initial TTL weighs little", pathCapture(two, 110, slow, router),
			map[RuleID]float64{RulePathHopsMisfit: weak, RulePathRTTFits: 0}, OriginUnknown},
		{"one hop off says nothing", pathCapture(two, 58, slow, router),
			map[RuleID]float64{RulePathRTTFits: 0}, OriginUnknown},
		{"a path of one host says nothing", pathCapture(alone, 64, fast, router), nil, OriginUnknown},
		{"neighbours at different distances say nothing", pathCapture(split, 64, fast, router), nil, OriginUnknown},
		{"another next hop: no path", pathCapture(two, 57, slow, other), nil, OriginUnknown},
		{"a RST alone on its connection: no evidence", lonePath(pathCapture(two, 57, slow, router)), nil, OriginUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := analyze(tt.pkts)
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			v := vs[0]
			got := map[RuleID]float64{}
			for _, f := range v.Findings {
				if strings.HasPrefix(string(f.Rule), "path.") {
					got[f.Rule] = f.Weight
					if len(f.Frames) < 2 || !strings.Contains(f.Text, "192.0.2.0/24 behind next hop 02:00:00:00:00:01") {
						t.Errorf("%s cites frames %v, says %q: want the neighbours' frames, the network and the next hop", f.Rule, f.Frames, f.Text)
					}
				}
			}
			if tt.want == nil {
				tt.want = map[RuleID]float64{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("path findings %v, want %v", got, tt.want)
			}
			if v.Origin != tt.origin {
				t.Errorf("origin %v, want %v (%+v)", v.Origin, tt.origin, v.Findings)
			}
		})
	}
}

// TestPathNamesHosts: the finding names the neighbours and their frames,
// and the workers give the same verdict as one goroutine.
func TestPathNamesHosts(t *testing.T) {
	pkts := pathCapture(map[byte]uint8{10: 57, 11: 57}, 64, 100*time.Microsecond, [6]byte{2, 0, 0, 0, 0, 1})
	vs := analyze(pkts)
	var text string
	for _, f := range vs[0].Findings {
		if f.Rule == RulePathHopsMisfit {
			text = f.Text
		}
	}
	for _, s := range []string{"TTL 64, sent 0 hops away", "192.0.2.10 at frame 2", "192.0.2.11 at frame", "arrive 7 hops away"} {
		if !strings.Contains(text, s) {
			t.Errorf("%q lacks %q", text, s)
		}
	}
	for _, workers := range []int{1, 2} {
		var got []Verdict
		s := NewSharded(Config{}, workers, func(v *Verdict) { got = append(got, *v) })
		for i := range pkts {
			s.Packet(&pkts[i])
		}
		s.Flush()
		if len(got) != 1 || !reflect.DeepEqual(got[0].Findings, vs[0].Findings) || got[0].Origin != vs[0].Origin {
			t.Errorf("%d workers: %+v, want %+v", workers, got, vs)
		}
	}
}

// TestPathHostTable: the path table counts distinct hosts, up to "more
// than two", and the hop distances and quickest RTT among them.
func TestPathHostTable(t *testing.T) {
	var h Hosts
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	for i, x := range []struct {
		last byte
		ttl  uint8
		rtt  time.Duration
	}{{10, 57, 0}, {10, 57, 30 * time.Millisecond}, {11, 56, 20 * time.Millisecond}, {12, 57, 0}, {13, 57, 25 * time.Millisecond}} {
		p := capture.Packet{Frame: uint64(i + 1), Src: netip.AddrFrom4([4]byte{192, 0, 2, x.last}), TTL: x.ttl, SrcMAC: mac}
		h.observePath(&p, x.rtt)
	}
	var s HostSnapshot
	e, ok := h.pathSnapshot(&capture.Packet{Src: netip.MustParseAddr("192.0.2.200"), SrcMAC: mac}, &s)
	want := pathInfo{host: [2]uint64{10, 11}, frame: [2]uint64{1, 3}, rtt: 20 * time.Millisecond, rttFrame: 3,
		n: 3, lo: 7, hi: 8, inits: initBit(64), rttHosts: 7}
	if !ok || e != want {
		t.Errorf("path %+v, %v; want %+v", e, ok, want)
	}
	if _, ok := h.pathSnapshot(&capture.Packet{Src: netip.MustParseAddr("192.0.3.1"), SrcMAC: mac}, &s); ok {
		t.Error("another /24 has the path")
	}
	if _, ok := h.pathSnapshot(&capture.Packet{Src: netip.MustParseAddr("192.0.2.1")}, &s); ok {
		t.Error("another next hop has the path")
	}
}

// TestPathLearntLater: a refusal before its neighbours' connections is
// weighed, in hindsight, against the path they show after it; a later
// path weighs little against the sender, and the workers agree.
func TestPathLearntLater(t *testing.T) {
	router := [6]byte{2, 0, 0, 0, 0, 1}
	two := map[byte]uint8{10: 57, 11: 57}
	for _, tt := range []struct {
		name   string
		ttl    uint8
		dt     time.Duration
		want   map[RuleID]float64
		origin Origin
	}{
		{"fits", 57, 21 * time.Millisecond, map[RuleID]float64{RulePathHopsFit: -weak, RulePathRTTFits: 0}, OriginServer},
		{"made on the capturing link", 64, 100 * time.Microsecond, map[RuleID]float64{RulePathHopsMisfit: weak, RulePathTooFast: weak}, OriginUnknown},
	} {
		pkts := pathCapture(two, tt.ttl, tt.dt, router, time.Second)
		for _, hs := range []time.Duration{0, 30 * time.Second} {
			for _, workers := range []int{0, 2} {
				var vs []Verdict
				emit := func(v *Verdict) { vs = append(vs, *v) }
				var an interface {
					Packet(*capture.Packet)
					Flush()
				} = New(Config{Hindsight: hs}, emit)
				if workers > 0 {
					an = NewSharded(Config{Hindsight: hs}, workers, emit)
				}
				for i := range pkts {
					an.Packet(&pkts[i])
				}
				an.Flush()
				if len(vs) != 1 {
					t.Fatalf("%s: %d verdicts", tt.name, len(vs))
				}
				got := map[RuleID]float64{}
				for _, f := range vs[0].Findings {
					if strings.HasPrefix(string(f.Rule), "path.") {
						got[f.Rule] = f.Weight
						if !strings.Contains(f.Text, "after this RST") {
							t.Errorf("%s: %q does not say the path was learnt after the RST", tt.name, f.Text)
						}
					}
				}
				want, origin := tt.want, tt.origin
				if hs == 0 {
					want, origin = map[RuleID]float64{}, OriginUnknown
				}
				if !reflect.DeepEqual(got, want) || vs[0].Origin != origin {
					t.Errorf("%s, hindsight %v, %d workers: path findings %v, origin %v; want %v, %v", tt.name, hs, workers, got, vs[0].Origin, want, origin)
				}
			}
		}
	}
}
