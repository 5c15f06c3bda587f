//go:build !linux

package flows

import "unsafe"

// Elsewhere than Linux, the same sizes as on Linux, but hugeMem maps
// nothing: every slab array and index comes from the Go heap.
const (
	hugeAfter    = 2 << 20
	hugeRegion   = 2 << 20
	hugeMinArray = 32 << 10
)

type hugeMem struct{}

func newHugeMem() *hugeMem { return &hugeMem{} }

func (m *hugeMem) take(uintptr) unsafe.Pointer { return nil }

func (m *hugeMem) mapBig(uintptr) []byte { return nil }

func (m *hugeMem) unmapBig([]byte) {}
