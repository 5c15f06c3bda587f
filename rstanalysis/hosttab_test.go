package rstanalysis

import (
	"math/rand/v2"
	"testing"
)

// TestTabMatchesMap puts, takes and clears random keys in a host table and
// in a Go map alike, and wants the same answers: with a hash that sends
// every key to one of four homes, so that long runs wrap around the table
// and backward-shift deletion must move entries past the end.
func TestTabMatchesMap(t *testing.T) {
	for _, hash := range []func(*uint32) uint64{
		func(k *uint32) uint64 { return tabMix(uint64(*k)) },
		func(k *uint32) uint64 { return uint64(*k%4)*64 + 250 },
	} {
		var tab []tabSlot[uint32, int]
		m := map[uint32]int{}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 200000 {
			k := r.Uint32N(3000)
			switch op := r.IntN(10); {
			case op < 5:
				tabPut(&tab, k, hash(&k), i, hash)
				m[k] = i
			case op < 9:
				v, ok := tabTake(&tab, k, hash(&k), hash)
				w, wok := m[k]
				delete(m, k)
				if v != w || ok != wok {
					t.Fatalf("op %d: take %d = %d, %v; the map had %d, %v", i, k, v, ok, w, wok)
				}
			case i%1000 == 0:
				tabClear(&tab)
				clear(m)
			}
			if len(tab) != len(m) {
				t.Fatalf("op %d: %d entries, the map %d", i, len(tab), len(m))
			}
			q := r.Uint32N(3000)
			v, ok := tabGet(tab, q, hash(&q))
			if w, wok := m[q]; v != w || ok != wok {
				t.Fatalf("op %d: get %d = %d, %v; the map has %d, %v", i, q, v, ok, w, wok)
			}
		}
	}
}
