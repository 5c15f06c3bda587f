// Command labnode is the lab's endpoint and on-path program: one binary with a
// subcommand per role, run inside a network namespace with `ip netns exec`.
//
//	labnode server   -listen ADDR:PORT -mode MODE       a TCP server that resets on purpose
//	labnode client   -connect ADDR:PORT -mode MODE      a TCP client that resets on purpose
//	labnode injector -client-if IF -server-if IF -port P -mode MODE
//	                                                    sniffs with AF_PACKET and forges RSTs
//	labnode relay    -a IF -b IF -delay D               an L2 delay line between two interfaces
//	labnode dial     -connect ADDR:PORT -n N            prints the median TCP connect time
//
// Every role writes one JSON object per event to stdout and exits non-zero on
// a setup error; the lab (package lab) starts, stops and reads them.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "labnode:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 {
		return fmt.Errorf("usage: labnode server|client|injector|relay|dial [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[2:]
	switch os.Args[1] {
	case "server":
		return runServer(ctx, args)
	case "client":
		return runClient(ctx, args)
	case "injector":
		return runInjector(ctx, args)
	case "relay":
		return runRelay(ctx, args)
	case "dial":
		return runDial(ctx, args)
	}
	return fmt.Errorf("unknown subcommand %q", os.Args[1])
}

// event writes one JSON line to stdout: what happened, with a timestamp.
func event(kind string, kv ...any) {
	m := map[string]any{"t": time.Now().UTC().Format(time.RFC3339Nano), "event": kind}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v := kv[i+1]
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		m[k] = v
	}
	b, _ := json.Marshal(m)
	os.Stdout.Write(append(b, '\n'))
}
