package rstanalysis

import (
	"math/rand/v2"
	"testing"

	"github.com/rstscope/rstscope/flows"
)

// TestSynTableMatchesMap puts, takes and clears random hashes in the SYN
// table and in a Go map alike, and wants the same answers: with hashes of
// four homes only, so that long runs wrap around the table and
// backward-shift deletion must move entries past the end, and with hash 0,
// which is kept as 1.
func TestSynTableMatchesMap(t *testing.T) {
	for _, spread := range []func(uint32) uint64{
		func(k uint32) uint64 { return tabMix(uint64(k)) },
		func(k uint32) uint64 { return uint64(k)<<32 | uint64(k%4)*64 + 250 },
	} {
		var tab synTable
		m := map[uint64]flows.Nanos{}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 200000 {
			h := spread(r.Uint32N(3000))
			switch op := r.IntN(10); {
			case op < 5:
				tab.put(h, flows.Nanos(i))
				m[h] = flows.Nanos(i)
			case op < 9:
				v, ok := tab.take(h)
				w, wok := m[h]
				delete(m, h)
				if v != w || ok != wok {
					t.Fatalf("op %d: take %x = %d, %v; the map had %d, %v", i, h, v, ok, w, wok)
				}
			case i%1000 == 0:
				tab.clear()
				clear(m)
			}
			if tab.n != len(m) {
				t.Fatalf("op %d: %d entries, the map %d", i, tab.n, len(m))
			}
		}
	}
	var tab synTable
	tab.put(0, 5)
	if v, ok := tab.take(0); !ok || v != 5 || tab.n != 0 {
		t.Errorf("hash 0: took %d, %v, %d left; want 5, true, 0", v, ok, tab.n)
	}
}
