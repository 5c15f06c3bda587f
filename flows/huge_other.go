//go:build !linux

package flows

import "unsafe"

// Elsewhere than Linux, every slab array comes from the Go heap.
const (
	hugeAfter    = ^uintptr(0)
	hugeRegion   = 0
	hugeMinArray = 0
)

type hugeMem struct{}

func newHugeMem() *hugeMem { return &hugeMem{} }

func (m *hugeMem) take(uintptr) unsafe.Pointer { return nil }

func (m *hugeMem) mapBig(uintptr) []byte { return nil }

func (m *hugeMem) unmapBig([]byte) {}
