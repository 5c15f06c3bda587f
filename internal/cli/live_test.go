package cli

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testenv"
)

// The live tests run rstscope, built from this tree, in a network namespace
// joined by a veth pair to a second one, and drive real connections between
// them with helper processes: this test binary run again with
// helperEnv set (see TestMain), inside the namespace it must act in.
const helperEnv = "RSTSCOPE_LIVE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode, os.Args[len(os.Args)-1]))
	}
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// helperMain runs one helper mode with its argument:
//   - abort-server ADDR,ADDR...: listen on each address; read each
//     connection's request, then close it with SO_LINGER 0, so the kernel
//     sends a RST instead of a FIN (server_abort). Prints "ready".
//   - dial ADDR,ADDR...: connect to each address in turn, send an HTTP
//     request, read until the connection ends; print one line per address
//     with the error that ended it.
//   - flood N@IP:PORT: connect N times to IP, ports PORT to PORT+N-1 cycling
//     over 100 ports, expecting refusals; print how many were refused.
func helperMain(mode, arg string) int {
	switch mode {
	case "abort-server":
		for _, addr := range strings.Split(arg, ",") {
			ln, err := net.Listen("tcp4", addr)
			if err != nil {
				fmt.Println(err)
				return 1
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						buf := make([]byte, 1024)
						_, _ = c.Read(buf)
						_ = c.(*net.TCPConn).SetLinger(0)
						_ = c.Close()
					}()
				}
			}()
		}
		fmt.Println("ready")
		select {}
	case "dial":
		for _, addr := range strings.Split(arg, ",") {
			fmt.Printf("%s %s\n", addr, dialOnce(addr))
		}
		return 0
	case "flood":
		n, target, _ := strings.Cut(arg, "@")
		count, _ := strconv.Atoi(n)
		ap, err := net.ResolveTCPAddr("tcp4", target)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		refused := 0
		for i := range count {
			a := *ap
			a.Port += i % 100
			c, err := net.DialTimeout("tcp4", a.String(), time.Second)
			if err == nil {
				c.Close()
			} else if errors.Is(err, syscall.ECONNREFUSED) {
				refused++
			}
		}
		fmt.Printf("refused %d\n", refused)
		return 0
	}
	if h, ok := moreHelpers[mode]; ok {
		return h(arg)
	}
	fmt.Println("unknown helper mode", mode)
	return 2
}

// dialOnce connects to addr, sends a request and reads until the end; it
// returns "refused", "reset" or what else happened.
func dialOnce(addr string) string {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case err != nil:
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: lab\r\n\r\n"); err != nil {
		return err.Error()
	}
	_, err = io.Copy(io.Discard, c)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case err == nil:
		return "closed"
	}
	return err.Error()
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// rstscopeBin builds cmd/rstscope once per test run, into a directory
// TestMain removes.
func rstscopeBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rstscope-live-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "rstscope")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/rstscope/rstscope/cmd/rstscope").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nsPair is two network namespaces joined by a veth pair: a (the client
// side, where rstscope captures) with aIP on aDev, and b (the servers) with
// bIP on bDev, a /30 of 10.251.0.0/16 chosen from the pid and a counter so
// concurrent runs and tests do not collide.
type nsPair struct {
	a, b       string
	aDev, bDev string
	aIP, bIP   string
}

var labSeq atomic.Int32

