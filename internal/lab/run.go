package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Result is what one scenario run produced.
type Result struct {
	Scenario Scenario
	// Dir holds the captures (Scenario.CaptureFile) and truth files.
	Dir string
	// Truth lists every RST of every capture, by vantage, in frame order.
	Truth map[Vantage][]TruthRow
	// Counters are the growth of each namespace's nstat counters.
	Counters map[Role]map[string]int
	// RejectPackets is the iptables REJECT rules' packet count.
	RejectPackets int
	// Forged is the injector's log of the RSTs it sent.
	Forged []Forged
	// Logs holds each program's output, for failure messages.
	Logs map[string]string
	// Problems are cross-check failures: the lab did not do what the
	// scenario designed. Any problem is a lab error.
	Problems []string
}

// Forged is one RST the injector logged.
type Forged struct {
	Iface string `json:"iface"`
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	Flags string `json:"flags"`
	Seq   uint32 `json:"seq"`
	Ack   uint32 `json:"ack"`
	TTL   uint8  `json:"ttl"`
	Err   string `json:"err"`
}

// counted are the namespaces whose counters every scenario reads.
func (s Scenario) counted() []Role {
	rs := []Role{Client, Router, s.Far}
	if s.Far == Server2 {
		rs = append(rs, Mbox)
	}
	return rs
}

// Run runs one scenario with captures at every vantage into dir (created),
// then derives and writes its ground truth. An error means the lab could
// not run the scenario; Result.Problems lists what ran but came out other
// than designed.
func (t *Topology) Run(ctx context.Context, s Scenario, dir string) (*Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Scenario: s, Dir: dir, Logs: map[string]string{}, Counters: map[Role]map[string]int{}}
	var undo cleanups
	defer func() {
		undo.run()
		// Stopping the server can send segments too: a FIN on a connection
		// its peer has forgotten (idle-timeout), and the RST answering it.
		// Through the delay relay of a busy machine they can arrive after
		// the next scenario has read its counters and started its captures.
		_ = t.quiesce(context.Background(), s, 0)
	}()
	before, err := t.countersOf(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := t.configure(ctx, s, &undo); err != nil {
		return nil, err
	}
	server, err := t.startServer(ctx, s, res, &undo)
	if err != nil {
		return nil, err
	}
	dumps, err := t.startCaptures(ctx, s, dir, &undo)
	if err != nil {
		return nil, err
	}
	inj, err := t.startInjector(ctx, s, &undo)
	if err != nil {
		return nil, err
	}
	if err := t.runClient(ctx, s, res, server); err != nil {
		return nil, err
	}
	// Late segments and the RSTs answering them: wait until the kernels
	// are quiet, or a RST they count may come after the captures stop.
	if err := t.quiesce(ctx, s, 300*time.Millisecond); err != nil {
		return nil, err
	}
	if inj != nil {
		inj.stop(syscall.SIGTERM)
		res.Logs["injector"] = inj.out.String() + inj.errb.String()
		if res.Forged, err = parseForged(inj.out.String()); err != nil {
			return nil, err
		}
	}
	for _, d := range dumps {
		d.stop(syscall.SIGTERM)
	}
	for _, d := range dumps {
		if !strings.Contains(d.errb.String(), "packets captured") {
			return nil, fmt.Errorf("%s did not end cleanly: %s", d.name, d.errb.String())
		}
	}
	if err := t.finish(ctx, res, before); err != nil {
		return nil, err
	}
	return res, writeTruthFiles(res)
}

// startCapture starts tcpdump at a vantage: packet-buffered (-U) and in
// immediate mode (otherwise the frames of the last ring block are lost at
// SIGTERM), whole
// frames, nanosecond timestamps for the router-in capture that becomes
// pcapng. -Z root keeps tcpdump from dropping to a user that cannot write
// dir.
func (t *Topology) startCapture(ctx context.Context, s Scenario, v Vantage, dir string) (*proc, error) {
	ns, ifc := s.capturePoint(v)
	file := filepath.Join(dir, s.CaptureFile(v))
	args := []string{"tcpdump", "-i", ifc, "-n", "-U", "--immediate-mode", "-Z", "root", "-w", file}
	if v == AtRouterIn {
		args[len(args)-1] = strings.TrimSuffix(file, ".pcapng") + ".nano.pcap"
		args = append(args, "--time-stamp-precision=nano")
	}
	return t.procs.start(ctx, "tcpdump "+string(v), t.cmd(ns, args...))
}

// toPcapngNano converts the nanosecond pcap written for file into pcapng
// (editcap keeps the nanosecond resolution) and removes the pcap.
func toPcapngNano(ctx context.Context, file string) error {
	src := strings.TrimSuffix(file, ".pcapng") + ".nano.pcap"
	if _, err := run(ctx, "editcap", "-F", "pcapng", src, file); err != nil {
		return err
	}
	return os.Remove(src)
}

