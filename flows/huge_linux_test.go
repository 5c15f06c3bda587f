package flows

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/rstscope/rstscope/capture"
)

// TestHugeSlab fills a table past hugeAfter bytes of connections, so that
// its later slab arrays come from the huge-page regions where the system
// maps them, and checks that every connection is found again whole, that
// recycled records come back zero, and that a dropped table's regions can
// be collected.
func TestHugeSlab(t *testing.T) {
	const conns = 3 * hugeAfter / 1024 // past hugeAfter bytes of Conns
	tb := NewTable(Config{})
	ids := make(map[string]uint64, conns)
	for i := range conns {
		cl := fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
		c, _ := tb.Step(seg(uint64(i+1), 0, cl, sv, capture.ACK|capture.PSH, 100, 500, "GET / HTTP/1.1\r\n"))
		ids[cl] = c.ID
	}
	if tb.full.mem == nil {
		t.Fatalf("%d connections: no huge-page memory taken", conns)
	}
	for i := range conns {
		cl := fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
		c, d := tb.Step(seg(uint64(conns+i+1), 0, sv, cl, capture.ACK, 500, 116, ""))
		if c.ID != ids[cl] || d != Server || c.Half[Client].Packets != 1 || c.Half[Server].Packets != 1 {
			t.Fatalf("%s: got conn %d (side %v, %d/%d packets), want %d", cl, c.ID, d, c.Half[Client].Packets, c.Half[Server].Packets, ids[cl])
		}
	}
	// Records freed and handed out again are zero.
	r := tb.full.made
	tb.full.release(r)
	if r2, c := tb.full.alloc(); r2 != r || *c != (Conn{}) {
		t.Fatalf("recycled record %d (want %d) is not zero", r2, r)
	}
	tb = nil
	runtime.GC() // the regions' cleanup may run; nothing refers to them
	runtime.GC()
}

// TestHugeIndex grows an index past hugeRegion bytes of slots, so that it
// moves into huge-page memory (where the system maps it) and then into a
// larger mapping, and checks that every entry is found again and the
// previous mapping was given back.
func TestHugeIndex(t *testing.T) {
	x := newIndex(NewHasher())
	keys := map[handle]Key{}
	const n = 400_000 // 524,288 slots of 8 bytes at 3/4: two mapped sizes
	for i := range n {
		var k Key
		k.LoAddr[12], k.LoAddr[13], k.LoAddr[14], k.LoAddr[15] = 10, byte(i>>16), byte(i>>8), byte(i)
		c := handle(i + 1)
		keys[c] = k
		x.put(c, x.Hash(&k))
	}
	if x.mapped == nil || len(*x.mem.maps) != 1 {
		t.Fatalf("%d slots: mapped %v, %d mappings, want the slots' one", len(x.slots), x.mapped != nil, len(*x.mem.maps))
	}
	for c, k := range keys {
		if got := x.get(&k, x.Hash(&k), keys); got != c {
			t.Fatalf("key %v: got %d, want %d", k, got, c)
		}
	}
}
