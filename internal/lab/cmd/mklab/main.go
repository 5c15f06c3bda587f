// Command mklab runs the lab (as root) and refreshes the committed
// captures under testdata/lab: for every scenario the client's capture, the
// router's client-facing capture (pcapng, nanosecond timestamps), for the
// injector scenarios the server's capture, and for the NAT scenarios every
// vantage, each with its truth file. -run limits it to some scenarios and
// leaves the other files alone.
//
//	go run ./internal/lab/cmd/mklab -out testdata/lab
//	go run ./internal/lab/cmd/mklab -out testdata/lab -run '^nat-'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/rstscope/rstscope/internal/lab"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mklab:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("mklab", flag.ContinueOnError)
	out := fs.String("out", "testdata/lab", "directory for the selected captures and truth files")
	only := fs.String("run", "", "regexp: only the scenarios it matches")
	work := fs.String("work", "", "keep every capture of the run here (default: a temporary directory, removed)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("the lab needs root (network namespaces, iptables, AF_PACKET)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "mklab")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *work == "" {
		*work = tmp
	}
	labnode, err := lab.BuildLabnode(ctx, ".", tmp)
	if err != nil {
		return fmt.Errorf("%w (run mklab from the module root)", err)
	}
	topo, err := lab.BuildTopology(ctx, labnode)
	if err != nil {
		return err
	}
	defer topo.Close()
	results, err := topo.RunAll(ctx, lab.Scenarios(), *work, re.MatchString)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, r := range results {
		if len(r.Problems) > 0 {
			return fmt.Errorf("scenario %s did not run as designed: %q", r.Scenario.Name, r.Problems)
		}
		if err := lab.Export(r, *out); err != nil {
			return err
		}
		fmt.Printf("%s: %d RSTs at the client\n", r.Scenario.Name, len(r.Truth[lab.AtClient]))
	}
	return nil
}
