package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/pipeline"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// ladderFlags are the flags of ladder.
type ladderFlags struct {
	format string
	width  int
	view   viewFlags
}

func newLadderCmd() *cobra.Command {
	var lf ladderFlags
	cmd := &cobra.Command{
		Use:   "ladder [flags] FILE FRAME",
		Short: "Draw the packets around one RST of a capture file as a sequence diagram",
		Long: `Read a capture file as read does and draw the ladder of the RST at frame FRAME
(the frame number Wireshark shows): the connection's packets before the RST and
after it, client, server and, when the verdict says a middlebox sent the RST, a
middlebox between them; flags, seq and ack relative, payload length, TTL, the
time since the previous packet, the RST marked. Then a Wireshark display filter
for the connection and the verdict's evidence.

The table format draws it in text for a terminal, markdown as a Mermaid
sequenceDiagram (it renders in GitHub, GitLab and most wikis), html as an SVG in
a self-contained page.

Exit status: 0 when the ladder was drawn; 1 when the file could not be read or
FRAME is not a TCP RST of it; 2 for bad usage.`,
		Example: `  rstscope ladder incident.pcap 5
  rstscope ladder -o markdown incident.pcap 5 >> postmortem.md`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLadder(cmd, &lf, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&lf.format, "format", "o", "table", "output format: table, markdown or html")
	fl.IntVar(&lf.width, "width", 0, "table: fit every line into this many columns (default: the terminal's, else 160)")
	fl.StringVar(&lf.view.tz, "tz", "UTC", `time zone of the times shown: UTC, "local", or a name such as Europe/Paris`)
	return cmd
}

// ladderConfig is the analysis read runs with its default flags, so that
// the ladder shows the verdict read gives.
func ladderConfig() rstanalysis.Config {
	var af analysisFlags
	af.register(&cobra.Command{Use: "defaults"})
	af.hindsight = 2 * time.Minute // read's --hindsight default
	return af.config()
}

func runLadder(cmd *cobra.Command, lf *ladderFlags, args []string) error {
	format, err := report.ParseFormat(lf.format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	if format != report.FormatTable && format != report.FormatMarkdown && format != report.FormatHTML {
		return usagef("--format: a ladder is drawn in table, markdown or html, not %s", format)
	}
	if lf.width < 0 {
		return usagef("--width must not be negative (got %d)", lf.width)
	}
	if err := lf.view.check(); err != nil {
		return err
	}
	if len(args) != 2 {
		return usagef("want a capture file and a frame number, got %d arguments", len(args))
	}
	frame, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || frame == 0 {
		return usagef("bad frame %q: a frame number, from 1, as Wireshark shows it", args[1])
	}
	sink := &frameSink{frame: frame}
	name := args[0]
	in := pipeline.Input{Name: name, Open: func(ctx context.Context) (pipeline.Source, error) {
		return pipeline.OpenFile(ctx, name, cmd.InOrStdin(), capture.Options{})
	}}
	opts := pipeline.Options{Log: cmd.ErrOrStderr()}
	if err := runError(pipeline.Run(cmd.Context(), []pipeline.Input{in}, pipeline.NewAnalysis(ladderConfig(), 0), sink, opts)); err != nil {
		return err
	}
	if sink.v == nil {
		return fmt.Errorf("%s: frame %d is not a TCP RST (%s)", args[0], frame, sink.rstList())
	}
	width := lf.width
	if width == 0 {
		width = termWidth(cmd.OutOrStdout())
	}
	return report.WriteLadder(cmd.OutOrStdout(), format, sink.v, report.Options{Width: width, Location: lf.view.loc})
}

// frameSink keeps the verdict of one frame, and the first RST frames for
// an error message when that frame is not a RST.
type frameSink struct {
	frame uint64
	v     *rstanalysis.Verdict
	rsts  []uint64
	n     int
}

func (s *frameSink) Write(v *rstanalysis.Verdict) error {
	s.n++
	if len(s.rsts) < 8 {
		s.rsts = append(s.rsts, v.Frame)
	}
	if v.Frame == s.frame {
		c := *v // the pipeline reuses v: keep a copy of what the ladder reads
		c.Findings = slices.Clone(v.Findings)
		if v.Ladder != nil {
			l := *v.Ladder
			l.Segments = slices.Clone(v.Ladder.Segments)
			c.Ladder = &l
		}
		s.v = &c
	}
	return nil
}

func (s *frameSink) Close(report.Summary) error { return nil }

// rstList says where the file's RSTs are: "its RSTs are frames 5, 6, 7
// and 3 more".
func (s *frameSink) rstList() string {
	if s.n == 0 {
		return "the file holds none"
	}
	fs := make([]string, len(s.rsts))
	for i, f := range s.rsts {
		fs[i] = strconv.FormatUint(f, 10)
	}
	list := "its RSTs are frames " + strings.Join(fs, ", ")
	if more := s.n - len(s.rsts); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return list
}