// crash kills the server without a word on the wire, once it has answered
// the first request: its FIN and the RST of the socket's destruction are
// dropped by an OUTPUT rule, the orphaned socket is destroyed with ss -K, the
// rule is removed, and the client is told to send its next request.
func (t *Topology) crash(ctx context.Context, s Scenario, server *proc, waitFile string) error {
	if server == nil {
		return errors.New("crash needs a server")
	}
	if err := server.waitOutput(ctx, `"request"`, 5*time.Second); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond) // the answer reaches the client
	drop := []string{"OUTPUT", "-p", "tcp", "--sport", strconv.Itoa(int(s.Port)), "-j", "DROP"}
	if _, err := t.Exec(ctx, s.Far, append([]string{s.iptables(), "-A"}, drop...)...); err != nil {
		return err
	}
	server.stop(syscall.SIGKILL)
	_, kerr := t.Exec(ctx, s.Far, "ss", "-K", "-t", "-a", fmt.Sprintf("( sport = :%d )", s.Port))
	time.Sleep(50 * time.Millisecond)
	_, derr := t.Exec(ctx, s.Far, append([]string{s.iptables(), "-D"}, drop...)...)
	if err := errors.Join(kerr, derr); err != nil {
		return err
	}
	out, err := t.Exec(ctx, s.Far, "ss", "-t", "-a", "-n", fmt.Sprintf("( sport = :%d )", s.Port))
	if err != nil {
		return err
	}
	if strings.Count(strings.TrimSpace(out), "\n") > 0 {
		return fmt.Errorf("server socket survived ss -K: %s", out)
	}
	return os.WriteFile(waitFile, nil, 0o644)
}

// quiesce waits until the segment counters of the scenario's namespaces
// stop moving: at least settle, then quiet (600 ms: longer than Linux's
// 200 ms minimum RTO and its first backoff) without change, 5 s at most. On
// a loaded machine a retransmission, and the RST answering it, can come
// well after the client has exited.
func (t *Topology) quiesce(ctx context.Context, s Scenario, settle time.Duration) error {
	const poll, quiet, limit = 100 * time.Millisecond, 600 * time.Millisecond, 5 * time.Second
	keys := []string{"TcpOutSegs", "TcpOutRsts", "TcpRetransSegs", "TcpInSegs"}
	snapshot := func() (string, error) {
		var b strings.Builder
		for _, r := range s.counted() {
			c, err := t.nstat(ctx, r)
			if err != nil {
				return "", err
			}
			for _, k := range keys {
				fmt.Fprintf(&b, "%d ", c[k])
			}
		}
		return b.String(), nil
	}
	time.Sleep(settle)
	last, err := snapshot()
	if err != nil {
		return err
	}
	start, since := time.Now(), time.Now()
	for time.Since(since) < quiet && time.Since(start) < limit {
		time.Sleep(poll)
		cur, err := snapshot()
		if err != nil {
			return err
		}
		if cur != last {
			last, since = cur, time.Now()
		}
	}
	return nil
}

// nstat reads every kernel counter of a namespace (nstat -asz: absolute,
// without updating nstat's history file).
func (t *Topology) nstat(ctx context.Context, r Role) (map[string]int, error) {
	out, err := t.Exec(ctx, r, "nstat", "-asz")
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, err := strconv.Atoi(f[1]); err == nil {
			m[f[0]] = v
		}
	}
	return m, sc.Err()
}

// saveCounter matches an iptables-save -c line: "[packets:bytes] -A ...".
var saveCounter = regexp.MustCompile(`^\[(\d+):\d+\] -A (.*)$`)

// rejectCount sums the packet counters of the scenario's REJECT rules.
func (t *Topology) rejectCount(ctx context.Context, s Scenario) (int, error) {
	seen := map[Role]bool{}
	n := 0
	for _, r := range s.Rules {
		if seen[r.Role] {
			continue
		}
		seen[r.Role] = true
		out, err := t.Exec(ctx, r.Role, s.iptables()+"-save", "-c")
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(out, "\n") {
			m := saveCounter.FindStringSubmatch(line)
			if m == nil || !strings.Contains(m[2], "-j REJECT") || !strings.Contains(m[2], strconv.Itoa(int(s.Port))) {
				continue
			}
			v, _ := strconv.Atoi(m[1])
			n += v
		}
	}
	return n, nil
}

func parseForged(out string) ([]Forged, error) {
	var fs []Forged
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"forged"`) {
			continue
		}
		var f Forged
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			return nil, fmt.Errorf("injector log: %w", err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}
