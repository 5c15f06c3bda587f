package flows

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestShutKeyPacks: a closed record's key comes back exactly, packed in 12
// bytes when both addresses are IPv4 (or IPv4-mapped IPv6, whose Key is
// the same), else in a Key of shutStore.keys that drop frees; keyIs
// matches the key and no key that differs in any part, IPv6 keys that end
// in the same 4 bytes included.
func TestShutKeyPacks(t *testing.T) {
	if shutACKTime >= shutKeyExt || endBitsLen > 8 {
		t.Fatalf("the shut flags reach shutKeyExt")
	}
	keyOf := func(a, b string) Key {
		src, dst := netip.MustParseAddrPort(a), netip.MustParseAddrPort(b)
		return KeyOf(&capture.Packet{Src: src.Addr(), SrcPort: src.Port(), Dst: dst.Addr(), DstPort: dst.Port()})
	}
	tests := []struct {
		a, b   string
		packed bool
	}{
		{"10.0.0.1:40000", "10.0.0.2:80", true},
		{"10.0.0.2:80", "10.0.0.1:40000", true},
		{"0.0.0.0:0", "255.255.255.255:65535", true},
		{"[::ffff:10.0.0.1]:40000", "10.0.0.2:80", true},
		{"[2001:db8::a00:1]:40000", "[2001:db8::a00:2]:80", false},
		{"[2001:db8::1]:40000", "10.0.0.2:80", false},
		{"[::]:1", "[::1]:2", false},
	}
	var all []Key
	for _, tt := range tests {
		all = append(all, keyOf(tt.a, tt.b))
	}
	// Keys one part away from the first: each address, each port.
	all = append(all, keyOf("10.0.0.3:40000", "10.0.0.2:80"), keyOf("10.0.0.1:40000", "10.0.0.4:80"),
		keyOf("10.0.0.1:40001", "10.0.0.2:80"), keyOf("10.0.0.1:40000", "10.0.0.2:81"))
	var st shutStore
	for i, tt := range tests {
		k := all[i]
		r, s := st.add()
		s.bits = endBits(&k, netip.MustParseAddrPort(tt.a).Addr(), 0, netip.MustParseAddrPort(tt.b).Addr())
		bits := s.bits
		st.putKey(s, &k)
		if packed := s.bits&shutKeyExt == 0; packed != tt.packed || st.keys.live != b2i(!tt.packed) || s.bits&^shutKeyExt != bits {
			t.Errorf("%s %s: packed %v (%d Keys kept, bits %x from %x), want %v", tt.a, tt.b, packed, st.keys.live, s.bits, bits, tt.packed)
		}
		if got := st.key(s); got != k {
			t.Errorf("%s %s: key %v, want %v", tt.a, tt.b, got, k)
		}
		for j := range all {
			if got, want := st.keyIs(s, &all[j]), all[j] == k; got != want {
				t.Errorf("%s %s: keyIs(%v) = %v, want %v", tt.a, tt.b, all[j], got, want)
			}
		}
		st.drop(r)
		if st.keys.live != 0 || st.live != 0 {
			t.Errorf("%s %s: after drop, %d Keys and %d records live", tt.a, tt.b, st.keys.live, st.live)
		}
	}
}

// TestShutIPv6 compacts a reset IPv6 connection, finds it again by a late
// packet, and lets its record expire: its Key kept beside the record
// comes and goes with it.
func TestShutIPv6(t *testing.T) {
	const c6, s6 = "[2001:db8::1]:40000", "[2001:db8::2]:443"
	conn := []*capture.Packet{seg(1, 0, c6, s6, capture.SYN, 100, 0, ""), seg(2, 20*time.Millisecond, s6, c6, capture.SYN|capture.ACK, 500, 101, ""),
		seg(3, 21*time.Millisecond, c6, s6, capture.ACK, 101, 501, ""), seg(4, 30*time.Millisecond, s6, c6, capture.RST, 501, 0, "")}
	tb := NewTable(Config{CompactAfter: time.Second})
	before := visible(feed(tb, conn...))
	feed(tb, seg(5, 3*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, "")) // time passes
	if st := tb.Stats(); st.Compacted != 1 || tb.shuts.keys.live != 1 {
		t.Fatalf("stats %+v, %d Keys kept: the IPv6 connection was not compacted with its Key", st, tb.shuts.keys.live)
	}
	late := seg(6, 4*time.Second, c6, s6, capture.ACK, 101, 501, "")
	c, _ := tb.Step(late)
	if c == nil || c.Key != before.Key || c.ID != before.ID || c.Client() != before.Client() || c.Server() != before.Server() {
		t.Fatalf("the late packet's connection %+v is not the closed one %+v", c, before)
	}
	if st := tb.Stats(); st.Compacted != 0 || tb.shuts.keys.live != 0 {
		t.Errorf("stats %+v, %d Keys kept after the late packet, want none", st, tb.shuts.keys.live)
	}
	feed(tb, seg(7, 6*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, "")) // compacted again
	if st := tb.Stats(); st.Compacted != 1 || tb.shuts.keys.live != 1 {
		t.Fatalf("stats %+v, %d Keys kept: not compacted again", st, tb.shuts.keys.live)
	}
	feed(tb, seg(8, 30*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, "")) // and expired
	if st := tb.Stats(); st.Compacted != 0 || tb.shuts.keys.live != 0 || tb.find(&before.Key, tb.conns.Hash(&before.Key)) != 0 {
		t.Errorf("stats %+v, %d Keys kept after ClosedTimeout, want the record and its Key gone", st, tb.shuts.keys.live)
	}
}
