package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/gen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, truth := filepath.Join(dir, "x.pcap"), filepath.Join(dir, "x.tsv")
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // substring; "" = success
		isHelp  bool
	}{
		{"help", []string{"-help"}, "", true},
		{"missing output", []string{"-packets", "10"}, "missing -o", false},
		{"bad format", []string{"-o", out, "-format", "erf"}, "unknown -format", false},
		{"bad mix", []string{"-o", out, "-mix", "teleport=1"}, "unknown reset kind", false},
		{"stray argument", []string{"-o", out, "extra"}, "unexpected argument", false},
		{"writes capture and truth", []string{"-packets", "3000", "-concurrency", "50", "-resets", "1", "-o", out, "-truth", truth}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			switch {
			case tc.isHelp:
				if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "Usage: rstgen") {
					t.Fatalf("run = %v, stderr %q; want ErrHelp and usage", err, stderr.String())
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run = %v, want error containing %q", err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("run = %v", err)
				}
				tsv, err := os.ReadFile(truth)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(tsv), gen.TruthHeader+"\n") || strings.Count(string(tsv), "\n") < 2 {
					t.Errorf("truth file has no RST lines: %q", tsv)
				}
				if fi, err := os.Stat(out); err != nil || fi.Size() < 3000*54 {
					t.Errorf("capture %v too small for 3000 frames (err %v)", fi, err)
				}
			}
		})
	}
}
