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
	if hugeRegion > 0 && tb.full.mem == nil {
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
