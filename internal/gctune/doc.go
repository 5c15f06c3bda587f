// Package gctune sets the garbage collector's heap target for rstscope's
// allocation pattern: a live heap that grows with the number of open
// connections (pointer-free slabs, cheap to mark) and a slow trickle of
// short-lived garbage (one verdict per RST).
//
// A plain GOGC cannot serve both ends. A low GOGC keeps memory close to the
// open connections once the table is large, but while the table grows from
// nothing it runs a collection every few hundred kilobytes: 40 of the 52
// collections of a 5-million-packet read at GOGC=10 came in its first
// 0.5 s, and with two busy goroutines on two cores every one of them takes
// processor time from the pipeline. A high GOGC does the opposite. Floor
// keeps GOGC low but never lets the heap target come closer than a fixed
// number of bytes to the live heap, so that the collector runs about once
// per floor of allocation at every heap size.
package gctune
