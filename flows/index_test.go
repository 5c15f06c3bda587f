package flows

import (
	"math/rand/v2"
	"testing"
)

// TestIndexAgainstMap runs random puts, gets and deletes on an index and a
// map side by side. Keys come from a small space so that deletions punch
// holes in long probe runs, and a second phase forces every entry to one
// home slot by giving all keys the same hash: the backward shift must keep
// every survivor reachable.
func TestIndexAgainstMap(t *testing.T) {
	for _, sameHash := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(1, 2))
		x := newIndex(NewHasher())
		ref := map[Key]handle{}
		keys := map[handle]Key{}
		hashOf := func(k *Key) uint64 {
			if sameHash {
				return 0x1235
			}
			return x.Hash(k)
		}
		n := 20000
		if sameHash {
			n = 3000 // every probe is linear in the table's population
		}
		for i := range n {
			var k Key
			k.LoAddr[15] = byte(rng.IntN(40))
			k.LoPort = uint16(rng.IntN(100))
			h := hashOf(&k)
			switch got := x.get(&k, h, keys); {
			case got != ref[k]:
				t.Fatalf("sameHash=%v step %d: get(%v) = %d, want %d", sameHash, i, k, got, ref[k])
			case got == 0:
				c := handle(i + 1)
				if i%3 == 0 {
					c |= kindShut
				}
				x.put(c, h)
				ref[k], keys[c] = c, k
			case rng.IntN(2) == 0:
				x.del(got, h)
				delete(ref, k)
			}
			if x.n != len(ref) {
				t.Fatalf("step %d: %d entries, want %d", i, x.n, len(ref))
			}
		}
		seen := 0
		x.each(func(c handle) {
			if ref[keys[c]] != c {
				t.Fatalf("each gave %v, not in the reference", keys[c])
			}
			seen++
		})
		if seen != len(ref) {
			t.Fatalf("each gave %d connections, want %d", seen, len(ref))
		}
	}
}

// TestIndexHashSpreads checks that keys differing in one field only land in
// different home slots: the hash reads every byte of the key.
func TestIndexHashSpreads(t *testing.T) {
	x := newIndex(NewHasher())
	homes := map[uint64]bool{}
	const n = 4096
	for i := range n {
		var k Key // 1024 keys varying in each of four fields
		v := i/4 + 1
		switch i % 4 {
		case 0:
			k.LoAddr[14], k.LoAddr[15] = byte(v>>8), byte(v)
		case 1:
			k.HiAddr[6], k.HiAddr[7] = byte(v>>8), byte(v)
		case 2:
			k.LoPort = uint16(v)
		case 3:
			k.HiPort = uint16(v)
		}
		homes[x.Hash(&k)>>7&(1<<16-1)] = true
	}
	// 4096 random keys in 65536 slots fill about 3970 of them.
	if len(homes) < 3850 {
		t.Errorf("%d keys hit only %d of 65536 home slots", n, len(homes))
	}
}

// get is Table.find over an index alone, with the keys in a map.
func (x *index) get(k *Key, h uint64, keys map[handle]Key) handle {
	if x.slots == nil {
		return 0
	}
	mask := uint64(len(x.slots) - 1)
	for i := uint64(tagOf(h)) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.x == 0 {
			return 0
		}
		if kk := keys[s.x]; s.h == tagOf(h) && kk.equal(k) {
			return s.x
		}
	}
}
