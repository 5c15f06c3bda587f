package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
)

// TestExitStatus: every usage error exits 2 and names what is at fault,
// a missing file exits 1; both before anything is read, so no report is
// printed, and each error is said once.
func TestExitStatus(t *testing.T) {
	path, _ := generated(t)
	missing := filepath.Join(t.TempDir(), "x.pcap")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string // substrings of stderr
		not    string   // must not be in stderr
	}{
		{"unknown command", []string{"reed", path}, ExitUsage, []string{`unknown command "reed"`, "did you mean read"}, ""},
		{"unknown root flag", []string{"--bogus"}, ExitUsage, []string{"--bogus"}, ""},
		{"unknown read flag", []string{"read", "--bogus", path}, ExitUsage, []string{"--bogus", "rstscope read --help"}, ""},
		{"version with an argument", []string{"version", "x"}, ExitUsage, []string{"version takes no arguments"}, ""},
		{"bad format", []string{"read", "-o", "xml", path}, ExitUsage, []string{"--format", `"xml"`}, ""},
		{"negative grace", []string{"read", "--grace", "-1s", path}, ExitUsage, []string{"--grace must be positive"}, "--max-conns"},
		{"zero grace", []string{"read", "--grace", "0", path}, ExitUsage, []string{"--grace must be positive (got 0s)"}, ""},
		{"negative idle gap", []string{"read", "--idle-gap", "-1s", path}, ExitUsage, []string{"--idle-gap must be positive"}, ""},
		{"zero idle gap", []string{"read", "--idle-gap", "0s", path}, ExitUsage, []string{"--idle-gap must be positive"}, ""},
		{"negative idle timeout", []string{"read", "--idle-timeout", "-1m", path}, ExitUsage, []string{"--idle-timeout must be positive"}, ""},
		{"zero idle timeout", []string{"read", "--idle-timeout", "0", path}, ExitUsage, []string{"--idle-timeout must be positive"}, ""},
		{"zero max-conns", []string{"read", "--max-conns", "0", path}, ExitUsage, []string{"--max-conns must be positive"}, ""},
		{"negative rows", []string{"read", "--rows", "-1", path}, ExitUsage, []string{"--rows"}, ""},
		{"negative width", []string{"read", "--width", "-5", path}, ExitUsage, []string{"--width"}, ""},
		{"negative workers", []string{"read", "-j", "-1", path}, ExitUsage, []string{"--workers must be 0 (one per core) or more"}, ""},
		{"not a number", []string{"read", "--rows", "many", path}, ExitUsage, []string{"--rows"}, ""},
		{"bad --filter", []string{"read", "--filter", "tcp port", path, path}, ExitUsage,
			[]string{`--filter: bad filter "tcp port"`}, ""},
		{"bad filter after --", []string{"read", path, path, "--", "tcp", "prot", "80"}, ExitUsage,
			[]string{`bad filter "tcp prot 80"`}, ""},
		{"filter twice", []string{"read", "-f", "tcp", path, "--", "ip6"}, ExitUsage, []string{"not both"}, ""},
		{"trailing words neither files nor filter", []string{"read", path, "tcp", "prot", "80"}, ExitUsage,
			[]string{`"tcp prot 80" is neither a capture file nor a valid BPF filter`, "after --"}, "no such file"},
		{"a filter but no file", []string{"read", "tcp", "port", "80"}, ExitUsage,
			[]string{`no capture file given before the filter "tcp port 80"`}, ""},
		{"no file", []string{"read"}, ExitUsage, []string{"no capture file given"}, ""},
		{"live bad filter", []string{"live", "-i", "lo", "tcp", "prot", "80"}, ExitUsage, []string{`bad filter "tcp prot 80"`}, ""},
		{"live bad --filter", []string{"live", "-i", "lo", "-f", "tcp port"}, ExitUsage, []string{`--filter: bad filter`}, ""},
		{"live negative duration", []string{"live", "-i", "lo", "--duration", "-1s"}, ExitUsage, []string{"--duration must not be negative"}, ""},
		{"live negative count", []string{"live", "-i", "lo", "--count", "-1"}, ExitUsage, []string{"--count"}, ""},
		{"live negative buffer", []string{"live", "-i", "lo", "-B", "-1"}, ExitUsage, []string{"--buffer-size must be 0"}, ""},
		{"live buffer of 2 GiB", []string{"live", "-i", "lo", "--buffer-size", "2097152"}, ExitUsage, []string{"under 2 GiB"}, ""},
		{"live negative grace", []string{"live", "-i", "lo", "--grace", "-1s"}, ExitUsage, []string{"--grace"}, "--max-conns"},
		{"live zero grace", []string{"live", "-i", "lo", "--grace", "0"}, ExitUsage, []string{"--grace must be positive"}, ""},
		{"live snaplen above libpcap's", []string{"live", "-i", "lo", "-s", "100000000"}, ExitUsage,
			[]string{"--snaplen must be at most 262144 bytes, libpcap's maximum (got 100000000)"}, ""},
		{"live negative snaplen", []string{"live", "-i", "lo", "-s", "-1"}, ExitUsage, []string{"--snaplen must not be negative"}, ""},
		{"missing file", []string{"read", missing}, ExitFailure, []string{missing + ": no such file or directory"}, "--help"},
		{"missing file after a file", []string{"read", path, missing}, ExitFailure, []string{missing + ": no such file or directory"}, ""},
		{"missing file among files", []string{"read", path, missing, path}, ExitFailure, []string{missing + ": no such file or directory"}, ""},
		{"missing file before --", []string{"read", missing, "--", "tcp"}, ExitFailure, []string{missing + ": no such file or directory"}, ""},
		{"missing file with --filter", []string{"read", "-f", "tcp", path, missing}, ExitFailure, []string{missing + ": no such file or directory"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, errs)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr %q lacks %q", errs, want)
				}
			}
			if tt.not != "" && strings.Contains(errs, tt.not) {
				t.Errorf("stderr %q mentions %q", errs, tt.not)
			}
			if out != "" {
				t.Errorf("a report was printed:\n%s", out)
			}
			if n := strings.Count(errs, "rstscope: "); n != 1 {
				t.Errorf("%d errors on stderr, want 1: %q", n, errs)
			}
			if usage := strings.Contains(errs, "--help' for usage"); usage != (tt.code == ExitUsage) {
				t.Errorf("exit %d with the usage hint %v: %q", code, usage, errs)
			}
		})
	}
}