func newNSPair(t testing.TB) *nsPair {
	t.Helper()
	pid, k := os.Getpid(), int(labSeq.Add(1))
	id := fmt.Sprintf("%d%d", pid%100000, k)
	n := (pid*8 + k) % 16384 // /30 index in 10.251.0.0/16
	l := &nsPair{a: "rstlA" + id, b: "rstlB" + id, aDev: "rla" + id, bDev: "rlb" + id,
		aIP: fmt.Sprintf("10.251.%d.%d", n/64, n%64*4+1), bIP: fmt.Sprintf("10.251.%d.%d", n/64, n%64*4+2)}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.a).Run()
		exec.Command("ip", "netns", "del", l.b).Run()
	})
	mustRun(t, "ip", "netns", "add", l.a)
	mustRun(t, "ip", "netns", "add", l.b)
	mustRun(t, "ip", "link", "add", l.aDev, "netns", l.a, "type", "veth", "peer", "name", l.bDev, "netns", l.b)
	for _, side := range []struct{ ns, dev, ip string }{{l.a, l.aDev, l.aIP}, {l.b, l.bDev, l.bIP}} {
		mustRun(t, "ip", "-n", side.ns, "addr", "add", side.ip+"/30", "dev", side.dev)
		mustRun(t, "ip", "-n", side.ns, "link", "set", side.dev, "up")
		mustRun(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	return l
}

// helper runs this test binary in namespace ns in helper mode.
func helper(t testing.TB, ns, mode, arg string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// startServer starts the abort server in ns on addrs and waits until it
// listens; it is killed at cleanup.
func startServer(t *testing.T, ns, addrs string) {
	t.Helper()
	cmd := helper(t, ns, "abort-server", addrs)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("abort server: %q %v", line, err)
	}
}

// liveProc is a running `rstscope live`.
type liveProc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLive starts rstscope live in ns with args and waits until it says
// it captures.
func startLive(t testing.TB, ns string, args ...string) *liveProc {
	t.Helper()
	bin := rstscopeBin(t)
	return startProc(t, exec.Command("ip", append([]string{"netns", "exec", ns, bin, "live"}, args...)...))
}

// startProc starts cmd, a `rstscope live`, and waits until it says it
// captures.
func startProc(t testing.TB, cmd *exec.Cmd) *liveProc {
	t.Helper()
	p := &liveProc{cmd: cmd, lines: make(chan string, 10000), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		cmd.Wait()
		close(p.done)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "capturing on"); {
		select {
		case <-p.done:
			t.Fatalf("rstscope live ended before capturing: %s", p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rstscope live did not start: %s", p.stderr.String())
		}
	}
	return p
}

// verdict is the part of a JSON verdict line the tests check.
type verdict struct {
	Frame    uint64   `json:"frame"`
	Client   string   `json:"client"`
	Server   string   `json:"server"`
	From     string   `json:"from"`
	Origin   string   `json:"origin"`
	Phase    string   `json:"phase"`
	Cause    string   `json:"cause"`
	Flags    string   `json:"flags"`
	Seq      uint32   `json:"seq"`
	Ack      uint32   `json:"ack"`
	Evidence []string `json:"evidence"`
}

type summary struct {
	Inputs      []string       `json:"inputs"`
	Frames      uint64         `json:"frames"`
	TCPPackets  uint64         `json:"tcp_packets"`
	Connections uint64         `json:"connections"`
	Evicted     uint64         `json:"evicted"`
	RSTs        uint64         `json:"rsts"`
	Verdicts    int            `json:"verdicts"`
	Dropped     uint64         `json:"dropped"`
	ByOrigin    map[string]int `json:"by_origin"`
	Warnings    []string       `json:"warnings"`
}

// parseLine parses one JSON Lines line: a verdict, or the summary.
func parseLine(t testing.TB, line string) (*verdict, *summary) {
	t.Helper()
	var s struct {
		Summary *summary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		t.Fatalf("not JSON: %q: %v", line, err)
	}
	if s.Summary != nil {
		return nil, s.Summary
	}
	var v verdict
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("not a verdict: %q: %v", line, err)
	}
	return &v, nil
}

// waitVerdicts reads n verdict lines while rstscope still runs: they must
// come out before it is stopped, released by wall-clock time.
func (p *liveProc) waitVerdicts(t *testing.T, n int, within time.Duration) []verdict {
	t.Helper()
	var vs []verdict
	timeout := time.After(within)
	for len(vs) < n {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("rstscope ended after %d of %d verdicts: %s", len(vs), n, p.stderr.String())
			}
			v, s := parseLine(t, line)
			if s != nil {
				t.Fatalf("summary before the verdicts: %s", line)
			}
			vs = append(vs, *v)
		case <-timeout:
			t.Fatalf("%d of %d verdicts within %v of the traffic, with no signal: %+v", len(vs), n, within, vs)
		}
	}
	return vs
}

