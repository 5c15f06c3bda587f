package flows

import (
	"net/netip"
	"reflect"
	"testing"
)

// TestConnHasNoPointers wants Conn free of anything the garbage collector
// follows, so that the table's slabs of connections are noscan memory the
// collector's mark phase skips: at tens of thousands of open connections
// they are most of the heap. It names the path of each offending field.
func TestConnHasNoPointers(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(path+"."+f.Name, f.Type)
			}
		case reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.Map,
			reflect.Chan, reflect.Func, reflect.Interface, reflect.String:
			t.Errorf("%s is a %s (%s): it holds a pointer", path, typ.Kind(), typ)
		}
	}
	walk("Conn", reflect.TypeOf(Conn{}))
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
