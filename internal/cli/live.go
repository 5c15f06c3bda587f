package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/keep"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
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
}

func newLiveCmd() *cobra.Command {
	var af analysisFlags
	var lf liveFlags
	cmd := &cobra.Command{
		Use:   "live -i IFACE [flags] [-- FILTER]",
		Short: "Sniff an interface through libpcap and report resets as they happen",
		Long: `Capture on a network interface (libpcap; "any" for all of them) and print,
for every TCP RST, who really sent it, the phase, the likely cause and the
evidence, as soon as the verdict is final: --grace after the RST, in capture
time or wall-clock time, whichever comes first. Stop with Ctrl-C (or SIGTERM),
--duration or --count: pending verdicts are decided and the summary tables
printed.

Needs root or CAP_NET_RAW. The snap length (default 512 bytes) keeps every
header and the first bytes of each request; the kernel filters with the BPF
filter given after -- or with --filter, as tcpdump does.

While it runs, a status line on stderr (when stderr is a terminal) shows
packets seen, packets the kernel dropped, open connections, and resets by
origin. --write saves the frames of every reset connection (its latest
frames before the RST, the RST, and what follows) to a pcap file.

Exit status: 0 when stopped by a signal, --duration or --count; 1 when the
capture could not start or failed (the interface went down: the summary so
far is printed); 2 for bad usage.`,
		Example: `  rstscope live -i eth0 -- tcp port 443
  rstscope live -i any -o json | jq 'select(.origin=="middlebox")'
  rstscope live -i eth0 --write resets.pcap --duration 10m -- port 443 or port 80`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Every argument is the filter, as with tcpdump; -- is optional.
			if extra := strings.Join(args, " "); extra != "" {
				if af.filter != "" {
					return usageError{errors.New("give the filter either with --filter or after --, not both")}
				}
				af.filter = extra
			}
			if lf.iface == "" {
				return usageError{errors.New("no interface given: -i IFACE (\"any\" for all of them)")}
			}
			if lf.snaplen < 0 || lf.duration < 0 {
				return usageError{errors.New("--snaplen and --duration must not be negative")}
			}
			if af.width == 0 {
				af.width = termWidth(cmd.OutOrStdout())
			}
			w, err := af.writer(cmd.OutOrStdout(), true)
			if err != nil {
				return err
			}
			l := &liveRun{af: &af, lf: &lf, out: w, stderr: cmd.ErrOrStderr()}
			if !lf.noStatus && isTerminal(cmd.ErrOrStderr()) {
				l.status = &statusLine{w: cmd.ErrOrStderr(), width: termWidth(cmd.ErrOrStderr())}
			}
			return l.run(cmd.Context())
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&lf.iface, "interface", "i", "", `interface to capture on; "any" captures on all of them`)
	fl.IntVarP(&lf.snaplen, "snaplen", "s", capture.DefaultSnapLen, "bytes of each frame to capture: headers and the first payload bytes")
	fl.BoolVarP(&lf.promisc, "promisc", "p", false, "put the interface in promiscuous mode")
	fl.DurationVar(&lf.duration, "duration", 0, "stop after this long (e.g. 30s, 10m); 0: until interrupted")
	fl.Uint64VarP(&lf.count, "count", "c", 0, "stop after this many TCP packets; 0: no limit")
	fl.StringVarP(&lf.write, "write", "w", "", "save the frames of every reset connection to this pcap file")
	fl.BoolVar(&lf.noStatus, "no-status", false, "no status line on stderr (it is shown only when stderr is a terminal)")
	return cmd
}

// Tuning of the live loop.
const (
	// liveQueue is how many packets the capture goroutine may read ahead of
	// the analysis: the buffer between libpcap and the Analyzer.
	liveQueue = 256
	// tickEvery is how often verdicts are released by wall-clock time and
	// the status line is redrawn.
	tickEvery = 500 * time.Millisecond
	// statsEvery is how often, in capture time, the capture goroutine
	// samples the source's counters (pcap_stats is a system call).
	statsEvery = 500 * time.Millisecond
)

