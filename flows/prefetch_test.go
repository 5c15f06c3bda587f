package flows

import (
	"fmt"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestPrefetchFindsEveryKind checks that Prefetch and Touch find the index
// slot of a whole connection, a half-open record and a compact closed
// record (the slot's tag, where Prefetch leaves its lines to the
// processor), and nothing for a key the table does not hold or an empty
// table, without changing the table.
func TestPrefetchFindsEveryKind(t *testing.T) {
	tab := NewTable(Config{})
	var none Key
	none.From(seg(1, 0, "10.9.9.9:1", sv, capture.SYN, 1, 0, ""))
	if got := tab.Prefetch(&none, tab.conns.Hash(&none)); got != 0 {
		t.Fatalf("empty table: Prefetch = %d, want 0", got)
	}
	var keys []Key
	var frame uint64 = 1
	for i := range 300 {
		ps := exchange(uint16(20000+i), time.Duration(i)*time.Millisecond, frame)
		frame += uint64(len(ps))
		switch i % 3 {
		case 0: // whole, open
			feed(tab, ps[:5]...)
		case 1: // half-open: a SYN alone
			feed(tab, ps[0])
		case 2: // closed, then shrunk once quiet
			feed(tab, ps...)
		}
		keys = append(keys, KeyOf(ps[0]))
	}
	feed(tab, seg(frame, 10*time.Second, "10.9.9.8:1", sv, capture.ACK, 1, 1, ""))
	st := tab.Stats()
	if st.HalfOpen == 0 || st.Compacted == 0 || st.Open == st.HalfOpen+st.Compacted {
		t.Fatalf("want every kind of record: %+v", st)
	}
	before := tab.Stats()
	for i, k := range keys {
		h := tab.conns.Hash(&k)
		if got, want := tab.Prefetch(&k, h), uint64(tagOf(h)); got != want {
			t.Fatalf("key %d: Prefetch = %d, want its tag %d", i, got, want)
		}
		if tab.Touch(&k, h) == 0 {
			t.Fatalf("key %d: Touch found nothing", i)
		}
	}
	for i := range 1000 {
		var k Key
		k.From(seg(1, 0, fmt.Sprintf("10.8.%d.%d:9", i/256, i%256), sv, capture.ACK, 1, 1, ""))
		if got := tab.Prefetch(&k, tab.conns.Hash(&k)); got != 0 {
			t.Fatalf("absent key %d: Prefetch = %d, want 0", i, got)
		}
	}
	if after := tab.Stats(); after != before {
		t.Fatalf("Prefetch changed the table: %+v, then %+v", before, after)
	}
}
