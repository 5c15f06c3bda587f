package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/metrics"
	"github.com/rstscope/rstscope/internal/pipeline"
)

// liveFlags are the flags of live only.
type liveFlags struct {
	iface    string
	snaplen  int
	promisc  bool
	duration time.Duration
	count    uint64
	write    string
	noStatus bool
	kernel   string
	metrics  string
	bufferKB int
	revise   time.Duration
}

// Tuning of the live pipeline.
const (
	// liveQueue is how many packets the capture goroutine may read ahead of
	// the analysis: the buffer between libpcap and the Analyzer.
	liveQueue = 256
	// tickEvery is how often verdicts are released by wall-clock time and
	// the status line is redrawn.
	tickEvery = 500 * time.Millisecond
	// maxSnapLen is libpcap's MAXIMUM_SNAPLEN: it silently caps a larger
	// snap length to this.
	maxSnapLen = 262144
	// liveBufferKB is the default kernel buffer, in KiB: four times
	// libpcap's, which dropped 0.05% of the benchmark capture replayed at
	// 190k packets/s where tcpdump dropped none (docs/performance.md).
	liveBufferKB = 8 << 10
)

func newLiveCmd() *cobra.Command {
	var af analysisFlags
	var lf liveFlags
	cmd := &cobra.Command{
		Use:   "live -i IFACE [flags] [FILTER...]",
		Short: "Sniff an interface through libpcap and report resets as they happen",
		Long: `Capture on a network interface (libpcap; "any" for all of them) and print,
for every TCP RST, who really sent it, the phase, the likely cause and the
evidence, as soon as the verdict is final: --grace after the RST, in capture
time or wall-clock time, whichever comes first. Stop with Ctrl-C (or SIGTERM),
--duration or --count: pending verdicts are decided and the summary tables
printed.

A verdict whose claimed sender had shown no packet of its own (a refused
SYN to a server not seen before) is revised when a later connection, within
--revise, shows that host's TTL or RTT: it is written again with
"revision": n in JSON, as a "revised:" line in the table, and the summary
counts the RST once, by its latest verdict.

Needs root or CAP_NET_RAW. The snap length (default 512 bytes) keeps every
header and the first bytes of each request; the kernel filters with the BPF
filter, as tcpdump does: every argument is part of it (-- before it is
optional), or give it with --filter. A filter libpcap cannot compile is
reported before the capture starts.

While it runs, a status line on stderr (when stderr is a terminal) shows
packets seen, packets the kernel dropped, open connections, and resets by
origin. --write saves the frames of every reset connection (its latest
frames before the RST, the RST, and what follows) to a pcap file.

On the server itself, the kernel says why it sent each RST: rstscope reads
the tracepoints tcp:tcp_send_reset and tcp:tcp_receive_reset (Linux 6.10 or
later, tracefs, root) and adds the kernel's reason to the verdict
(kernel.abort_on_close: the application closed the socket with unread
data), or says that a RST left this host without its TCP stack (its
firewall's REJECT). Where the tracepoints cannot be read, one line says so
and the capture goes on; --kernel=off skips them. --metrics serves
Prometheus metrics (RSTs by origin, cause, phase, vantage and port; the
kernel's reasons; packets, drops, connections) on ADDR/metrics.

Exit status: 0 when stopped by a signal, --duration or --count; 1 when the
capture could not start or failed (the interface went down: the summary so
far is printed); 2 for bad usage: an unknown flag, a value out of range, a
bad filter. A second signal exits at once (130 for SIGINT, 143 for SIGTERM),
without the summary.`,
		Example: `  rstscope live -i eth0 tcp port 443
  rstscope live -i any -o json | jq 'select(.origin=="middlebox")'
  rstscope live -i eth0 --write resets.pcap --duration 10m -- port 443 or port 80
  rstscope live -i eth0 --metrics :10780 -o json >> /var/log/rstscope.jsonl`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLive(cmd, &af, &lf, args)
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&lf.iface, "interface", "i", "", `interface to capture on; "any" captures on all of them`)
	fl.IntVarP(&lf.snaplen, "snaplen", "s", capture.DefaultSnapLen,
		"bytes of each frame to capture: headers and the first payload bytes (at most 262144, libpcap's maximum)")
	fl.BoolVarP(&lf.promisc, "promisc", "p", false, "put the interface in promiscuous mode")
	fl.IntVarP(&lf.bufferKB, "buffer-size", "B", liveBufferKB, "kernel buffer for frames not read yet, in KiB, as tcpdump -B (0: libpcap's, 2 MiB on Linux)")
	fl.DurationVar(&lf.duration, "duration", 0, "stop after this long (e.g. 30s, 10m); 0: until interrupted")
	fl.Uint64VarP(&lf.count, "count", "c", 0, "stop after this many TCP packets; 0: no limit")
	fl.StringVarP(&lf.write, "write", "w", "", "save the frames of every reset connection to this pcap file")
	fl.BoolVar(&lf.noStatus, "no-status", false, "no status line on stderr (it is shown only when stderr is a terminal)")
	fl.StringVar(&lf.kernel, "kernel", pipeline.KernelAuto, "the kernel's reason for each RST of this host (tracepoints): auto, on (or fail) or off")
	fl.DurationVar(&lf.revise, "revise", 30*time.Second, "capture time a verdict whose sender showed no packet of its own stays open to a revision, when a later connection shows that host (0: none)")
	fl.StringVar(&lf.metrics, "metrics", "", "serve Prometheus metrics on this address (\":10780\", \"127.0.0.1:10780\") at /metrics")
	return cmd
}

