package flows

import "unsafe"

// prefetch6 asks the processor to bring the cache lines of a to f into its
// caches, without waiting for them (PREFETCHT0, prefetch_amd64.s).
//
//go:noescape
func prefetch6(a, b, c, d, e, f unsafe.Pointer)
