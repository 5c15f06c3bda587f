package flows

import (
	"math"
	"unsafe"
)

// slabSize is how many records are allocated at once: one allocation
// instead of 64, no rounding of each record up to a size class, and one
// pointer per 64 records in the slab list.
const slabSize = 64

// slab hands out records of type T by ref (from 1), allocated slabSize at a
// time and recycled through a free list, so that a table that has grown to
// its working size allocates nothing. T holds no pointer, so the slabs are
// memory the garbage collector does not scan.
type slab[T any] struct {
	s    []*[slabSize]T
	made uint32   // records handed out from s (the latest has ref made)
	free []uint32 // refs of recycled records
	live int      // records in use
	// mem gives the arrays of a slab past hugeAfter bytes (slab_linux.go);
	// nil until then.
	mem *hugeMem
}

// at returns the record with ref r (r ≥ 1).
//
// The array's element is reached by pointer arithmetic: indexing it
// (&s.s[r/slabSize][r%slabSize]) checks the array pointer for nil by
// loading its first byte, the first line of another record, often a cache
// miss of its own. The arrays in s are never nil.
func (s *slab[T]) at(r uint32) *T {
	r--
	var rec T
	return (*T)(unsafe.Add(unsafe.Pointer(s.s[r/slabSize]), uintptr(r%slabSize)*unsafe.Sizeof(rec)))
}

// alloc returns a zero record and its ref.
func (s *slab[T]) alloc() (r uint32, rec *T) {
	s.live++
	if n := len(s.free); n > 0 {
		r = s.free[n-1]
		s.free = s.free[:n-1]
		return r, s.at(r)
	}
	if s.made%slabSize == 0 {
		if s.made > math.MaxUint32/4-slabSize {
			// Refs carry a 2-bit kind in the index (handle).
			panic("flows: more records than a handle can number")
		}
		s.s = append(s.s, s.newArray())
	}
	s.made++
	return s.made, s.at(s.made)
}

// release clears record r and frees it.
func (s *slab[T]) release(r uint32) {
	var zero T
	*s.at(r) = zero
	s.live--
	s.free = append(s.free, r)
}

// has reports whether r is a ref the slab handed out.
func (s *slab[T]) has(r uint32) bool { return r >= 1 && r <= s.made }

// newArray returns a zero array for the slab: from the Go heap, except for
// a slab of large records (Conn) past its first hugeAfter bytes, whose
// arrays come from memory mapped in huge pages where the system has them
// (huge_linux.go).
func (s *slab[T]) newArray() *[slabSize]T {
	size := unsafe.Sizeof([slabSize]T{})
	if size < hugeMinArray || size > hugeRegion || uintptr(len(s.s))*size < hugeAfter {
		return new([slabSize]T)
	}
	if s.mem == nil {
		s.mem = newHugeMem()
	}
	if b := s.mem.take(size); b != nil {
		return (*[slabSize]T)(b)
	}
	return new([slabSize]T)
}
