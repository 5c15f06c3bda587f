// Package cli is rstscope's command line: flags and arguments, their
// checks, the wiring of capture sources, the analysis and the report into
// internal/pipeline, and exit statuses. The work itself lives in those
// packages; this one only connects them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/pipeline"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// Exit codes.
const (
	ExitOK      = 0 // every input was read to its end
	ExitFailure = 1 // an input could not be opened or was damaged; results for what was read are printed
	ExitUsage   = 2 // bad command, flags or arguments: nothing was read
	// ExitInterrupted: a read was interrupted (SIGINT; 128 + the signal's
	// number for another, 143 for SIGTERM); results for what was read are
	// printed.
	ExitInterrupted = 130
)

// usageError marks errors in how rstscope was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errReported is returned when the error was already printed as a warning
// and the results were printed.
var errReported = errors.New("reported")

// Main runs rstscope with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	cmd, err := root.ExecuteContextC(ctx)
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		path := "rstscope"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "rstscope: %v\nRun '%s --help' for usage.\n", err, path)
		return ExitUsage
	case errors.Is(err, errReported):
		return ExitFailure
	case errors.Is(err, pipeline.ErrInterrupted): // already said, on stderr and in the summary
		var se *SignalError
		if errors.As(context.Cause(ctx), &se) {
			return se.ExitCode()
		}
		return ExitInterrupted
	}
	for _, line := range strings.Split(err.Error(), "\n") { // errors.Join: one input per line
		fmt.Fprintf(stderr, "rstscope: %s\n", line)
	}
	return ExitFailure
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rstscope",
		Short: "Who reset this TCP connection, at what point of the exchange, and why",
		Long: `rstscope reads a packet capture (or sniffs an interface), tracks every TCP
connection, and attributes every RST to the server, the client or a middlebox
(firewall, proxy, load balancer, NAT, injector), with the evidence: TTL and IP ID
against the sender's own packets, timing against the handshake RTT, sequence
numbers, packets that follow the RST, and the phase of the exchange.

Exit status: 0 on success, 1 when an input could not be read (or not to its
end), 2 for bad usage (an unknown command or flag, a bad value, a bad filter),
130 (143) when a read is interrupted by SIGINT (SIGTERM).`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			cmd.SuggestionsMinimumDistance = 2
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
			return usageError{errors.New(msg)}
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// Declared here so that cobra gives it no -v, which read and live use
	// for --verbose.
	root.Flags().Bool("version", false, "print the version, VCS revision and build time, and exit")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newReadCmd(), newLiveCmd(), newLadderCmd(), newVersionCmd())
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// runError turns the pipeline's error into the command's: usage for a
// filter libpcap rejects, errReported for a failure already printed.
func runError(err error) error {
	var ferr *capture.FilterError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrIncomplete):
		return errReported
	case errors.As(err, &ferr):
		return filterError(ferr, false)
	}
	return err
}

// filterError is the usage error for a filter libpcap cannot compile.
func filterError(ferr *capture.FilterError, fromFlag bool) error {
	if fromFlag {
		return usagef("--filter: bad filter %q: %v", ferr.Expr, ferr.Err)
	}
	return usagef("bad filter %q: %v", ferr.Expr, ferr.Err)
}

// checkFilter compiles expr, to reject a bad filter before reading.
func checkFilter(expr string, fromFlag bool) error {
	var ferr *capture.FilterError
	if err := capture.CheckFilter(expr); errors.As(err, &ferr) {
		return filterError(ferr, fromFlag)
	} else if err != nil {
		return usageError{err}
	}
	return nil
}

// analysisFlags are the flags read and live share.
type analysisFlags struct {
	format      string
	verbose     bool
	width       int
	jsonSummary bool
	grace       time.Duration
	idleGap     time.Duration
	idleTimeout time.Duration
	maxConns    int
	filter      string
	rows        int           // read only: --rows (0 = every event)
	hindsight   time.Duration // read only: --hindsight
	keepDups    bool
	view        viewFlags
}

func (f *analysisFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "o", "table", "output format: table, markdown, html, csv or json (JSON Lines)")
	fl.StringVarP(&f.filter, "filter", "f", "", "BPF filter, tcpdump syntax (e.g. 'tcp port 443'); it may also follow the other arguments")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "table, markdown, html: list every evidence line of every listed event")
	fl.IntVar(&f.width, "width", 0, "table: fit every line into this many columns (default: the terminal's, else 160)")
	fl.BoolVar(&f.jsonSummary, "json-summary", false, "json: end with a {\"summary\":{...}} line")
	fl.DurationVar(&f.grace, "grace", 2*time.Second, "capture time a verdict waits for packets that follow its RST (more than 0)")
	fl.DurationVar(&f.idleGap, "idle-gap", time.Second, "shortest silence after which a connection counts as idle (and at least 20 handshake RTTs)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 10*time.Minute, "forget a connection after this much capture time without packets")
	fl.BoolVar(&f.keepDups, "keep-duplicates", false, "analyse every copy of a packet recorded on two interfaces within 1 ms (as -i any records a forwarded packet); by default the copies are skipped and counted")
	fl.IntVar(&f.maxConns, "max-conns", 1_000_000, "track at most this many connections at once; when full, a closed connection is evicted first, else the oldest half-open one (a SYN unanswered), else the least recently active")
	f.view.register(fl)
}

// check returns a usage error naming the first flag whose value is out of
// range.
func (f *analysisFlags) check() error {
	if _, err := report.ParseFormat(f.format); err != nil {
		return usagef("--format: %v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--grace", f.grace}, {"--idle-gap", f.idleGap}, {"--idle-timeout", f.idleTimeout}} {
		if d.v <= 0 { // the analysis would take 0 for its default
			return usagef("%s must be positive (got %v)", d.name, d.v)
		}
	}
	if f.hindsight < 0 { // 0 is none
		return usagef("--hindsight must not be negative (got %v)", f.hindsight)
	}
	switch {
	case f.maxConns <= 0:
		return usagef("--max-conns must be positive (got %d)", f.maxConns)
	case f.rows < 0:
		return usagef("--rows must be 0 (every event) or more (got %d)", f.rows)
	case f.width < 0:
		return usagef("--width must not be negative (got %d)", f.width)
	}
	return f.view.check()
}

func (f *analysisFlags) config() rstanalysis.Config {
	return rstanalysis.Config{Grace: f.grace, IdleGap: f.idleGap, Hindsight: f.hindsight,
		IdleTimeout: f.idleTimeout, MaxConns: f.maxConns}
}

// writer returns the report writer on w; check must have passed.
func (f *analysisFlags) writer(w io.Writer, stream bool) report.Writer {
	format, _ := report.ParseFormat(f.format)
	if f.width == 0 {
		f.width = termWidth(w)
	}
	maxRows := f.rows
	if maxRows == 0 {
		maxRows = -1 // report's "no cap"
	}
	return report.NewWriter(format, w, report.Options{Stream: stream, Verbose: f.verbose,
		Width: f.width, Summary: f.jsonSummary, MaxRows: maxRows, RSTs: f.view.rsts,
		Filter: f.view.filter, Location: f.view.loc, Ladders: f.view.ladders})
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