// TestTrailingFilter: words after the files are a filter, as with tcpdump
// -r: the report is the one with the filter after --.
func TestTrailingFilter(t *testing.T) {
	path, _ := generated(t)
	_, want, _ := run(t, nil, "read", "-o", "csv", path, "--", "tcp port 80 or ip6")
	_, all, _ := run(t, nil, "read", "-o", "csv", path)
	code, got, errs := run(t, nil, "read", "-o", "csv", path, "tcp", "port", "80", "or", "ip6")
	if code != ExitOK || got != want {
		t.Errorf("exit %d (stderr %q); output equal to the filter after --: %v", code, errs, got == want)
	}
	if want == all {
		t.Error("the filter selects every RST of the capture: the test shows nothing")
	}
}

// TestReadCancelled: a read stopped by its context still prints its report
// (of what it read so far), with a warning on stderr and in the summary,
// and exits 130, or 128 + the signal's number when a signal stopped it.
func TestReadCancelled(t *testing.T) {
	path, _ := generated(t)
	for _, tc := range []struct {
		cause error
		code  int
	}{
		{context.Canceled, ExitInterrupted},
		{&SignalError{Signal: syscall.SIGINT}, 130},
		{&SignalError{Signal: syscall.SIGTERM}, 143},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(tc.cause)
		var out, errb bytes.Buffer
		code := Main(ctx, []string{"read", "-o", "json", "--json-summary", path}, nil, &out, &errb)
		if code != tc.code {
			t.Fatalf("%v: exit %d, want %d; stderr %q", tc.cause, code, tc.code, errb.String())
		}
		if errb.String() != "rstscope: interrupted: results cover the packets read so far\n" {
			t.Errorf("stderr %q", errb.String())
		}
		lines := jsonLines(t, out.String())
		if len(lines) == 0 {
			t.Fatal("no report")
		}
		sum, _ := lines[len(lines)-1]["summary"].(map[string]any)
		if sum == nil || !strings.Contains(toString(sum["warnings"]), "interrupted") {
			t.Errorf("last line %v: want a summary that says the read was interrupted", lines[len(lines)-1])
		}
	}
}

func toString(v any) string {
	var b strings.Builder
	if l, ok := v.([]any); ok {
		for _, s := range l {
			b.WriteString(s.(string) + "\n")
		}
	}
	return b.String()
}

func TestVersion(t *testing.T) {
	code, out, errs := run(t, nil, "--version")
	if code != ExitOK || !strings.HasPrefix(out, "rstscope ") || !strings.HasSuffix(out, "\n") || errs != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out2, _ := run(t, nil, "version")
	if code != ExitOK || out2 != out {
		t.Errorf("version: exit %d, %q; --version says %q", code, out2, out)
	}
}

func TestVersionOf(t *testing.T) {
	set := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"checkout with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: set("vcs.revision", "927b389f00c0ffee", "vcs.time", "2026-12-04T11:56:00Z", "vcs.modified", "true")},
			"rstscope (devel) rev 927b389 2026-12-04T11:56:00Z (modified) go1.26.8"},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: set("vcs.revision", "927b389f00c0ffee", "vcs.time", "2026-12-04T11:56:00Z", "vcs.modified", "false")},
			"rstscope v1.2.0 rev 927b389 2026-12-04T11:56:00Z go1.26.8"},
		{"no VCS", &debug.BuildInfo{GoVersion: "go1.26.8"}, "rstscope (devel) go1.26.8"},
		{"no build info", nil, "rstscope (unknown version: built without module information)"},
	}
	for _, tt := range tests {
		if got := versionOf(tt.bi); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestReadEvicted: connections evicted from a full table are reported in
// the summary and, for the formats that carry no summary, on stderr.
func TestReadEvicted(t *testing.T) {
	path, _ := generated(t)
	const want = "connections evicted (the table was full: at most 5 tracked at once, see --max-conns"
	for _, format := range []string{"table", "csv", "json"} {
		code, out, errs := run(t, nil, "read", "-o", format, "--max-conns", "5", path)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errs)
		}
		if strings.Count(errs, want) != 1 || !strings.HasPrefix(errs, "rstscope: warning: ") {
			t.Errorf("%s: stderr %q, want the eviction warning once", format, errs)
		}
		if format == "table" && !strings.Contains(out, want) {
			t.Errorf("table: the summary lacks the eviction warning:\n%s", out)
		}
	}
	if _, _, errs := run(t, nil, "read", "-o", "csv", path); errs != "" {
		t.Errorf("without evictions, stderr %q", errs)
	}
}
