package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

var errTestStop = errors.New("test stop")

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads src to its end and returns its error (nil at io.EOF).
func readAll(src Source) error {
	var p capture.Packet
	for {
		if err := src.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestOpenFile: a file and standard input read through OpenFile give every
// segment, with the file's size (-1 for standard input) and its frames.
func TestOpenFile(t *testing.T) {
	data := rstFlood(1000, 1000)
	path := writeTemp(t, "flood.pcap", data)
	for _, tc := range []struct {
		name  string
		stdin io.Reader
		size  int64
	}{
		{path, nil, int64(len(data))},
		{"-", iotest.HalfReader(bytes.NewReader(data)), -1},
		{"-", iotest.OneByteReader(bytes.NewReader(data)), -1},
	} {
		src, err := OpenFile(context.Background(), tc.name, tc.stdin, capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := readAll(src); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if st := src.Stats(); st.TCP != 1000 || st.Bytes != int64(len(data)) {
			t.Errorf("%s: stats %+v, want 1000 TCP segments and %d bytes", tc.name, st, len(data))
		}
		if s := src.(interface{ Size() int64 }).Size(); s != tc.size {
			t.Errorf("%s: size %d, want %d", tc.name, s, tc.size)
		}
		if fr, ok := src.(capture.FrameSource); !ok {
			t.Errorf("%s: not a FrameSource", tc.name)
		} else if f, _, _ := fr.LastFrame(); len(f) != 54 {
			t.Errorf("%s: last frame of %d bytes, want 54", tc.name, len(f))
		}
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := OpenFile(context.Background(), filepath.Join(t.TempDir(), "x"), nil, capture.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errTestStop)
	if _, err := OpenFile(ctx, path, nil, capture.Options{}); err != errTestStop {
		t.Errorf("open with a cancelled context: %v, want its cause", err)
	}
}

// TestOpenFileCancelNotTCP: a cancelled read stops within the frames that
// are not TCP, which the Source skips inside one Next, at its next read of
// the file: not at the end of the file.
func TestOpenFileCancelNotTCP(t *testing.T) {
	const n = 200_000 // 14 MB of UDP datagrams
	path := writeTemp(t, "udp.pcap", append(pcapHeader(), udpFrames(n)...))
	ctx, cancel := context.WithCancelCause(context.Background())
	src, err := OpenFile(ctx, path, nil, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cancel(errTestStop)
	if err := readAll(src); !errors.Is(err, errTestStop) {
		t.Errorf("Next after cancel: %v, want an error wrapping the cause", err)
	}
	if st := src.Stats(); st.Frames >= n/10 {
		t.Errorf("%d of %d frames read after the cancel", st.Frames, n)
	}
}

// TestRunCancelStdin: a read of standard input that waits for more bytes
// (`sleep 20 | rstscope read -` after the capture's first packets) stops
// when ctx is cancelled, and reports what it read.
func TestRunCancelStdin(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if _, err := pw.Write(rstFlood(100, 1000)); err != nil { // fits the pipe's buffer
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	in := Input{Name: "-", Open: func(ctx context.Context) (Source, error) {
		return OpenFile(ctx, "-", pr, capture.Options{})
	}}
	sink := &memSink{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []Input{in}, NewAnalysis(rstanalysis.Config{}, 0), sink, Options{}) }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the writer closed the pipe", err)
	default:
	}
	cancel(errTestStop)
	checkInterrupted(t, done, sink, 100)
}

// TestRunCancelFIFO: opening a FIFO with no writer waits in open(2); a
// cancelled ctx ends that wait, and the run reports that it was
// interrupted.
func TestRunCancelFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	in := Input{Name: path, Open: func(ctx context.Context) (Source, error) {
		return OpenFile(ctx, path, nil, capture.Options{})
	}}
	sink := &memSink{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []Input{in}, NewAnalysis(rstanalysis.Config{}, 0), sink, Options{}) }()
	time.Sleep(100 * time.Millisecond)
	cancel(errTestStop)
	checkInterrupted(t, done, sink, 0)
	// Release the open still waiting for a writer: it closes what it gets.
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}

// checkInterrupted waits for Run's error on done: ErrInterrupted within
// five seconds, and a report of rsts verdicts that says so.
func checkInterrupted(t *testing.T, done <-chan error, sink *memSink, rsts int) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInterrupted) {
			t.Errorf("Run: %v, want ErrInterrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop within 5 s of the cancel")
	}
	s := sink.summary
	if s == nil || s.RSTs != uint64(rsts) || len(sink.verdicts) != rsts {
		t.Fatalf("summary %+v, %d verdicts; want %d", s, len(sink.verdicts), rsts)
	}
	if w := strings.Join(s.Warnings, "\n"); w != interruptedWarning {
		t.Errorf("warnings %q, want %q", w, interruptedWarning)
	}
}

// TestAsyncReader: bytes come through in order, the reader's error after
// them; a cancel ends a Read that waits.
func TestAsyncReader(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 5 buffers' worth
	r := newAsyncReader(context.Background(), iotest.HalfReader(bytes.NewReader(data)))
	if err := iotest.TestReader(r, data); err != nil {
		t.Error(err)
	}
	errBroken := errors.New("broken")
	r = newAsyncReader(context.Background(), io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(errBroken)))
	got, err := io.ReadAll(r)
	if !bytes.Equal(got, data[:100]) || err != errBroken {
		t.Errorf("read %d bytes, %v; want 100, %v", len(got), err, errBroken)
	}
	pr, pw := io.Pipe() // never written
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	r = newAsyncReader(ctx, pr)
	time.AfterFunc(50*time.Millisecond, func() { cancel(errTestStop) })
	if _, err := r.Read(make([]byte, 10)); err != errTestStop {
		t.Errorf("Read on a cancelled context: %v, want its cause", err)
	}
}
