package flows

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testenv"
)

// TestConnHasNoPointers wants Conn free of anything the garbage collector
// follows, so that the table's slabs of connections are noscan memory the
// collector's mark phase skips: at tens of thousands of open connections
// they are most of the heap. It names the path of each offending field.
func TestConnHasNoPointers(t *testing.T) {
	for _, f := range testenv.PointerFields("Conn", reflect.TypeOf(Conn{})) {
		t.Errorf("%s: it holds a pointer", f)
	}
}

// TestHalfAddr wants Half.Addr to give back exactly the address stored (an
// IPv4 address stays 4 bytes, an IPv4-mapped IPv6 one stays IPv6) and
// Half.is to agree with comparing netip values.
func TestHalfAddr(t *testing.T) {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:80"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"),
		netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("[::]:80"),
		netip.MustParseAddrPort("0.0.0.0:80"),
		netip.AddrPortFrom(netip.Addr{}, 80),
		netip.MustParseAddrPort("10.0.0.1:81"),
	}
	for _, a := range addrs {
		var h Half
		h.setAddr(a)
		if got := h.Addr(); got != a {
			t.Errorf("setAddr(%v): Addr() = %v", a, got)
		}
		for _, b := range addrs {
			if got, want := h.is(b.Addr(), b.Port()), a == b; got != want {
				t.Errorf("setAddr(%v): is(%v) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// TestDirOf checks the port shortcut of Conn.sideOf against comparing the
// whole source endpoint, for every packet that has the connection's key:
// both directions, equal ports, and the IPv4-mapped IPv6 form of an IPv4
// address (which shares the key).
func TestDirOf(t *testing.T) {
	eps := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:40000"),
		netip.MustParseAddrPort("10.0.0.2:80"),
		netip.MustParseAddrPort("10.0.0.2:40000"),
		netip.MustParseAddrPort("10.0.0.1:80"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:40000"),
		netip.MustParseAddrPort("[::ffff:10.0.0.2]:80"),
		netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("[2001:db8::2]:443"),
		netip.MustParseAddrPort("[2001:db8::1]:80"),
		netip.MustParseAddrPort("10.0.0.1:40000"),
	}
	n := 0
	for _, client := range eps {
		for _, server := range eps {
			var c Conn
			c.Half[Client].setAddr(client)
			c.Half[Server].setAddr(server)
			ck := KeyOf(&capture.Packet{Src: client.Addr(), Dst: server.Addr(), SrcPort: client.Port(), DstPort: server.Port()})
			for _, src := range eps {
				for _, dst := range eps {
					p := &capture.Packet{Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port()}
					if src.Addr().Is4() != dst.Addr().Is4() || KeyOf(p) != ck {
						continue // not a packet of this connection
					}
					n++
					want := Server
					if c.Half[Client].is(p.Src, p.SrcPort) {
						want = Client
					}
					if got := c.sideOf(p); got != want {
						t.Errorf("client %v server %v, packet %v > %v: sideOf = %v, want %v", client, server, src, dst, got, want)
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d packets checked", n)
	}
}
