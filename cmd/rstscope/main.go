// Command rstscope tells who reset a TCP connection, at what point of the
// exchange, and why, from a capture file or a live interface.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rstscope/rstscope/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
