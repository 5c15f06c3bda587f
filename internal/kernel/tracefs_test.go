package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testenv"
	"github.com/rstscope/rstscope/rstanalysis"
)

// openOrSkip opens a Witness, mounting tracefs for the test if it is not
// (and unmounting it after). Where the kernel cannot give its reasons the
// test skips, but fails in CI, where it must run.
func openOrSkip(t *testing.T, opts Options) *Witness {
	t.Helper()
	testenv.RequireRoot(t, "ip", "mount", "umount")
	root := Roots[0]
	if _, err := os.Stat(filepath.Join(root, "events")); errors.Is(err, os.ErrNotExist) {
		if out, err := exec.Command("mount", "-t", "tracefs", "nodev", root).CombinedOutput(); err == nil {
			t.Cleanup(func() { exec.Command("umount", root).Run() })
		} else {
			t.Logf("mount tracefs: %v: %s", err, out)
		}
	}
	w, err := Open(opts)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v, and CI is set: the kernel's tracepoints must be tested in CI", err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestOpenJoinsReset: a connection refused in a network namespace is
// joined with the kernel's NO_SOCKET, and Close removes the instance.
func TestOpenJoinsReset(t *testing.T) {
	pid := os.Getpid()
	ns := fmt.Sprintf("rstk%d", pid%100000)
	n := pid % 16000
	sIP := fmt.Sprintf("10.252.%d.%d", n/64, n%64*4+2)
	w := openOrSkip(t, Options{Local: []netip.Addr{netip.MustParseAddr(sIP)}})
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", sIP + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// A connection on the namespace's loopback to a port with no
	// listener: the kernel answers its SYN from sIP:9.
	before := time.Now()
	out, _ := exec.Command("ip", "netns", "exec", ns, "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/%s/9 && echo connected", sIP)).CombinedOutput()
	after := time.Now()
	if strings.Contains(string(out), "connected") {
		t.Fatalf("connected to a closed port: %s", out)
	}
	var got []rstanalysis.Testimony
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if w.Stats().Sent["NO_SOCKET"] > 0 {
			break
		}
	}
	st := w.Stats()
	if st.Sent["NO_SOCKET"] == 0 {
		t.Fatalf("no NO_SOCKET event from %s read: %+v", sIP, st)
	}
	// Join it: the RST's port pair is unknown to the test, so find the
	// event and ask about it at a time between before and after.
	w.mu.Lock()
	var src, dst netip.AddrPort
	for k := range w.idx.byTuple {
		if k.src.Addr().String() == sIP && k.src.Port() == 9 {
			src, dst = k.src, k.dst
		}
	}
	w.mu.Unlock()
	if !src.IsValid() {
		t.Fatalf("no event from %s:9 held", sIP)
	}
	r := &rstanalysis.Reset{Time: before.Add(after.Sub(before) / 2), Src: src, Dst: dst, From: rstanalysis.Server,
		Phase: rstanalysis.PhaseSYN}
	// Both ends are this host's: the RST was sent, and reset the
	// connecting socket.
	got = w.Testify(r)
	if len(got) != 2 || got[0].Rule != rstanalysis.RuleKernelNoSocket || got[0].Cause != rstanalysis.CauseRefused ||
		got[1].Rule != rstanalysis.RuleKernelSocketReset {
		t.Errorf("testimony %+v, want kernel.no_socket (refused) and kernel.socket_reset", got)
	}
	dir := w.in.dir
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance %s still there after Close: %v", dir, err)
	}
}

// TestOpenUnavailable: without tracefs, Open says so in one line that
// wraps ErrUnavailable.
func TestOpenUnavailable(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(Options{Roots: []string{dir}})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not mounted at "+dir) ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q, want one line wrapping ErrUnavailable that says tracefs is not mounted", err)
	}
	os.MkdirAll(filepath.Join(dir, sendEvent), 0o755)
	os.WriteFile(filepath.Join(dir, sendEvent, "format"), []byte("name: tcp_send_reset\nformat:\n\tfield:int state;\toffset:24;\n"), 0o644)
	_, err = Open(Options{Roots: []string{dir}})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no reason field") {
		t.Errorf("error %q, want one saying the tracepoint has no reason", err)
	}
}
