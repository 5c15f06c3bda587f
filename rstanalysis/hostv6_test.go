package rstanalysis

import (
	"encoding/binary"
	"testing"
)

// TestV6TableRoundTrip puts and updates the entries of more addresses than
// maxHosts, with a clear in the middle, and checks every entry against a
// map across the index's growth and the records' chunks. Among 2¹⁷
// addresses some share a whole 32-bit tag, so lookups that must compare the
// address are exercised too.
func TestV6TableRoundTrip(t *testing.T) {
	var tab v6Table
	want := map[[16]byte]hostPart{}
	addr := func(i int) [16]byte {
		var a [16]byte
		a[0], a[1] = 0x20, 0x01
		binary.BigEndian.PutUint32(a[12:], uint32(i*2654435761))
		return a
	}
	tags := map[uint32]int{}
	sharedTag := false
	check := func(step string) {
		t.Helper()
		if tab.n != len(want) {
			t.Fatalf("%s: %d records, want %d", step, tab.n, len(want))
		}
		for a, hp := range want {
			if got, ok := tab.get(&a); !ok || got != hp {
				t.Fatalf("%s: entry of %x = %+v (%v), want %+v", step, a, got, ok, hp)
			}
		}
	}
	const n = maxHosts
	for round := range 2 {
		for i := range n {
			a := addr(i + round*n/2)
			hp := hostPart{frame: uint64(i + 1), rtt: 1000, ttl: uint8(i), bits: hostFull}
			if i%3 == 0 {
				hp.frame += 7 // an update of an earlier put in the second round
			}
			tab.put(&a, hp)
			want[a] = hp
			if round == 0 {
				tag := v6Tag(&a)
				sharedTag = sharedTag || tags[tag] > 0
				tags[tag]++
			}
			if i%(n/4) == 0 {
				check("growing")
			}
		}
		check("full")
		if got, ok := tab.get(&[16]byte{0xfe, 0x80}); ok {
			t.Fatalf("entry of an address never put: %+v", got)
		}
		if round == 0 {
			tab.clear()
			clear(want)
			check("cleared")
		}
	}
	if !sharedTag {
		t.Error("no two addresses shared a tag: the lookups that compare addresses went untested")
	}
	if len(tab.index) != 2*maxHosts || len(tab.recs) != maxHosts/v6Chunk {
		t.Errorf("index of %d slots and %d chunks for %d records, want %d and %d", len(tab.index), len(tab.recs), tab.n, 2*maxHosts, maxHosts/v6Chunk)
	}
}
