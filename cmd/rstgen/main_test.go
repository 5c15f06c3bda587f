package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

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
		{"snaplen below the longest header", []string{"-o", out, "-snaplen", "64"}, "snaplen 64 must be 0 (whole frames) or at least 94 bytes", false},
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

// TestRunSnaplen checks that -snaplen reaches the file, in both formats:
// the header declares it, no record captures more, records keep their
// original lengths, and the summary's per-packet size is the file's.
func TestRunSnaplen(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"pcap", "pcapng"} {
		out := filepath.Join(dir, "x."+format)
		var stdout, stderr bytes.Buffer
		args := []string{"-packets", "3000", "-concurrency", "100", "-snaplen", "160", "-format", format, "-o", out}
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%s: run = %v", format, err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var src gopacket.PacketDataSource
		if format == "pcapng" {
			r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			src = r
		} else {
			r, err := pcapgo.NewReader(f)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if r.Snaplen() != 160 {
				t.Errorf("%s: header snap length %d, want 160", format, r.Snaplen())
			}
			src = r
		}
		n, cut := 0, 0
		for {
			data, ci, err := src.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: record %d: %v", format, n+1, err)
			}
			n++
			// Frames over 160 bytes are cut to 160, shorter ones kept whole.
			if ci.CaptureLength > 160 || len(data) != ci.CaptureLength || ci.Length < ci.CaptureLength ||
				ci.CaptureLength != min(ci.Length, 160) {
				t.Fatalf("%s: record %d: captured %d of %d bytes (%d data bytes), snaplen 160", format, n, ci.CaptureLength, ci.Length, len(data))
			}
			if ci.Length > 160 {
				cut++
			}
		}
		if n != 3000 || cut == 0 {
			t.Errorf("%s: %d records, %d cut; want 3000, some cut", format, n, cut)
		}
		if ng, ok := src.(*pcapgo.NgReader); ok {
			if intf, err := ng.Interface(0); err != nil || intf.SnapLength != 160 {
				t.Errorf("%s: interface %+v (err %v), want snap length 160", format, intf, err)
			}
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("(%.1f bytes per packet with record headers;", float64(fi.Size())/3000)
		if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "snaplen 160") {
			t.Errorf("%s: summary %q does not say %q and snaplen 160", format, stderr.String(), want)
		}
	}
}
