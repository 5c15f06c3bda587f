package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstscope/rstscope/internal/testenv"
)

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vethLab is a veth pair: host end in this namespace, peer end in a fresh
// namespace, on 10.250.N.0/24 (N from the pid, so parallel runs differ).
type vethLab struct {
	ns, host, peer string
	hostIP, peerIP netip.Addr
}

func newVethLab(t *testing.T) *vethLab {
	t.Helper()
	pid := os.Getpid()
	n := pid%200 + 20
	l := &vethLab{
		ns:     fmt.Sprintf("rstcap%d", pid),
		host:   fmt.Sprintf("rch%d", pid%1000000),
		peer:   fmt.Sprintf("rcp%d", pid%1000000),
		hostIP: netip.AddrFrom4([4]byte{10, 250, byte(n), 1}),
		peerIP: netip.AddrFrom4([4]byte{10, 250, byte(n), 2}),
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", l.host).Run()
		exec.Command("ip", "netns", "del", l.ns).Run()
	})
	run(t, "ip", "netns", "add", l.ns)
	run(t, "ip", "link", "add", l.host, "type", "veth", "peer", "name", l.peer, "netns", l.ns)
	run(t, "ip", "addr", "add", l.hostIP.String()+"/24", "dev", l.host)
	run(t, "ip", "link", "set", l.host, "up")
	run(t, "ip", "netns", "exec", l.ns, "ip", "addr", "add", l.peerIP.String()+"/24", "dev", l.peer)
	run(t, "ip", "netns", "exec", l.ns, "ip", "link", "set", l.peer, "up")
	run(t, "ip", "netns", "exec", l.ns, "ip", "link", "set", "lo", "up")
	return l
}

// TestLiveRefused captures a connection to a closed port across a veth
// pair: the SYN and the peer kernel's RST+ACK, whose ack is the SYN's
// sequence number plus one (RFC 9293 §3.10.7.1). Then the interface is
// deleted under the capture, and Next must say so.
func TestLiveRefused(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	lab := newVethLab(t)
	live, err := OpenLive(LiveOptions{Interface: lab.host, Filter: "tcp", ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if live.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", live.LinkType())
	}

	type result struct {
		pkts []Packet
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for len(r.pkts) < 2 {
			var p Packet
			if r.err = live.Next(&p); r.err != nil {
				break
			}
			r.pkts = append(r.pkts, p)
			if data, _, lt := live.LastFrame(); len(data) == 0 || lt != layers.LinkTypeEthernet {
				r.err = fmt.Errorf("LastFrame: %d bytes, %v", len(data), lt)
			}
		}
		done <- r
	}()
	time.Sleep(200 * time.Millisecond) // the capture is active once OpenLive returns; margin for the goroutine
	_, derr := net.DialTimeout("tcp", netip.AddrPortFrom(lab.peerIP, 9).String(), 3*time.Second)
	if !errors.Is(derr, syscall.ECONNREFUSED) {
		t.Fatalf("dial closed port: %v, want connection refused", derr)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		live.Close()
		r = <-done
	}
	if r.err != nil {
		t.Fatalf("Next: %v", r.err)
	}
	syn, rst := r.pkts[0], r.pkts[1]
	if syn.Flags != SYN || syn.Src != lab.hostIP || syn.DstAddrPort() != netip.AddrPortFrom(lab.peerIP, 9) {
		t.Errorf("first packet %v %v -> %v, want SYN to the closed port", syn.Flags, syn.SrcAddrPort(), syn.DstAddrPort())
	}
	if rst.Flags != RST|ACK || rst.SrcAddrPort() != syn.DstAddrPort() || rst.DstAddrPort() != syn.SrcAddrPort() ||
		rst.Ack != syn.Seq+1 || rst.TTL != 64 {
		t.Errorf("second packet %v %v -> %v ack %d ttl %d, want RST+ACK back, ack %d, ttl 64",
			rst.Flags, rst.SrcAddrPort(), rst.DstAddrPort(), rst.Ack, rst.TTL, syn.Seq+1)
	}
	if st := live.Stats(); st.TCP != 2 || st.Frames < 2 {
		t.Errorf("stats %+v, want 2 TCP frames", st)
	}

	t.Run("interface deleted", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() { errc <- live.Next(new(Packet)) }()
		time.Sleep(200 * time.Millisecond)
		run(t, "ip", "link", "del", lab.host)
		select {
		case err := <-errc:
			if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), lab.host) {
				t.Errorf("Next = %v, want an error naming %s", err, lab.host)
			}
			t.Logf("Next: %v", err)
		case <-time.After(5 * time.Second):
			live.Close()
			<-errc
			t.Error("Next kept waiting after the interface was deleted")
		}
	})
}

// TestLiveCloseUnblocks: Close makes a Next waiting on an idle capture
// return io.EOF.
func TestLiveCloseUnblocks(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	lab := newVethLab(t)
	live, err := OpenLive(LiveOptions{Interface: lab.host, Filter: "tcp port 1", ReadTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- live.Next(new(Packet)) }()
	time.Sleep(200 * time.Millisecond)
	live.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Next after Close = %v, want io.EOF", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Next still blocked 3 s after Close")
	}
	if err := live.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_ = live.Stats() // must not touch the closed handle
}

func TestLiveNoSuchInterface(t *testing.T) {
	_, err := OpenLive(LiveOptions{Interface: "nosuch0"})
	var ie *InterfaceError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T), want *InterfaceError", err, err)
	}
	if !slices.Contains(ie.Available, "lo") || !strings.Contains(err.Error(), "lo") || !strings.Contains(err.Error(), `"nosuch0"`) {
		t.Errorf("error %q: want the name and the interfaces that exist (lo among them)", err)
	}
}

// TestLivePermission runs OpenLive as user nobody in a child process: the
// error must tell to run as root or grant CAP_NET_RAW.
func TestLivePermission(t *testing.T) {
	if os.Getenv("RSTSCOPE_LIVE_PERM_CHILD") != "" {
		_, err := OpenLive(LiveOptions{Interface: "lo"})
		fmt.Fprintf(os.Stdout, "ERR=%v\nIS=%v\n", err, errors.Is(err, ErrPermission))
		return
	}
	testenv.RequireRoot(t, "setpriv")
	// The test binary lives in a 0700 build directory: copy it where
	// nobody can run it.
	dir, err := os.MkdirTemp("", "rstscope-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "capture.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		bin, "-test.run=^TestLivePermission$")
	cmd.Env = append(os.Environ(), "RSTSCOPE_LIVE_PERM_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "IS=true") || !strings.Contains(string(out), "setcap cap_net_raw") {
		t.Errorf("child output:\n%s\nwant ErrPermission with the setcap hint", out)
	}
}
