// Command rstscope tells who reset a TCP connection, at what point of the
// exchange, and why, from a capture file or a live interface.
package main

import (
	"context"
	"os"

	"github.com/rstscope/rstscope/internal/cli"
	"github.com/rstscope/rstscope/internal/gctune"
)

// gcFloor is the least headroom, in bytes, that the collector's heap
// target keeps above the live heap. 12 MiB took the same time as 24 MiB
// on a 2M-packet capture (per-round ratios 0.99 with one worker, 1.02
// with two) for a peak 11 MiB lower (107 against 118 MiB); see
// docs/performance.md.
const gcFloor = 12 << 20

func main() {
	if os.Getenv("GOGC") == "" {
		// The per-packet path allocates nothing and the connection table,
		// most of the heap, holds no pointers for the collector to scan, so
		// a tight heap target (GOGC=10) costs little CPU once the table is
		// large and keeps memory close to the open connections. The floor
		// stops it collecting every few hundred kilobytes while the table
		// grows, which with two busy goroutines on two cores cost 7–10% of
		// a read's wall time (override with GOGC).
		gctune.Floor(gcFloor, 10)
	}
	// The first SIGINT or SIGTERM stops the run with its report, a second
	// one exits at once.
	ctx, stop := cli.NotifySignals(context.Background(), os.Stderr, os.Exit)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