// stop sends SIGINT and returns the remaining verdicts, the summary and the
// exit code.
func (p *liveProc) stop(t testing.TB) ([]verdict, *summary, int) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return p.wait(t, 15*time.Second)
}

func (p *liveProc) wait(t testing.TB, within time.Duration) ([]verdict, *summary, int) {
	t.Helper()
	var vs []verdict
	var sum *summary
	timeout := time.After(within)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return vs, sum, p.cmd.ProcessState.ExitCode()
			}
			v, s := parseLine(t, line)
			if s != nil {
				sum = s
			} else {
				vs = append(vs, *v)
			}
		case <-timeout:
			t.Fatalf("rstscope did not end within %v: %s", within, p.stderr.String())
		}
	}
}

func byServer(vs []verdict) map[string][]verdict {
	m := make(map[string][]verdict)
	for _, v := range vs {
		m[v.Server] = append(m[v.Server], v)
	}
	return m
}

// TestLiveResets drives three connections that end in a reset across a veth
// pair and checks what rstscope live, capturing at the client's end, says
// about each as it happens, then after SIGINT; and that the frames it saved
// with --write tell `rstscope read` the same.
func TestLiveResets(t *testing.T) {
	testenv.RequireRoot(t, "ip", "iptables")
	l := newNSPair(t)
	closed, abort, reject := l.bIP+":7001", l.bIP+":7002", l.bIP+":7003"
	// The abort server also listens on the REJECT port, so that a refusal
	// there can only come from the rule.
	startServer(t, l.b, abort+","+reject)
	mustRun(t, "ip", "netns", "exec", l.b, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7003",
		"-j", "REJECT", "--reject-with", "tcp-reset")

	kept := filepath.Join(t.TempDir(), "kept.pcap")
	p := startLive(t, l.a, "-i", l.aDev, "-o", "json", "--json-summary", "--grace", "200ms",
		"--write", kept, "--", "tcp")

	// The server abort comes first: its SYN-ACK shows the server's TTL,
	// which the two refusals are then compared with.
	out, err := helper(t, l.a, "dial", strings.Join([]string{abort, closed, reject}, ",")).CombinedOutput()
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%s reset\n%s refused\n%s refused\n", abort, closed, reject)
	if string(out) != want {
		t.Fatalf("the connections ended otherwise than planned:\n%s\nwant:\n%s", out, want)
	}

	// Verdicts come out grace (200 ms) after their RST even though the
	// interface is quiet, before any signal.
	live := p.waitVerdicts(t, 3, 5*time.Second)
	rest, sum, code := p.stop(t)
	if code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if len(rest) != 0 {
		t.Errorf("%d more verdicts after SIGINT, want none: %+v", len(rest), rest)
	}
	if sum == nil {
		t.Fatalf("no summary line; stderr:\n%s", p.stderr.String())
	}
	if sum.RSTs != 3 || sum.Verdicts != 3 || sum.Connections != 3 || sum.ByOrigin["server"] != 3 {
		t.Errorf("summary %+v, want 3 RSTs, verdicts and connections, all from the server", sum)
	}
	if len(sum.Inputs) != 1 || !strings.Contains(sum.Inputs[0], l.aDev) {
		t.Errorf("summary inputs %q, want the interface %s", sum.Inputs, l.aDev)
	}

	got := byServer(live)
	checks := []struct {
		name, server               string
		from, origin, phase, cause string
	}{
		// The kernel of B has no listener: it answers the SYN with RST+ACK,
		// at the TTL of B's SYN-ACK on the connection before.
		{"closed port", closed, "server", "server", "syn", "refused"},
		// The server read the request and closed with SO_LINGER 0.
		{"server abort", abort, "server", "server", "request", "server_abort"},
		// The REJECT rule runs on B itself, so its RST leaves B with B's TTL
		// and at B's hop count: at 0 hops (a veth) a netfilter RST and a
		// kernel's answer without a socket look alike (IP ID 0, DF, window
		// 0, no options: DESIGN.md §3.7 cannot tell them apart here), and
		// the firewall is on the server's host. What the evidence can tell:
		// the server's address refused the SYN.
		{"firewall REJECT", reject, "server", "server", "syn", "refused"},
	}
	for _, c := range checks {
		vs := got[c.server]
		if len(vs) != 1 {
			t.Errorf("%s: %d verdicts for %s, want 1: %+v", c.name, len(vs), c.server, live)
			continue
		}
		v := vs[0]
		if v.From != c.from || v.Origin != c.origin || v.Phase != c.phase || v.Cause != c.cause {
			t.Errorf("%s: from %s origin %s phase %s cause %s, want %s %s %s %s; evidence %q",
				c.name, v.From, v.Origin, v.Phase, v.Cause, c.from, c.origin, c.phase, c.cause, v.Evidence)
		}
	}
	if !strings.Contains(p.stderr.String(), "saved") {
		t.Errorf("stderr does not report the saved frames:\n%s", p.stderr.String())
	}

	t.Run("write", func(t *testing.T) {
		// The frames kept for the reset connections make the same verdicts
		// when read back: each RST (same addresses, flags, seq and ack) gets
		// the same origin, phase and cause.
		out, err := exec.Command(rstscopeBin(t), "read", "-o", "json", kept).Output()
		if err != nil {
			t.Fatalf("rstscope read %s: %v", kept, err)
		}
		type rstKey struct {
			client, server, flags string
			seq, ack              uint32
		}
		key := func(v verdict) rstKey { return rstKey{v.Client, v.Server, v.Flags, v.Seq, v.Ack} }
		liveBy := make(map[rstKey]verdict)
		for _, v := range live {
			liveBy[key(v)] = v
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			v, _ := parseLine(t, line)
			if v == nil {
				continue
			}
			n++
			lv, ok := liveBy[key(*v)]
			if !ok {
				t.Errorf("read found a RST live did not: %+v", *v)
				continue
			}
			if v.Origin != lv.Origin || v.Phase != lv.Phase || v.Cause != lv.Cause {
				t.Errorf("%s: read says %s/%s/%s, live said %s/%s/%s", v.Server, v.Origin, v.Phase, v.Cause,
					lv.Origin, lv.Phase, lv.Cause)
			}
		}
		if n != len(live) {
			t.Errorf("read found %d RSTs in %s, live %d", n, kept, len(live))
		}
	})
}

