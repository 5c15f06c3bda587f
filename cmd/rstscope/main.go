// Command rstscope tells who reset a TCP connection, at what point of the
// exchange, and why, from a capture file or a live interface.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/rstscope/rstscope/internal/cli"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The per-packet path allocates nothing and the connection table,
		// most of the heap, holds no pointers for the collector to scan, so
		// collections are rare and cheap and a tight heap target costs
		// little CPU: memory then follows the open connections closely
		// (override with GOGC).
		debug.SetGCPercent(10)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
