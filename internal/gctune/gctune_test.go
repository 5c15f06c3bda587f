package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gogc returns the current GOGC without changing it.
func gogc() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// collectUntilTuned runs collections until the tuner has tuned after at
// least n of them; the cleanups that tune run on their own goroutine.
func collectUntilTuned(t *testing.T, tu *Tuner, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, c := tu.Percent(); c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tuner ran after fewer than %d collections in 10 s", n)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func readMetrics(names ...string) []uint64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]uint64, len(s))
	for i := range s {
		v[i] = s[i].Value.Uint64()
	}
	return v
}

// TestFloorSmallHeap: with a live heap below the floor, the heap target
// after a collection is the live heap plus the floor, not plus 10%; below
// the runtime's 4 MiB minimum heap it is the floor itself.
func TestFloorSmallHeap(t *testing.T) {
	defer debug.SetGCPercent(gogc())
	const floor = 64 << 20
	for _, held := range []int{0, 32 << 20} {
		live := make([]byte, held) // pointer-free: cheap to keep live
		tu := Floor(floor, 10)
		collectUntilTuned(t, tu, 2)

		p, _ := tu.Percent()
		if p <= 10 || gogc() != p {
			t.Fatalf("%d B held: GOGC = %d, tuner's percent %d: want the tuner's, above the minimum 10", held, gogc(), p)
		}
		v := readMetrics("/gc/heap/goal:bytes", "/gc/heap/live:bytes")
		goal, heap := v[0], v[1]
		want := uint64(floor)
		if held > 0 {
			want += heap
		}
		// The live heap may have moved a little since the tuner read it.
		if goal < want*9/10 || goal > want*11/10 {
			t.Errorf("%d B held: heap target %d B with %d B live, want about %d B", held, goal, heap, want)
		}
		tu.Stop()
		runtime.KeepAlive(live)
	}
}

// TestFloorLargeHeap: with a live heap far above the floor, GOGC stays at
// the minimum percent.
func TestFloorLargeHeap(t *testing.T) {
	defer debug.SetGCPercent(gogc())
	live := make([]byte, 256<<20) // pointer-free: cheap to keep live
	tu := Floor(1<<20, 25)
	defer tu.Stop()
	collectUntilTuned(t, tu, 2)
	if p, _ := tu.Percent(); p != 25 || gogc() != 25 {
		t.Errorf("GOGC = %d, tuner's percent %d with 256 MiB live and a 1 MiB floor: want 25", gogc(), p)
	}
	runtime.KeepAlive(live)
}

// TestStop hands GOGC back at the minimum percent, and later collections
// leave it there.
func TestStop(t *testing.T) {
	defer debug.SetGCPercent(gogc())
	tu := Floor(64<<20, 10)
	collectUntilTuned(t, tu, 1)
	if gogc() <= 10 {
		t.Fatalf("GOGC = %d before Stop: want above 10 with a 64 MiB floor", gogc())
	}
	tu.Stop()
	tu.Stop() // a second Stop is harmless
	for range 3 {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if gogc() != 10 {
		t.Errorf("GOGC = %d after Stop and 3 collections, want 10", gogc())
	}
}

func TestFloorPanics(t *testing.T) {
	for _, c := range []struct {
		floor   uint64
		percent int
	}{{0, 10}, {1 << 20, 0}, {1 << 20, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Floor(%d, %d) did not panic", c.floor, c.percent)
				}
			}()
			Floor(c.floor, c.percent)
		}()
	}
}
