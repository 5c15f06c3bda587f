package rstanalysis

import "unsafe"

// prefetchw2 asks the processor for the 64-byte lines holding a and b in
// the state that lets this core write them (PREFETCHW, which AMD processors
// have had since the K6-2 and Intel's since Broadwell; older ones treat it
// as a no-op). Like any prefetch it retires at once and never faults.
//
//go:noescape
func prefetchw2(a, b unsafe.Pointer)
