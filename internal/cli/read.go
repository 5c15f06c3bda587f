package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/pipeline"
)

// readFlags are the flags of read only.
type readFlags struct {
	noProgress bool
	workers    int
	cpuProfile string
	memProfile string
	vantages   []string
	separately bool
}

func newReadCmd() *cobra.Command {
	var af analysisFlags
	var rf readFlags
	cmd := &cobra.Command{
		Use:   "read [flags] FILE... [FILTER...]",
		Short: "Attribute every RST in capture files (pcap, pcapng, gzip; - for stdin)",
		Long: `Read capture files (classic pcap with µs or ns timestamps, pcapng, either
gzip-compressed; - for standard input) and print, for every TCP RST, who really
sent it (server, client, middlebox or unknown), the phase of the exchange, the
likely cause, a confidence and the evidence; then summaries by origin and cause
and by server endpoint.

Several files are read as captures of one incident taken at different places
(the client, the server, a router): each connection is matched across them
(through NAT too), each file's clock offset is estimated from the packets
they share, and each RST packet is judged once with every capture's evidence
(seen leaving its sender, or missing where its sender's capture covers the
moment). --vantage FILE=client|server|router says where a file was taken.
Files that share no packets (the files of a rotating capture, tcpdump -C or
-G, or unrelated captures) are reported one by one, as if read separately;
--separately skips the matching and writes each verdict as soon as it is
decided, with less memory.

A BPF filter in tcpdump syntax may follow the files, as with tcpdump -r: the
first argument that is neither an existing file nor - begins the filter, and
the remaining arguments are joined into it. After -- every argument is the
filter, whatever files exist; --filter gives it as a flag instead (then every
argument is a file). A filter libpcap cannot compile is reported before any
file is read.

Ctrl-C (SIGINT) or SIGTERM stops the read within a second: the RSTs read so
far are decided as far as their evidence goes and printed in capture order,
as many as 0.4 seconds allow; a warning counts those left undecided (a dense
burst of RSTs can leave hundreds of thousands) and says where the report
ends. A second signal exits at once, without the report.

Exit status: 0 when every input was read to its end; 1 when an input could
not be opened or was damaged (a missing file is reported before anything is
read; for a damaged one, what was read before the damage is still reported,
and a warning says where the damage is); 2 for bad usage: an unknown flag, a
value out of range, a bad filter, words after the files that are neither
files nor a filter; 130 when interrupted by SIGINT, 143 by SIGTERM (the
results so far are printed).`,
		Example: `  rstscope read incident.pcap
  rstscope read incident.pcap tcp port 8005
  rstscope read -o json incident.pcapng.gz | jq 'select(.origin=="middlebox")'
  tcpdump -i any -w - port 443 | rstscope read -
  rstscope read client.pcap server.pcap -- host 10.0.0.2 and tcp port 443`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRead(cmd, &af, &rf, args)
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&af.hindsight, "hindsight", 30*time.Second,
		"capture time a verdict whose sender showed no packet of its own waits to learn that host from later connections (0: none)")
	fl.IntVar(&af.rows, "rows", 50,
		"table, markdown, html: list at most this many reset events, per origin and cause the first and the latest, then spread in time (with --rsts: the first RSTs); the summaries count every one; 0 = all")
	fl.UintSliceVar(&af.view.frames, "ladder", nil, "table, markdown, html: add the ladder of the RST at this frame (repeatable, or comma-separated)")
	fl.IntVarP(&rf.workers, "workers", "j", 0,
		"goroutines: one reads, decodes and puts the verdicts in capture order, the others analyse the connections, sharded by 5-tuple (with 2, the reading one also analyses a tenth of them); 1: all in one; 0: one per core, up to 8; the output is the same for any number")
	fl.StringVar(&rf.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for go tool pprof)")
	_ = fl.MarkHidden("cpuprofile")
	fl.StringVar(&rf.memProfile, "memprofile", "", "write a heap profile (allocations since the start) to this file at the end")
	_ = fl.MarkHidden("memprofile")
	fl.StringArrayVar(&rf.vantages, "vantage", nil,
		"with several files: where FILE was captured, FILE=client|server|router (repeatable); overrides what the hop counts suggest")
	fl.BoolVar(&rf.separately, "separately", false,
		"with several files: read them one by one, not as captures of one incident (no matching across them)")
	fl.BoolVar(&rf.noProgress, "no-progress", false, "no progress bar on stderr (it is shown only when stderr is a terminal)")
	return cmd
}

// maxWorkers is the most goroutines --workers 0 starts: past 8 the reading
// goroutine, not the analysis, sets the pace.
const maxWorkers = 8

// runRead checks read's flags and arguments, then reads the files through
// the pipeline.
func runRead(cmd *cobra.Command, af *analysisFlags, rf *readFlags, args []string) error {
	if err := af.check(); err != nil {
		return err
	}
	switch {
	case rf.workers < 0:
		return usagef("--workers must be 0 (one per core) or more (got %d)", rf.workers)
	case rf.workers == 0:
		rf.workers = min(runtime.NumCPU(), maxWorkers)
	}
	files, filter, err := readArgs(args, cmd.ArgsLenAtDash(), af.filter)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	if rf.cpuProfile != "" {
		stop, err := startCPUProfile(rf.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if rf.memProfile != "" {
		defer writeHeapProfile(rf.memProfile, stderr)
	}
	inputs := make([]pipeline.Input, len(files))
	for i, name := range files {
		inputs[i] = pipeline.Input{Name: name, Open: func(ctx context.Context) (pipeline.Source, error) {
			return pipeline.OpenFile(ctx, name, cmd.InOrStdin(), capture.Options{Filter: filter, KeepDuplicates: af.keepDups})
		}}
	}
	roles, err := vantageRoles(rf.vantages, files)
	if err != nil {
		return err
	}
	opts := pipeline.Options{Log: stderr, Progress: !rf.noProgress && isTerminal(stderr), Joint: len(files) > 1 && !rf.separately, Roles: roles}
	var sp span
	analysis := sp.analysis(pipeline.NewAnalysis(af.config(), rf.workers-1)) // one goroutine reads and decodes
	return runError(pipeline.Run(cmd.Context(), inputs, analysis, sp.sink(af.writer(cmd.OutOrStdout(), false)), opts))
}

// startCPUProfile starts profiling the CPU into path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
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
