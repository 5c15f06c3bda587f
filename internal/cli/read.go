package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

func newReadCmd() *cobra.Command {
	var af analysisFlags
	var noProgress bool
	var workers int
	var cpuProfile, memProfile string
	cmd := &cobra.Command{
		Use:   "read [flags] FILE... [-- FILTER]",
		Short: "Attribute every RST in capture files (pcap, pcapng, gzip; - for stdin)",
		Long: `Read capture files (classic pcap with µs or ns timestamps, pcapng, either
gzip-compressed; - for standard input) and print, for every TCP RST, who really
sent it (server, client, middlebox or unknown), the phase of the exchange, the
likely cause, a confidence and the evidence; then summaries by origin and cause
and by server endpoint. Each file is analysed on its own.

A BPF filter in tcpdump syntax may follow the files after --, or be given
with --filter.

Exit status: 0 when every input was read to its end, 1 when an input could not
be opened or was damaged (what was read before the damage is still reported,
and a warning says where the damage is), 2 for bad usage.`,
		Example: `  rstscope read incident.pcap
  rstscope read -o json incident.pcapng.gz | jq 'select(.origin=="middlebox")'
  tcpdump -i any -w - port 443 | rstscope read -
  rstscope read client.pcap server.pcap -- host 10.0.0.2 and tcp port 443`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("no capture file given (use - for standard input)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			files := args
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				files = args[:dash]
				if extra := strings.Join(args[dash:], " "); extra != "" {
					if af.filter != "" {
						return usageError{errors.New("give the filter either with --filter or after --, not both")}
					}
					af.filter = extra
				}
			}
			if len(files) == 0 {
				return usageError{errors.New("no capture file given (use - for standard input)")}
			}
			if af.width == 0 {
				af.width = termWidth(cmd.OutOrStdout())
			}
			w, err := af.writer(cmd.OutOrStdout(), false)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if memProfile != "" {
				defer writeHeapProfile(memProfile, cmd.ErrOrStderr())
			}
			if workers < 1 {
				return usageError{errors.New("--workers must be at least 1")}
			}
			r := reader{workers: workers, flags: &af, out: w, stderr: cmd.ErrOrStderr(), stdin: cmd.InOrStdin(),
				progress: !noProgress && isTerminal(cmd.ErrOrStderr())}
			return r.run(cmd.Context(), files)
		},
	}
	af.register(cmd)
	cmd.Flags().IntVar(&af.rows, "rows", 1000,
		"table and markdown: list at most this many RSTs, the first in capture order (the summaries count every one; 0 = all)")
	cmd.Flags().IntVarP(&workers, "workers", "j", min(runtime.NumCPU(), 8),
		"goroutines: one reads and decodes, the others analyse connections sharded by 5-tuple (1: all in one; the output is the same for any number)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for go tool pprof)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (allocations since the start) to this file at the end")
	_ = cmd.Flags().MarkHidden("memprofile")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no progress bar on stderr (it is shown only when stderr is a terminal)")
	return cmd
}

// writeHeapProfile writes the heap profile to path, reporting failure on stderr.
func writeHeapProfile(path string, stderr io.Writer) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "rstscope: memory profile: %v\n", err)
	}
}

// analyzer is one Analyzer or several behind a Sharded pipeline.
type analyzer interface {
	Packet(p *capture.Packet)
	Flush()
	Stats() rstanalysis.Stats
	Resets() uint64
}

// reader runs capture files through the analysis into a report.
type reader struct {
	workers  int
	flags    *analysisFlags
	out      report.Writer
	stderr   io.Writer
	stdin    io.Reader
	progress bool

	summary report.Summary
	werr    error // first error writing the report
}

