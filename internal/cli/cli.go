// Package cli is rstscope's command line: flag parsing, wiring of capture,
// rstanalysis and report, progress and exit codes. The work itself lives in
// those packages; this one only connects them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// Exit codes.
const (
	ExitOK      = 0 // every input was read to its end
	ExitFailure = 1 // an input could not be opened or was damaged; results for what was read are printed
	ExitUsage   = 2 // bad flags or arguments
)

// usageError marks errors in how rstscope was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Main runs rstscope with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:   "rstscope",
		Short: "Who reset this TCP connection, at what point of the exchange, and why",
		Long: `rstscope reads a packet capture (or sniffs an interface), tracks every TCP
connection, and attributes every RST to the server, the client or a middlebox
(firewall, proxy, load balancer, NAT, injector), with the evidence: TTL and IP ID
against the sender's own packets, timing against the handshake RTT, sequence
numbers, packets that follow the RST, and the phase of the exchange.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newReadCmd(), newLiveCmd())
	root.CompletionOptions.DisableDefaultCmd = true

	err := root.ExecuteContext(ctx)
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rstscope: %v\nRun 'rstscope --help' for usage.\n", err)
		return ExitUsage
	case errors.Is(err, errReported):
		return ExitFailure
	}
	fmt.Fprintf(stderr, "rstscope: %v\n", err)
	return ExitFailure
}

// errReported is returned when the error was already printed as a warning
// and the results were printed.
var errReported = errors.New("reported")

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
	rows        int // read only: --rows (0 = every RST)
}

func (f *analysisFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "o", "table", "output format: table, markdown, csv or json (JSON Lines)")
	fl.StringVarP(&f.filter, "filter", "f", "", "BPF filter, tcpdump syntax (e.g. 'tcp port 443'); trailing arguments after -- work too")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "table and markdown: list every evidence line of every RST")
	fl.IntVar(&f.width, "width", 0, "table: fit rows into this many columns (default: the terminal's, else 160)")
	fl.BoolVar(&f.jsonSummary, "json-summary", false, "json: end with a {\"summary\":{...}} line")
	fl.DurationVar(&f.grace, "grace", 2*time.Second, "capture time a verdict waits for packets that follow its RST")
	fl.DurationVar(&f.idleGap, "idle-gap", time.Second, "shortest silence after which a connection counts as idle (and at least 20 handshake RTTs)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 10*time.Minute, "forget a connection after this much capture time without packets")
	fl.IntVar(&f.maxConns, "max-conns", 1_000_000, "track at most this many connections at once (least recently active evicted first)")
}

func (f *analysisFlags) config(file string) rstanalysis.Config {
	return rstanalysis.Config{Grace: f.grace, IdleGap: f.idleGap, File: file,
		IdleTimeout: f.idleTimeout, MaxConns: f.maxConns}
}

func (f *analysisFlags) writer(w io.Writer, stream bool) (report.Writer, error) {
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return nil, usageError{err}
	}
	if f.maxConns <= 0 || f.grace < 0 || f.idleGap < 0 || f.idleTimeout < 0 {
		return nil, usageError{errors.New("--max-conns must be positive and durations not negative")}
	}
	if f.rows < 0 {
		return nil, usageError{errors.New("--rows must be 0 (every RST) or more")}
	}
	maxRows := f.rows
	if maxRows == 0 {
		maxRows = -1 // report's "no cap"
	}
	return report.NewWriter(format, w, report.Options{Stream: stream, Verbose: f.verbose,
		Width: f.width, Summary: f.jsonSummary, MaxRows: maxRows}), nil
}
