//go:build !amd64

package flows

import "unsafe"

// prefetchSink keeps what prefetch6 loads.
var prefetchSink byte

// prefetch6 loads a byte of each of a to f, as Touch does, where the
// processor has no prefetch instruction the package uses.
func prefetch6(a, b, c, d, e, f unsafe.Pointer) {
	prefetchSink ^= *(*byte)(a) ^ *(*byte)(b) ^ *(*byte)(c) ^ *(*byte)(d) ^ *(*byte)(e) ^ *(*byte)(f)
}
