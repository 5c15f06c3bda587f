package rstanalysis

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testenv"
)

// TestHostsHoldNoPointers wants the host table's maps free of pointers, so
// that the collector does not scan them (the SYN map holds up to maxHosts
// entries).
func TestHostsHoldNoPointers(t *testing.T) {
	ht := reflect.TypeOf(Hosts{})
	for i := range ht.NumField() {
		f := ht.Field(i)
		if k := f.Type.Kind(); k == reflect.Bool || k == reflect.Uint64 {
			continue
		}
		var ps []string
		switch f.Type.Kind() {
		case reflect.Map:
			ps = append(testenv.PointerFields("Hosts."+f.Name+" key", f.Type.Key()),
				testenv.PointerFields("Hosts."+f.Name+" value", f.Type.Elem())...)
		case reflect.Slice, reflect.Array:
			ps = testenv.PointerFields("Hosts."+f.Name+" element", f.Type.Elem())
		default:
			t.Fatalf("Hosts.%s is not a map, a slice or an array", f.Name)
		}
		for _, p := range ps {
			t.Errorf("%s: it holds a pointer", p)
		}
	}
}

// TestHostsObserve checks what the table learns from a SYN and its SYN-ACK:
// the server's TTL and the SYN to SYN-ACK time, kept apart from an address
// that differs only in family (IPv4 and IPv4-mapped IPv6).
func TestHostsObserve(t *testing.T) {
	t0 := time.Unix(1.7e9, 0)
	cl, sv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	mapped := netip.AddrFrom16(sv.As16())
	h := NewHosts()
	h.Observe(&capture.Packet{Frame: 1, Time: t0, Src: cl, Dst: sv, SrcPort: 40000, DstPort: 80, TTL: 64, Flags: capture.SYN})
	h.Observe(&capture.Packet{Frame: 2, Time: t0.Add(30 * time.Millisecond), Src: sv, Dst: cl, SrcPort: 80, DstPort: 40000, TTL: 52, Flags: capture.SYN | capture.ACK})
	rst := &capture.Packet{Frame: 3, Src: sv, Dst: cl, Flags: capture.RST}
	s := h.Snapshot(rst)
	if !s.srcOK || s.src.ttl != 52 || s.src.frame != 2 || s.src.rtt != 30*time.Millisecond {
		t.Errorf("server: %+v (ok %v), want ttl 52, frame 2, rtt 30ms", s.src, s.srcOK)
	}
	if !s.dstOK || s.dst.ttl != 64 || s.dst.rtt != 0 {
		t.Errorf("client: %+v (ok %v), want ttl 64, no rtt", s.dst, s.dstOK)
	}
	if s := h.Snapshot(&capture.Packet{Src: mapped, Dst: cl}); s.srcOK {
		t.Errorf("%v found as %v: %+v", mapped, sv, s.src)
	}
	if len(h.syn) != 0 {
		t.Errorf("%d SYNs still await a SYN-ACK", len(h.syn))
	}
}
