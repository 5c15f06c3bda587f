package rstanalysis

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testenv"
)

// TestHostsHoldNoPointers wants the host tables' entries free of pointers,
// so that the collector does not scan them (the tables hold up to maxHosts
// entries): a table is a slice of pointer-free elements, or of chunks of
// them (v4Table.recs, a few dozen pointers for tens of thousands of hosts).
func TestHostsHoldNoPointers(t *testing.T) {
	var check func(name string, ft reflect.Type)
	check = func(name string, ft reflect.Type) {
		var ps []string
		switch ft.Kind() {
		case reflect.Bool, reflect.Int, reflect.Uint64:
		case reflect.Struct:
			for i := range ft.NumField() {
				check(name+"."+ft.Field(i).Name, ft.Field(i).Type)
			}
		case reflect.Slice:
			elem := ft.Elem()
			if elem.Kind() == reflect.Slice {
				elem = elem.Elem() // chunks
			}
			ps = testenv.PointerFields(name+" element", elem)
		case reflect.Array:
			ps = testenv.PointerFields(name+" element", ft.Elem())
		default:
			t.Fatalf("%s is not a struct, a slice or an array", name)
		}
		for _, p := range ps {
			t.Errorf("%s: it holds a pointer", p)
		}
	}
	check("Hosts", reflect.TypeOf(Hosts{}))
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
	if h.syns.n != 0 {
		t.Errorf("%d SYNs still await a SYN-ACK", h.syns.n)
	}
}

// TestHostsBound fills the host table to maxHosts addresses, IPv4 and IPv6
// mixed: a known address seen again keeps them all, and a new one past the
// bound starts the table afresh with it alone.
func TestHostsBound(t *testing.T) {
	addr := func(i int) netip.Addr {
		if i%8 == 0 {
			return netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 13: byte(i >> 16), byte(i >> 8), byte(i)})
		}
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	h := NewHosts()
	syn := func(i int) {
		h.Observe(&capture.Packet{Frame: uint64(i + 1), Src: addr(i), Dst: netip.MustParseAddr("192.0.2.1"),
			SrcPort: 40000, DstPort: 80, TTL: 64, Flags: capture.SYN})
	}
	for i := range maxHosts {
		syn(i)
	}
	syn(1)
	for _, i := range []int{0, 1, 8, maxHosts - 1} {
		if _, ok := h.host(addr(i)); !ok {
			t.Errorf("%v unknown with %d addresses in the table", addr(i), maxHosts)
		}
	}
	syn(maxHosts)
	if _, ok := h.host(addr(maxHosts)); !ok {
		t.Errorf("%v unknown after the fresh start", addr(maxHosts))
	}
	for _, i := range []int{1, 8} {
		if _, ok := h.host(addr(i)); ok {
			t.Errorf("%v still known past the bound", addr(i))
		}
	}
	if n := h.hosts4.hosts + h.hosts6.n; n != 1 {
		t.Errorf("%d addresses after the fresh start, want 1", n)
	}
}