// TestLiveFlood connects 3000 times to closed ports while rstscope
// captures on "any" with --max-conns 200: the table stays at the cap, the
// summary counts what was evicted, and every RST still gets its verdict.
func TestLiveFlood(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	const conns, maxConns = 3000, 200
	l := newNSPair(t)
	kept := filepath.Join(t.TempDir(), "flood.pcap")
	p := startLive(t, l.a, "-i", "any", "-o", "json", "--json-summary", "--grace", "200ms",
		"--max-conns", strconv.Itoa(maxConns), "--write", kept, "--", "tcp")
	out, err := helper(t, l.a, "flood", fmt.Sprintf("%d@%s:20000", conns, l.bIP)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("refused %d", conns) {
		t.Fatalf("flood: %v: %s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	vs, sum, code := p.stop(t)
	if code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if sum == nil {
		t.Fatalf("no summary line; stderr:\n%s", p.stderr.String())
	}
	if sum.Dropped != 0 {
		t.Skipf("the kernel dropped %d frames on this busy machine; the counts below would not add up", sum.Dropped)
	}
	if sum.Connections != conns || sum.RSTs != conns || len(vs) != conns {
		t.Errorf("%d connections, %d RSTs, %d verdicts; want %d each", sum.Connections, sum.RSTs, len(vs), conns)
	}
	// Every connection is reset, so none expires within the test: all but
	// the last maxConns were evicted.
	if sum.Evicted != conns-maxConns {
		t.Errorf("evicted %d, want %d", sum.Evicted, conns-maxConns)
	}
	re := regexp.MustCompile(`at most (\d+) tracked at once`)
	var maxOpen int
	for _, w := range sum.Warnings {
		if m := re.FindStringSubmatch(w); m != nil {
			maxOpen, _ = strconv.Atoi(m[1])
		}
	}
	if maxOpen != maxConns {
		t.Errorf("most connections tracked at once %d, want the cap %d; warnings %q", maxOpen, maxConns, sum.Warnings)
	}
	// B never answers with anything but a RST, so there is no packet of
	// its own to compare the RSTs' TTL with: the origin may honestly stay
	// unknown, but nothing points to a middlebox.
	refused := 0
	for _, v := range vs {
		if v.From == "server" && v.Phase == "syn" && v.Cause == "refused" && v.Origin != "middlebox" {
			refused++
		}
	}
	if refused != conns {
		t.Errorf("%d of %d verdicts are from the server, phase syn, cause refused, origin not middlebox", refused, conns)
	}

	// "-i any" captures Linux cooked v2 frames; --write keeps them as such
	// and read decodes them back.
	out, err = exec.Command(rstscopeBin(t), "read", "-o", "json", "--json-summary", kept).Output()
	if err != nil {
		t.Fatalf("rstscope read %s: %v", kept, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if _, s := parseLine(t, lines[len(lines)-1]); s == nil || s.RSTs != conns || s.Frames != 2*conns {
		t.Errorf("read of the saved flood: %s, want %d RSTs in %d frames", lines[len(lines)-1], conns, 2*conns)
	}
	raw, err := os.ReadFile(kept)
	if err != nil || len(raw) < 24 {
		t.Fatalf("saved capture: %v (%d bytes)", err, len(raw))
	}
	// The file keeps the handle's link type: Linux cooked headers, v2
	// (276) as tcpdump selects, or v1 (113), libpcap's default for "any".
	switch lt := binary.LittleEndian.Uint32(raw[20:24]); lt {
	case 276:
	case 113:
		t.Logf("the live handle on \"any\" gives LINUX_SLL (v1), not LINUX_SLL2")
	default:
		t.Errorf("saved capture's link type %d, want Linux cooked (113 or 276)", lt)
	}
}

// TestLiveInterfaceDown: when the interface goes away or is taken down
// mid-capture, rstscope says so, prints the summary of what it saw, and
// exits 1.
func TestLiveInterfaceDown(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	tests := []struct {
		name string
		how  []string // ip arguments, then the device
		want string   // on stderr
	}{
		{"deleted", []string{"link", "del"}, "The interface disappeared"},
		{"set down", []string{"link", "set", "down", "dev"}, "the interface went down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newNSPair(t)
			p := startLive(t, l.a, "-i", l.aDev, "-o", "json", "--json-summary", "--grace", "100ms")
			out, err := helper(t, l.a, "dial", l.bIP+":7001").CombinedOutput()
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "refused") {
				t.Fatalf("dial: %v: %s", err, out)
			}
			p.waitVerdicts(t, 1, 5*time.Second)
			mustRun(t, append(append([]string{"ip", "-n", l.a}, tt.how...), l.aDev)...)
			_, sum, code := p.wait(t, 10*time.Second)
			if code != ExitFailure {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitFailure, p.stderr.String())
			}
			if sum == nil || sum.RSTs != 1 {
				t.Fatalf("summary %+v, want the one RST seen before; stderr:\n%s", sum, p.stderr.String())
			}
			stderr := p.stderr.String()
			if !strings.Contains(stderr, "capture on "+l.aDev) || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say that %s failed with %q:\n%s", l.aDev, tt.want, stderr)
			}
			found := false
			for _, w := range sum.Warnings {
				found = found || strings.Contains(w, tt.want)
			}
			if !found {
				t.Errorf("summary warnings %q do not say the capture failed", sum.Warnings)
			}
		})
	}
}

// TestLiveOpenErrors: the errors before any capture are one line on
// stderr, and exit 1 (2 for bad usage).
func TestLiveOpenErrors(t *testing.T) {
	testenv.RequireRoot(t, "setpriv")
	bin := rstscopeBin(t)
	tests := []struct {
		name string
		cmd  []string
		code int
		want []string // substrings of the one line on stderr
	}{
		{"unknown interface", []string{bin, "live", "-i", "nosuchif0"}, ExitFailure,
			[]string{`no such interface "nosuchif0"`, "have:", "lo"}},
		{"not root", []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", bin, "live", "-i", "lo"}, ExitFailure,
			[]string{"permission denied", "CAP_NET_RAW"}},
		{"bad filter", []string{bin, "live", "-i", "lo", "--", "tcp port nonsense"}, ExitUsage,
			[]string{"bad filter"}},
		{"no interface", []string{bin, "live"}, ExitUsage, []string{"no interface given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.cmd[0], tt.cmd[1:]...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			msg := strings.TrimSpace(stderr.String())
			if first, _, _ := strings.Cut(msg, "\n"); tt.code == ExitFailure && first != msg {
				t.Errorf("stderr has more than one line:\n%s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					first, _, _ := strings.Cut(msg, "\n") // a crash's stack trace is long
					t.Errorf("stderr %q lacks %q", first, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
		})
	}
}

// TestLiveStopsByItself: --count and --duration end the capture without a
// signal, with the summary and exit 0.
func TestLiveStopsByItself(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	l := newNSPair(t)
	tests := []struct {
		name    string
		args    []string
		dial    int    // refused connections to make: 2 TCP packets each
		wantTCP uint64 // TCP packets in the summary; 0: do not check
	}{
		{"count", []string{"--count", "4"}, 3, 4},
		{"duration", []string{"--duration", "1s"}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-i", l.aDev, "-o", "json", "--json-summary", "--grace", "100ms"}, tt.args...)
			p := startLive(t, l.a, append(args, "--", "tcp")...)
			targets := make([]string, tt.dial)
			for i := range targets {
				targets[i] = fmt.Sprintf("%s:%d", l.bIP, 7100+i)
			}
			if out, err := helper(t, l.a, "dial", strings.Join(targets, ",")).CombinedOutput(); err != nil {
				t.Fatalf("dial: %v: %s", err, out)
			}
			_, sum, code := p.wait(t, 10*time.Second)
			if code != 0 || sum == nil {
				t.Fatalf("exit code %d, summary %+v; stderr:\n%s", code, sum, p.stderr.String())
			}
			if sum.TCPPackets != tt.wantTCP || sum.RSTs != tt.wantTCP/2 {
				t.Errorf("%d TCP packets and %d RSTs, want %d and %d", sum.TCPPackets, sum.RSTs, tt.wantTCP, tt.wantTCP/2)
			}
		})
	}
}

func TestLiveUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no interface", []string{"live"}, "no interface given"},
		{"filter twice", []string{"live", "-i", "lo", "-f", "tcp", "--", "port 80"}, "either with --filter or after --"},
		{"bad format", []string{"live", "-i", "lo", "-o", "yaml"}, "yaml"},
		{"negative snaplen", []string{"live", "-i", "lo", "--snaplen", "-1"}, "must not be negative"},
		{"bad max-conns", []string{"live", "-i", "lo", "--max-conns", "0"}, "--max-conns must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}
