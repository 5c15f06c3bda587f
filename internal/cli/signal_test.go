package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotifySignals: the first signal cancels the context with the signal
// as its cause; the second calls exit at once with 128 + its number.
func TestNotifySignals(t *testing.T) {
	exits := make(chan int, 1)
	var errb syncBuffer
	ctx, stop := NotifySignals(context.Background(), &errb, func(code int) { exits <- code })
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	var se *SignalError
	if !errors.As(context.Cause(ctx), &se) || se.Signal != syscall.SIGTERM || se.ExitCode() != 143 {
		t.Fatalf("cause %v, want SIGTERM (exit 143)", context.Cause(ctx))
	}
	if len(exits) != 0 {
		t.Fatal("the first signal exited")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exits:
		if code != 130 {
			t.Errorf("second signal (SIGINT): exit %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not exit")
	}
	if got := errb.String(); got != "rstscope: SIGINT again: exiting without the report\n" {
		t.Errorf("stderr %q", got)
	}
}

// floodCapture is a classic pcap of n RSTs, 333,333 a second (3 µs apart),
// each from a random source address and port to 192.0.2.1:80 with no
// connection behind it: a scan's backscatter, a mass reset.
func floodCapture(n int) []byte {
	rng := rand.New(rand.NewPCG(18, uint64(n)))
	b := make([]byte, 24, 24+n*70)
	binary.LittleEndian.PutUint32(b, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 262144)
	binary.LittleEndian.PutUint32(b[20:], 1) // Ethernet
	f := make([]byte, 54)
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45})
	f[16], f[17], f[22], f[23] = 0, 40, 64, 6 // IPv4 total length 40, TTL 64, TCP
	copy(f[30:], []byte{192, 0, 2, 1})
	f[36], f[37], f[46], f[47] = 0, 80, 5<<4, 0x04 // port 80, data offset 5, RST
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var h [16]byte
	for i := range n {
		binary.BigEndian.PutUint32(f[26:], rng.Uint32()|0x01000000)
		binary.BigEndian.PutUint16(f[34:], uint16(1024+rng.IntN(64000)))
		binary.BigEndian.PutUint32(f[38:], rng.Uint32())
		ts := t0.Add(time.Duration(i) * 3 * time.Microsecond)
		binary.LittleEndian.PutUint32(h[:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(h[8:], 54)
		binary.LittleEndian.PutUint32(h[12:], 54)
		b = append(append(b, h[:]...), f...)
	}
	return b
}

// waitExit waits up to within for cmd to end and returns its exit code and
// how long it took.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(within):
		cmd.Process.Kill()
		<-done
		t.Fatalf("rstscope did not exit within %v of the signal", within)
	}
	return 0, 0
}

// TestReadSignal: SIGINT (SIGTERM) in the middle of reading a dense burst
// of 300,000 RSTs with no connections, fed through standard input as fast
// as rstscope reads it, stops the read: exit 130 (143), the RSTs read so far
// decided and printed in capture order as far as the stop allows (the rest
// counted), and a summary that says it was interrupted.
func TestReadSignal(t *testing.T) {
	bin := rstscopeBin(t)
	const n = 300_000
	data := floodCapture(n)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(signalName(sig), func(t *testing.T) {
			cmd := exec.Command(bin, "read", "-o", "json", "--json-summary", "-")
			var out bytes.Buffer
			var errb syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			half := make(chan struct{})
			go func() { // errors once rstscope stops reading: expected
				_, _ = stdin.Write(data[:len(data)/2])
				close(half)
				_, _ = stdin.Write(data[len(data)/2:])
				stdin.Close()
			}()
			<-half
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code, took := waitExit(t, cmd, 20*time.Second)
			t.Logf("exit %d %v after %v", code, sig, took)
			if want := 128 + int(sig); code != want {
				t.Fatalf("exit %d, want %d; stderr %q", code, want, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var sum struct{ Summary *summary }
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Summary == nil {
				t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
			}
			s := sum.Summary
			undecided := 0
			for _, w := range s.Warnings {
				fmt.Sscanf(w, "the stop left %d RSTs undecided", &undecided)
			}
			if s.RSTs == 0 || s.RSTs >= n || s.RSTs != uint64(len(lines)-1+undecided) || s.Verdicts != len(lines)-1 {
				t.Errorf("%d RSTs, %d verdicts, %d verdict lines, %d undecided: want some but not all of %d, each printed or counted",
					s.RSTs, s.Verdicts, len(lines)-1, undecided, n)
			}
			if !strings.Contains(strings.Join(s.Warnings, "\n"), "interrupted") ||
				!strings.Contains(errb.String(), "rstscope: interrupted") {
				t.Errorf("warnings %q, stderr %q: want the interruption said", s.Warnings, errb.String())
			}
		})
	}
}

// TestReadSignalFIFO: `rstscope read FIFO` with no writer waits in open(2);
// SIGINT still ends it, with the (empty) report.
func TestReadSignalFIFO(t *testing.T) {
	bin := rstscopeBin(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	cmd := exec.Command(bin, "read", fifo)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code, _ := waitExit(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("exit %d, want 130; stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), "interrupted: results cover the packets read so far") {
		t.Errorf("report %q: want the summary with the interruption", out.String())
	}
}

// TestReadSecondSignal: a second signal exits at once, without the report,
// whatever the first one waits for: here writing 300,000 verdicts to a
// pipe that nobody reads.
func TestReadSecondSignal(t *testing.T) {
	bin := rstscopeBin(t)
	path := filepath.Join(t.TempDir(), "flood.pcap")
	if err := os.WriteFile(path, floodCapture(300_000), 0o644); err != nil {
		t.Fatal(err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdoutR.Close()
	cmd := exec.Command(bin, "read", "-o", "json", path)
	var errb syncBuffer
	cmd.Stdout, cmd.Stderr = stdoutW, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdoutW.Close()
	// Wait until the pipe is full: rstscope is blocked writing verdicts.
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code, took := waitExit(t, cmd, 10*time.Second)
	t.Logf("exit %d %v after the second signal", code, took)
	if code != 130 || !strings.Contains(errb.String(), "rstscope: SIGINT again: exiting without the report") {
		t.Errorf("exit %d, stderr %q; want 130 and the second signal said", code, errb.String())
	}
}