// liveRun is one live capture: the capture goroutine reads packets into
// items; the run's own goroutine owns the Analyzer, the Keeper, the report
// and the status line, so none of them needs a lock.
type liveRun struct {
	af     *analysisFlags
	lf     *liveFlags
	out    report.Writer
	stderr io.Writer
	status *statusLine // nil: no terminal

	counts  liveCounts
	werr    error // first error writing the report
	keeper  *keep.Keeper
	keepErr error
}

// liveItem carries one packet from the capture goroutine to the analysis.
type liveItem struct {
	p        capture.Packet
	frame    []byte // a copy of the raw frame, with --write only
	ci       gopacket.CaptureInfo
	stats    capture.Stats // the source's counters, when hasStats
	hasStats bool
	err      error // the capture ended: io.EOF, or why it failed
}

func (l *liveRun) run(ctx context.Context) error {
	start := time.Now()
	snap := l.lf.snaplen
	if snap == 0 {
		snap = capture.DefaultSnapLen
	}
	src, err := capture.OpenLive(capture.LiveOptions{Interface: l.lf.iface, SnapLen: snap,
		Promisc: l.lf.promisc, Filter: l.af.filter})
	if err != nil {
		var ferr *capture.FilterError
		if errors.As(err, &ferr) {
			return usageError{err}
		}
		return err
	}
	defer src.Close()
	var kf *os.File
	if l.lf.write != "" {
		if kf, err = os.Create(l.lf.write); err != nil {
			return err
		}
		defer kf.Close()
		if l.keeper, err = keep.New(kf, src.LinkType(), snap, keep.Config{}); err != nil {
			return fmt.Errorf("%s: %w", l.lf.write, err)
		}
	}

	// Like tcpdump's "listening on": says the capture runs, and on what.
	fmt.Fprintf(l.stderr, "rstscope: capturing on %s, link type %s, snap length %d bytes; Ctrl-C to stop\n",
		l.lf.iface, src.LinkType(), snap)

	an := rstanalysis.New(l.af.config(""), l.emit)
	free, full := make(chan *liveItem, liveQueue), make(chan *liveItem, liveQueue)
	for range liveQueue {
		free <- new(liveItem)
	}
	go readLive(src, l.keeper != nil, l.lf.count, free, full)

	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	var timeout <-chan time.Time
	if l.lf.duration > 0 {
		t := time.NewTimer(l.lf.duration)
		defer t.Stop()
		timeout = t.C
	}
	done := ctx.Done()
	watch := newIfaceWatch(l.lf.iface)
	var capErr error // why the capture failed
loop:
	for {
		select {
		case it := <-full:
			if it.err != nil {
				if capErr == nil && !errors.Is(it.err, io.EOF) {
					capErr = it.err
				}
				break loop
			}
			l.packet(an, it)
			free <- it
		case now := <-tick.C:
			// Packets already read carry evidence older than now: let them
			// through first, their timestamps release verdicts too.
			if len(full) == 0 {
				an.Tick(now)
			}
			l.counts.open, l.counts.evicted, l.counts.expired = tableCounts(an)
			l.counts.pending = an.Pending()
			l.status.draw(&l.counts, time.Since(start))
			if capErr == nil && watch.down(now) {
				capErr = fmt.Errorf("capture on %s: %w", l.lf.iface, errInterfaceDown)
				src.Close()
			}
		case <-done: // Ctrl-C or SIGTERM: Next returns io.EOF once closed
			done = nil
			src.Close()
		case <-timeout:
			timeout = nil
			src.Close()
		}
		if l.werr != nil { // the report cannot be written: stop
			src.Close()
		}
	}
	src.Close()
	an.Flush()
	l.status.clear()

	// The capture goroutine has returned: the source's counters are ours.
	st, ts := src.Stats(), an.Stats()
	s := report.Summary{Inputs: []string{"interface " + l.lf.iface}, Frames: st.Frames, TCPPackets: st.TCP,
		Connections: ts.Conns, MaxOpen: uint64(ts.MaxOpen), Evicted: ts.Evicted, RSTs: an.Resets(), Dropped: st.Dropped + st.IfDropped,
		Elapsed: time.Since(start)}
	s.Warnings = liveWarnings(st, ts.Evicted, ts.Expired, ts.MaxOpen, l.af.maxConns)
	if capErr != nil {
		s.Warnings = append(s.Warnings, capErr.Error()+": results cover the packets read so far")
		fmt.Fprintf(l.stderr, "rstscope: %v\n", capErr)
	}
	if l.keeper != nil {
		if err := l.keeper.Flush(); err != nil && l.keepErr == nil {
			l.keepErr = err
		}
		if err := kf.Close(); err != nil && l.keepErr == nil {
			l.keepErr = fmt.Errorf("%w: %w", keep.ErrWrite, err)
		}
		if l.keepErr != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %v", l.lf.write, l.keepErr))
			capErr = errors.Join(capErr, l.keepErr)
		}
		ks := l.keeper.Stats()
		fmt.Fprintf(l.stderr, "rstscope: saved %d frames of %d reset connections to %s\n", ks.Frames, ks.Reset, l.lf.write)
	}
	if err := l.out.Close(s); err != nil && l.werr == nil {
		l.werr = err
	}
	if l.werr != nil {
		return fmt.Errorf("writing the report: %w", l.werr)
	}
	if capErr != nil {
		return errReported
	}
	return nil
}