func (r *reader) run(ctx context.Context, files []string) error {
	start := time.Now()
	failed, opened := false, 0
	for _, name := range files {
		r.summary.Inputs = append(r.summary.Inputs, name)
		ok, err := r.readFile(ctx, name, len(files) > 1)
		if ok {
			opened++
		}
		if err != nil {
			failed = true
			msg := err.Error()
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Path == name { // "x.pcap: no such file or directory"
				msg = pe.Path + ": " + pe.Err.Error()
			}
			if !strings.HasPrefix(msg, name) && name != "-" {
				msg = name + ": " + msg
			}
			r.summary.Warnings = append(r.summary.Warnings, msg)
			if ok { // read up to the damage: the results so far follow
				fmt.Fprintf(r.stderr, "rstscope: warning: %s\n", msg)
			} else {
				fmt.Fprintf(r.stderr, "rstscope: %s\n", msg)
			}
		}
		if r.werr != nil || ctx.Err() != nil {
			break
		}
	}
	if opened == 0 && ctx.Err() == nil {
		return errReported // nothing was read: the errors said it all
	}
	if ctx.Err() != nil && r.werr == nil {
		r.summary.Warnings = append(r.summary.Warnings, "interrupted: results cover the packets read so far")
	}
	r.summary.Elapsed = time.Since(start)
	if err := r.out.Close(r.summary); err != nil && r.werr == nil {
		r.werr = err
	}
	if r.werr != nil {
		return fmt.Errorf("writing the report: %w", r.werr)
	}
	if failed {
		return errReported
	}
	return nil
}

func (r *reader) emit(v *rstanalysis.Verdict) {
	if r.werr == nil {
		r.werr = r.out.Write(v)
	}
}

// readFile analyses one capture. opened says whether it could be opened as
// a capture; the error, if any, is why it could not, or why it stopped early.
func (r *reader) readFile(ctx context.Context, name string, several bool) (opened bool, err error) {
	var src capture.Source
	if name == "-" {
		src, err = capture.NewReader(r.stdin, "stdin", capture.Options{Filter: r.flags.filter})
	} else {
		src, err = capture.Open(name, capture.Options{Filter: r.flags.filter})
	}
	if err != nil {
		return false, err
	}
	defer src.Close()
	file := ""
	if several {
		file = name
	}
	var an analyzer
	if r.workers > 1 { // one goroutine reads and decodes, the others analyse
		an = rstanalysis.NewSharded(r.flags.config(file), r.workers-1, r.emit)
	} else {
		an = rstanalysis.New(r.flags.config(file), r.emit)
	}
	bar := r.newBar(src, name)
	started := time.Now()

	var p capture.Packet
	var readErr error
	for n := 0; ; n++ {
		if err := src.Next(&p); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		an.Packet(&p)
		if n&0xffff == 0 {
			if ctx.Err() != nil || r.werr != nil {
				break
			}
			if bar != nil {
				if secs := time.Since(started).Seconds(); secs > 0 {
					bar.Describe(fmt.Sprintf("%s %.2f M packets/s", name, float64(n)/secs/1e6))
				}
				_ = bar.Set64(src.Stats().Bytes)
			}
		}
	}
	an.Flush()
	if bar != nil {
		_ = bar.Finish()
		_ = bar.Clear()
	}
	st, ts := src.Stats(), an.Stats()
	r.summary.Frames += st.Frames
	r.summary.TCPPackets += st.TCP
	r.summary.Connections += ts.Conns
	r.summary.Evicted += ts.Evicted
	r.summary.MaxOpen = max(r.summary.MaxOpen, uint64(ts.MaxOpen))
	r.summary.RSTs += an.Resets()
	if st.Undecodable > 0 {
		r.summary.Warnings = append(r.summary.Warnings,
			fmt.Sprintf("%s: %d frames could not be decoded (truncated by the snap length or an unsupported link type)", name, st.Undecodable))
	}
	return true, readErr
}

// newBar returns a progress bar for src on stderr, or nil when there is no
// terminal to show it on or the size of the input is unknown.
func (r *reader) newBar(src capture.Source, name string) *progressbar.ProgressBar {
	if !r.progress {
		return nil
	}
	sized, ok := src.(interface{ Size() int64 })
	if !ok || sized.Size() <= 0 {
		return nil
	}
	return progressbar.NewOptions64(sized.Size(),
		progressbar.OptionSetWriter(r.stderr),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
			return cols
		}
	}
	return 0
}