// check returns a usage error naming the first flag out of range, or the
// filter libpcap rejects: every argument is the filter, as with tcpdump.
func (lf *liveFlags) check(af *analysisFlags, args []string) error {
	if err := af.check(); err != nil {
		return err
	}
	switch {
	case lf.snaplen < 0:
		return usagef("--snaplen must not be negative (got %d)", lf.snaplen)
	case lf.snaplen > maxSnapLen:
		return usagef("--snaplen must be at most %d bytes, libpcap's maximum (got %d)", maxSnapLen, lf.snaplen)
	case lf.duration < 0:
		return usagef("--duration must not be negative (got %v)", lf.duration)
	case lf.revise < 0:
		return usagef("--revise must not be negative (got %v)", lf.revise)
	case lf.kernel != pipeline.KernelAuto && lf.kernel != pipeline.KernelOn && lf.kernel != pipeline.KernelOff:
		return usagef("--kernel must be auto, on or off (got %q)", lf.kernel)
	case lf.bufferKB < 0 || lf.bufferKB >= 1<<21: // libpcap takes an int of bytes
		return usagef("--buffer-size must be 0 (libpcap's default) or a size in KiB under 2 GiB (got %d)", lf.bufferKB)
	}
	if extra := strings.Join(args, " "); extra != "" {
		if af.filter != "" {
			return usagef("give the filter either with --filter or after --, not both")
		}
		if err := checkFilter(extra, false); err != nil {
			return err
		}
		af.filter = extra
	} else if err := checkFilter(af.filter, true); err != nil {
		return err
	}
	if lf.iface == "" {
		return usagef("no interface given: -i IFACE (\"any\" for all of them)")
	}
	return nil
}

// runLive opens the capture, then runs it through the pipeline until it is
// stopped.
func runLive(cmd *cobra.Command, af *analysisFlags, lf *liveFlags, args []string) error {
	if err := lf.check(af, args); err != nil {
		return err
	}
	snap := lf.snaplen
	if snap == 0 {
		snap = capture.DefaultSnapLen
	}
	src, err := capture.OpenLive(capture.LiveOptions{Interface: lf.iface, SnapLen: snap,
		Promisc: lf.promisc, Filter: af.filter, KeepDuplicates: af.keepDups,
		BufferSize: lf.bufferKB << 10})
	if err != nil {
		var ferr *capture.FilterError
		if errors.As(err, &ferr) { // compiles for Ethernet, not for this link type
			return filterError(ferr, false)
		}
		return err
	}
	stderr := cmd.ErrOrStderr()
	opts := pipeline.Options{Log: stderr, ReadAhead: liveQueue, Tick: tickEvery, Watch: lf.iface,
		Count: lf.count, Duration: lf.duration, CancelEnds: true,
		Status: !lf.noStatus && isTerminal(stderr), StatusWidth: termWidth(stderr)}
	cfg := af.config()
	cfg.Revise = lf.revise
	wit, err := pipeline.OpenKernel(lf.kernel, stderr, af.grace)
	if err != nil {
		src.Close()
		return err
	}
	if wit != nil {
		defer wit.Close()
		cfg.Witness, opts.Notes = wit, pipeline.KernelNotes(wit)
	}
	if lf.metrics != "" {
		m := metrics.New(metrics.Config{})
		m.Kernel(wit)
		srv, err := metrics.Serve(lf.metrics, m)
		if err != nil {
			src.Close()
			return err
		}
		defer srv.Close()
		opts.Observer = m
		fmt.Fprintf(stderr, "rstscope: metrics on http://%s/metrics\n", srv.Addr())
	}
	var kf *pipeline.KeepFile
	if lf.write != "" {
		if kf, err = pipeline.CreateKeepFile(lf.write, src.LinkType(), snap); err != nil {
			src.Close()
			return err
		}
		opts.Save = kf
	}
	// Like tcpdump's "listening on": says the capture runs, and on what.
	fmt.Fprintf(stderr, "rstscope: capturing on %s, link type %s, snap length %d bytes; Ctrl-C to stop\n",
		lf.iface, src.LinkType(), snap)

	in := pipeline.Input{Name: "interface " + lf.iface, ErrorsNamed: true,
		Open: func(context.Context) (pipeline.Source, error) { return src, nil }}
	var sp span
	err = pipeline.Run(cmd.Context(), []pipeline.Input{in}, sp.analysis(pipeline.NewAnalysis(cfg, 0)),
		sp.sink(af.writer(cmd.OutOrStdout(), true)), opts)
	if kf != nil {
		ks := kf.Stats()
		fmt.Fprintf(stderr, "rstscope: saved %d frames of %d reset connections to %s\n", ks.Frames, ks.Reset, lf.write)
	}
	return runError(err)
}
