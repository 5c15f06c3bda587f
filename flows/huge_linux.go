package flows

import (
	"runtime"
	"syscall"
	"unsafe"
)

// A table's slabs hold tens of megabytes of records looked up in random
// order: with 4 KiB pages nearly every packet's connection is a TLB miss,
// and the first touch of each page a page fault. Past hugeAfter bytes, a
// slab's arrays are cut from 2 MiB-aligned regions mapped outside the Go
// heap and advised for transparent huge pages (madvise(2) MADV_HUGEPAGE;
// where the system does not give them, they are ordinary pages). Records
// hold no pointer (see Conn), so the collector need not see this memory;
// the regions are unmapped when the slab's hugeMem is collected, which is
// when its table is: a Conn must not be used after its table is gone.
//
// Only slabs of arrays of hugeMinArray bytes or more (Conn's 64 KiB) take
// huge pages: each slab's latest region is partly unused, up to 2 MiB.
const (
	hugeAfter    = 2 << 20
	hugeRegion   = 2 << 20
	hugeMinArray = 32 << 10
)

// hugeMem hands out memory from 2 MiB regions.
type hugeMem struct {
	left []byte    // what remains of the latest region
	maps *[][]byte // the mappings, unmapped by a cleanup on the hugeMem
}

func newHugeMem() *hugeMem {
	m := &hugeMem{maps: new([][]byte)}
	runtime.AddCleanup(m, func(maps *[][]byte) {
		for _, b := range *maps {
			_ = syscall.Munmap(b)
		}
	}, m.maps)
	return m
}

// take returns size zero bytes (at most hugeRegion), or nil if the system
// maps none.
func (m *hugeMem) take(size uintptr) unsafe.Pointer {
	if uintptr(len(m.left)) < size {
		b, err := syscall.Mmap(-1, 0, 2*hugeRegion, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			return nil
		}
		*m.maps = append(*m.maps, b)
		off := (hugeRegion - int(uintptr(unsafe.Pointer(&b[0]))%hugeRegion)) % hugeRegion
		m.left = b[off : off+hugeRegion]
		_ = syscall.Madvise(m.left, 14) // MADV_HUGEPAGE
	}
	p := unsafe.Pointer(&m.left[0])
	m.left = m.left[size:]
	return p
}

// mapBig returns size bytes (a multiple of hugeRegion) of zero memory of
// its own mapping in huge pages, or nil if the system maps none; unmapBig
// gives it back.
func (m *hugeMem) mapBig(size uintptr) []byte {
	b, err := syscall.Mmap(-1, 0, int(size+hugeRegion), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	*m.maps = append(*m.maps, b)
	off := (hugeRegion - uintptr(unsafe.Pointer(&b[0]))%hugeRegion) % hugeRegion
	r := b[off : off+size]
	_ = syscall.Madvise(r, 14) // MADV_HUGEPAGE
	return r
}

// unmapBig unmaps the mapping of r, which mapBig returned.
func (m *hugeMem) unmapBig(r []byte) {
	p := uintptr(unsafe.Pointer(&r[0]))
	for i, b := range *m.maps {
		if lo := uintptr(unsafe.Pointer(&b[0])); p >= lo && p < lo+uintptr(len(b)) {
			_ = syscall.Munmap(b)
			*m.maps = append((*m.maps)[:i], (*m.maps)[i+1:]...)
			return
		}
	}
}
