//go:build !amd64

package rstanalysis

import "unsafe"

// prefetchw2 does nothing where there is no assembly for it: the stores
// that follow fetch their lines themselves.
func prefetchw2(a, b unsafe.Pointer) {}
