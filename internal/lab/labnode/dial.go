package main

import (
	"context"
	"flag"
	"net"
	"slices"
	"time"
)

// runDial connects -n times and prints each connect time and the median: the
// handshake round trip, for the lab's check that the delay line holds.
func runDial(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	addr := fs.String("connect", "", "address:port")
	n := fs.Int("n", 5, "connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rtts []time.Duration
	for range *n {
		d := net.Dialer{Timeout: 2 * time.Second}
		start := time.Now()
		conn, err := d.DialContext(ctx, "tcp", *addr)
		if err != nil {
			return err
		}
		rtts = append(rtts, time.Since(start))
		conn.Close()
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(rtts)
	event("rtt", "median_us", rtts[len(rtts)/2].Microseconds(), "min_us", rtts[0].Microseconds(),
		"max_us", rtts[len(rtts)-1].Microseconds())
	return nil
}
