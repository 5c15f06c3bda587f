package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Roots are where tracefs is looked for, in order: its own mount point
// (Linux 4.1 and later) and the one under debugfs.
var Roots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// The tracepoints read, relative to a tracefs root.
const (
	sendEvent = "events/tcp/tcp_send_reset"
	recvEvent = "events/tcp/tcp_receive_reset"
)

// ErrUnavailable is wrapped by every error of Open that means the kernel
// cannot be asked on this host: no tracefs, no tracepoint, no privilege.
var ErrUnavailable = errors.New("kernel reasons unavailable")

// unavailable returns an error wrapping ErrUnavailable that says why, and
// what to do.
func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnavailable}, args...)...)
}

// instance is a tracefs instance of rstscope's own
// (ROOT/instances/rstscope-PID): a ring buffer, its trace_pipe and
// trace_marker, and the tcp events enabled in it only. The global trace and
// other tools' instances are left alone.
type instance struct {
	dir    string
	pipe   int // trace_pipe, O_NONBLOCK
	marker int // trace_marker, O_WRONLY
	recv   bool
}

// findRoot returns the tracefs root that has tcp_send_reset with a reason
// field, or why none does.
func findRoot(roots []string) (string, error) {
	var firstErr error
	for _, root := range roots {
		format, err := os.ReadFile(filepath.Join(root, sendEvent, "format"))
		switch {
		case err == nil:
			if !hasField(string(format), "reason") {
				return "", unavailable("tcp:tcp_send_reset has no reason field on this kernel (Linux 6.10 or later has it)")
			}
			return root, nil
		case errors.Is(err, fs.ErrPermission):
			return "", unavailable("%s: permission denied: run as root or grant CAP_DAC_OVERRIDE", root)
		}
		if firstErr == nil {
			firstErr = rootError(root)
		}
	}
	return "", firstErr
}

// rootError says why root has no tcp_send_reset tracepoint.
func rootError(root string) error {
	if _, err := os.Stat(filepath.Join(root, "events")); err == nil {
		return unavailable("this kernel has no tcp:tcp_send_reset tracepoint")
	}
	if _, err := os.Stat(root); err == nil {
		return unavailable("tracefs is not mounted at %s (mount -t tracefs nodev %s)", root, root)
	}
	return unavailable("no tracefs at %s", root)
}

// hasField reports whether a tracepoint's format file declares a field
// named name ("field:enum sk_rst_reason reason;").
func hasField(format, name string) bool {
	for line := range strings.Lines(format) {
		decl, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "field:"), ";")
		if ok && strings.HasSuffix(decl, " "+name) {
			return true
		}
	}
	return false
}

// openInstance creates rstscope's instance under root, with the trace
// clock on CLOCK_MONOTONIC, readers woken at the first byte, and the
// tcp reset events enabled, and opens its trace_pipe and trace_marker.
func openInstance(root string) (*instance, error) {
	removeStale(root)
	base := filepath.Join(root, "instances", "rstscope-"+strconv.Itoa(os.Getpid()))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrExist) && i < 100 {
			dir = base + "-" + strconv.Itoa(i)
			continue
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, unavailable("%s: permission denied: run as root or grant CAP_DAC_OVERRIDE", filepath.Dir(dir))
		}
		return nil, unavailable("creating a tracefs instance: %v", err)
	}
	in := &instance{dir: dir, pipe: -1, marker: -1}
	if err := in.setup(); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// setup configures the instance and opens its files.
func (in *instance) setup() error {
	for _, w := range []struct{ file, value string }{
		{"trace_clock", "mono"},
		{"buffer_percent", "0"}, // poll wakes at the first event, not when half full
		{sendEvent + "/enable", "1"},
	} {
		if err := in.write(w.file, w.value); err != nil {
			return unavailable("%v", err)
		}
	}
	// tcp_receive_reset is context only: without it the rest works.
	in.recv = in.write(recvEvent+"/enable", "1") == nil
	var err error
	in.pipe, err = unix.Open(filepath.Join(in.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return unavailable("%s/trace_pipe: %v", in.dir, err)
	}
	in.marker, err = unix.Open(filepath.Join(in.dir, "trace_marker"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return unavailable("%s/trace_marker: %v", in.dir, err)
	}
	return nil
}

func (in *instance) write(file, value string) error {
	return os.WriteFile(filepath.Join(in.dir, file), []byte(value), 0)
}

// mark writes text to the instance's trace_marker: a line in its own
// trace, which also wakes a reader waiting in poll.
func (in *instance) mark(text string) error {
	_, err := unix.Write(in.marker, []byte(text))
	return err
}

// close closes the files and removes the instance (its ring buffer and
// enabled events go with it).
func (in *instance) close() error {
	if in.pipe >= 0 {
		unix.Close(in.pipe)
		in.pipe = -1
	}
	if in.marker >= 0 {
		unix.Close(in.marker)
		in.marker = -1
	}
	var err error
	for range 20 { // the kernel may hold the instance a moment after the last close
		if err = unix.Rmdir(in.dir); err == nil || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s: %w", in.dir, err)
	}
	return nil
}

// removeStale removes the instances of rstscope processes that are gone
// (killed before they could remove their own). An instance still in use
// has its trace_pipe open, and rmdir refuses it.
func removeStale(root string) {
	entries, err := os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "rstscope-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); errors.Is(err, fs.ErrNotExist) {
			_ = unix.Rmdir(filepath.Join(root, "instances", e.Name()))
		}
	}
}