// readLive is the capture goroutine: it reads packets from src into items
// taken from free and hands them over on full, until src ends (Close makes
// Next return io.EOF) or fails, or count packets were read; its last item
// carries the error. With frames it copies each raw frame, which src lends
// only until the next read.
func readLive(src *capture.Live, frames bool, count uint64, free <-chan *liveItem, full chan<- *liveItem) {
	var n uint64
	var sampled time.Time
	for {
		it := <-free
		it.hasStats = false
		if count > 0 && n == count {
			it.err = io.EOF
			full <- it
			return
		}
		if it.err = src.Next(&it.p); it.err != nil {
			full <- it
			return
		}
		n++
		if frames {
			data, ci, _ := src.LastFrame()
			it.frame = append(it.frame[:0], data...)
			it.ci = ci
		}
		if it.p.Time.Sub(sampled) >= statsEvery || n == 1 {
			sampled = it.p.Time
			it.stats, it.hasStats = src.Stats(), true
		}
		full <- it
	}
}

// packet gives one packet to the evidence ring and the analysis.
func (l *liveRun) packet(an *rstanalysis.Analyzer, it *liveItem) {
	if it.hasStats {
		l.counts.frames, l.counts.dropped = it.stats.Frames, it.stats.Dropped+it.stats.IfDropped
	} else if it.p.Frame > l.counts.frames {
		l.counts.frames = it.p.Frame
	}
	l.counts.tcp++
	if l.keeper != nil && l.keepErr == nil {
		if err := l.keeper.Add(&it.p, it.frame, it.ci); err != nil {
			l.keepErr = err
			l.status.clear()
			fmt.Fprintf(l.stderr, "rstscope: warning: %s: %v; no more frames will be saved\n", l.lf.write, err)
		}
	}
	an.Packet(&it.p)
}

// emit prints a verdict as it becomes final.
func (l *liveRun) emit(v *rstanalysis.Verdict) {
	if int(v.Origin) < len(l.counts.byOrigin) {
		l.counts.byOrigin[v.Origin]++
	}
	if l.werr == nil {
		l.status.clear()
		l.werr = l.out.Write(v)
	}
}

func tableCounts(an *rstanalysis.Analyzer) (open int, evicted, expired uint64) {
	ts := an.Stats()
	return ts.Open, ts.Evicted, ts.Expired
}

// liveWarnings are the summary's notes about what the capture could not
// see or keep.
func liveWarnings(st capture.Stats, evicted, expired uint64, maxOpen, maxConns int) []string {
	var w []string
	if d := st.Dropped + st.IfDropped; d > 0 {
		w = append(w, fmt.Sprintf("the kernel dropped %d frames (%d by the interface): verdicts may lack evidence; "+
			"narrow the filter or lower --snaplen", d, st.IfDropped))
	}
	if evicted > 0 {
		w = append(w, fmt.Sprintf("%d connections evicted (table full at --max-conns %d, at most %d tracked at once; %d expired): "+
			"a RST on an evicted connection is judged without its history", evicted, maxConns, maxOpen, expired))
	}
	return w
}
