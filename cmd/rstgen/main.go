// Command rstgen writes a deterministic, realistic TCP capture for
// benchmarks and verdict checks at scale: interleaved connections with
// handshakes, HTTP/1.1 or TLS exchanges, FIN closes and every kind of reset
// that package gen knows (gen.Kind), plus an optional ground-truth TSV of its
// RSTs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/rstscope/rstscope/internal/gen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rstgen:", err)
		os.Exit(2)
	}
}

const usage = `Usage: rstgen [flags] -o FILE

Writes a generated TCP capture (Ethernet, microsecond pcap or pcapng) whose
connections end normally or in one of these resets:
  %s
The same flags always give a byte-identical file.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := gen.DefaultConfig()
	fs := flag.NewFlagSet("rstgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		kinds := ""
		for i, k := range gen.ResetKinds() {
			if i > 0 {
				kinds += ", "
			}
			kinds += k.String()
		}
		fmt.Fprintf(stderr, usage, kinds)
		fs.PrintDefaults()
	}
	var (
		cfg                     = def
		out, truth, mix, format string
		quiet                   bool
	)
	fs.IntVar(&cfg.Packets, "packets", def.Packets, "number of frames to write")
	fs.IntVar(&cfg.Concurrency, "concurrency", def.Concurrency, "connections open at once")
	fs.Uint64Var(&cfg.Seed, "seed", def.Seed, "random seed: same seed and flags, same file")
	fs.Float64Var(&cfg.IPv6, "ipv6", def.IPv6, "fraction of connections over IPv6, 0..1")
	fs.Float64Var(&cfg.Resets, "resets", def.Resets, "fraction of connections that end in a reset, 0..1")
	fs.StringVar(&mix, "mix", "", "relative weights of reset kinds as `KIND=WEIGHT,...`, e.g. refused=2,gfw=1 (default: all equal)")
	fs.DurationVar(&cfg.Span, "span", def.Span, "approximate capture duration (scales think times)")
	fs.StringVar(&format, "format", "pcap", "file format: pcap or pcapng")
	fs.IntVar(&cfg.Snaplen, "snaplen", def.Snaplen, fmt.Sprintf("keep the first `N` bytes of each frame, like tcpdump -s N: longer frames are cut, their records keep the original length; 0 = whole frames, else at least %d bytes (the longest header written)", gen.MinSnaplen))
	fs.StringVar(&out, "o", "", "capture file to write (`FILE`, - for stdout)")
	fs.StringVar(&truth, "truth", "", "write a TSV of every RST (frame, conn, kind, from, origin, phase, cause) to `FILE`")
	fs.BoolVar(&quiet, "q", false, "do not print the summary on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if out == "" {
		return errors.New("missing -o FILE (see -help)")
	}
	switch format {
	case "pcap":
		cfg.Format = gen.FormatPcap
	case "pcapng":
		cfg.Format = gen.FormatPcapNG
	default:
		return fmt.Errorf("unknown -format %q: use pcap or pcapng", format)
	}
	m, err := gen.ParseMix(mix)
	if err != nil {
		return err
	}
	cfg.Mix = m

	w, closeOut, err := create(out, stdout)
	if err != nil {
		return err
	}
	var tw io.Writer
	closeTruth := func() error { return nil }
	if truth != "" {
		if tw, closeTruth, err = create(truth, stdout); err != nil {
			closeOut()
			return err
		}
	}
	began := time.Now()
	cw := &countWriter{w: w}
	st, err := gen.Generate(ctx, cw, tw, cfg)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if cerr := closeTruth(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !quiet {
		snap := "whole frames"
		if cfg.Snaplen > 0 {
			snap = fmt.Sprintf("snaplen %d", cfg.Snaplen)
		}
		n := float64(max(st.Packets, 1))
		fmt.Fprintf(stderr, "rstgen: %d packets, %.1f MiB file (%.1f bytes per packet with record headers; frames average %.1f bytes captured, %s), %d connections, max %d open, %d RSTs, %v of traffic, written in %v\n",
			st.Packets, float64(cw.n)/(1<<20), float64(cw.n)/n, float64(st.Bytes)/n, snap,
			st.Connections, st.MaxOpen, st.RSTs,
			st.Duration.Round(time.Second), time.Since(began).Round(time.Millisecond))
	}
	return nil
}

// countWriter counts the bytes written through it: the capture file's size.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// create opens name for writing; "-" is stdout.
func create(name string, stdout io.Writer) (io.Writer, func() error, error) {
	if name == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, fmt.Errorf("create output: %w", err)
	}
	return f, f.Close, nil
}
