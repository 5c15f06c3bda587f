package main

import (
	"context"
	"flag"
	"time"
)

// runRelay bridges two interfaces at layer 2 and delays every frame by
// -delay in each direction, in order. It stands in for sch_netem, which this
// kernel lacks; it never touches the frames, so TTLs and checksums pass
// unchanged.
func runRelay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	a := fs.String("a", "", "first interface")
	b := fs.String("b", "", "second interface")
	delay := fs.Duration("delay", 10*time.Millisecond, "one-way delay")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ia, err := openRaw(*a, true)
	if err != nil {
		return err
	}
	ib, err := openRaw(*b, true)
	if err != nil {
		return err
	}
	defer ia.close()
	defer ib.close()
	errc := make(chan error, 2)
	go func() { errc <- pump(ctx, ia, ib, *delay) }()
	go func() { errc <- pump(ctx, ib, ia, *delay) }()
	event("relaying", "a", *a, "b", *b, "delay", delay.String())
	// Closing a socket does not wake a blocked recvfrom: return on
	// cancellation and let the process exit end the pumps.
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

type delayed struct {
	due   time.Time
	frame []byte
}

// pump copies frames received on in to out, each sent no sooner than delay
// after it arrived. One sender goroutine keeps the order.
func pump(ctx context.Context, in, out *rawIface, delay time.Duration) error {
	q := make(chan delayed, 8192)
	go func() {
		for d := range q {
			if w := time.Until(d.due); w > 0 {
				time.Sleep(w)
			}
			out.write(d.frame)
		}
	}()
	defer close(q)
	buf := make([]byte, 65536)
	for {
		n, outgoing, err := in.read(buf)
		if err != nil {
			return err
		}
		if outgoing {
			continue // our own writes on this interface
		}
		q <- delayed{due: time.Now().Add(delay), frame: append([]byte(nil), buf[:n]...)}
	}
}
