package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testenv"
)

// moreHelpers are helper modes beside helperMain's own (see TestMain):
//   - unread-server ADDR: listen; let each connection's request arrive, and
//     close it unread, so the kernel resets it (TCP_ABORT_ON_CLOSE). Prints
//     "ready".
//   - get URL: print the body of an HTTP GET.
var moreHelpers = map[string]func(arg string) int{
	"unread-server": func(addr string) int {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println("ready")
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			go func() {
				time.Sleep(300 * time.Millisecond) // the request arrives, unread
				c.Close()
			}()
		}
	},
	"get": func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer resp.Body.Close()
		io.Copy(os.Stdout, resp.Body)
		return 0
	},
}

// startHelperServer starts helper mode in ns with arg and waits for "ready".
func startHelperServer(t *testing.T, ns, mode, arg string) {
	t.Helper()
	cmd := helper(t, ns, mode, arg)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("%s: %q %v", mode, line, err)
	}
}

// startLiveKernel starts rstscope live in ns with tracefs mounted there
// (`ip netns exec` gives the command a /sys of its own, without it), and
// skips the test when the kernel cannot give its reasons, or fails in CI.
func startLiveKernel(t *testing.T, ns string, args ...string) *liveProc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "sh", "-c",
		`mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec "$0" live "$@"`, rstscopeBin(t)}, args...)...)
	p := startProc(t, cmd)
	if stderr := p.stderr.String(); !strings.Contains(stderr, "rstscope: kernel reasons from tcp:tcp_send_reset") {
		if os.Getenv("CI") != "" {
			t.Fatalf("no kernel reasons, and CI is set: the kernel's tracepoints must be tested in CI:\n%s", stderr)
		}
		t.Skipf("no kernel reasons here: %s", stderr)
	}
	return p
}

// ruleOf returns the text of the finding with rule id, and whether there
// is one.
func ruleOf(findings []finding, rule string) (string, bool) {
	for _, f := range findings {
		if f.Rule == rule {
			return f.Text, true
		}
	}
	return "", false
}

// finding is a JSON finding.
type finding struct {
	Rule   string  `json:"rule"`
	Weight float64 `json:"weight"`
	Text   string  `json:"text"`
}

// fullVerdict is a verdict line with its confidence and findings.
type fullVerdict struct {
	verdict
	Confidence float64   `json:"confidence"`
	Findings   []finding `json:"findings"`
}

// waitLines reads n verdict lines while rstscope still runs.
func (p *liveProc) waitLines(t *testing.T, n int, within time.Duration) []fullVerdict {
	t.Helper()
	var vs []fullVerdict
	timeout := time.After(within)
	for len(vs) < n {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("rstscope ended after %d of %d verdicts: %s", len(vs), n, p.stderr.String())
			}
			var v fullVerdict
			if err := json.Unmarshal([]byte(line), &v); err != nil || v.Frame == 0 {
				t.Fatalf("not a verdict: %q: %v", line, err)
			}
			vs = append(vs, v)
		case <-timeout:
			t.Fatalf("%d of %d verdicts within %v: %+v\n%s", len(vs), n, within, vs, p.stderr.String())
		}
	}
	return vs
}

// TestLiveKernelReasons: rstscope live on the server's side of a veth pair
// reads the server kernel's tracepoints. A closed port, an abort with
// SO_LINGER 0 after reading the request, a close with the request unread
// and an iptables REJECT in the server's namespace each end in one RST;
// each verdict carries the kernel's reason (or, for the REJECT, that the
// kernel's TCP stack did not send it) with the right cause. During the
// run, /metrics counts the same verdicts and the kernel's events.
func TestLiveKernelReasons(t *testing.T) {
	testenv.RequireRoot(t, "ip", "iptables", "mount", "sh")
	l := newNSPair(t)
	closed, abort, reject, unread := l.bIP+":7001", l.bIP+":7002", l.bIP+":7003", l.bIP+":7004"
	startServer(t, l.b, abort+","+reject)
	startHelperServer(t, l.b, "unread-server", unread)
	mustRun(t, "ip", "netns", "exec", l.b, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7003",
		"-j", "REJECT", "--reject-with", "tcp-reset")
	metricsAddr := "127.0.0.1:" + strconv.Itoa(19000+os.Getpid()%1000)
	p := startLiveKernel(t, l.b, "-i", l.bDev, "-o", "json", "--json-summary", "--grace", "300ms",
		"--metrics", metricsAddr, "--", "tcp")

	out, err := helper(t, l.a, "dial", strings.Join([]string{closed, abort, reject, unread}, ",")).CombinedOutput()
	want := fmt.Sprintf("%s refused\n%s reset\n%s refused\n%s reset\n", closed, abort, reject, unread)
	if err != nil || string(out) != want {
		t.Fatalf("the connections ended otherwise than planned: %v\n%s\nwant:\n%s", err, out, want)
	}
	lines := p.waitLines(t, 4, 10*time.Second)

	checks := map[string]struct {
		name, rule, cause, text string
		confidence              float64
	}{
		closed: {"closed port", "kernel.no_socket", "refused", "reason=NO_SOCKET", 0.99},
		abort:  {"SO_LINGER 0", "kernel.state", "server_abort", "reason=TCP_STATE, socket in TCP_CLOSE", 0.99},
		reject: {"iptables REJECT", "kernel.no_event", "firewall_reject", "no tcp_send_reset", 0.9},
		unread: {"unread request", "kernel.abort_on_close", "server_abort", "reason=TCP_ABORT_ON_CLOSE", 0.99},
	}
	causes := map[string]float64{}
	for _, lv := range lines {
		v := lv.verdict
		c, ok := checks[v.Server]
		if !ok {
			t.Errorf("a verdict for an unplanned connection: %+v", v)
			continue
		}
		delete(checks, v.Server)
		causes[v.Origin+"/"+v.Cause]++
		text, ok := ruleOf(lv.Findings, c.rule)
		if !ok || lv.Findings[0].Rule != c.rule {
			t.Errorf("%s: findings %+v, want %s first", c.name, lv.Findings, c.rule)
		}
		if v.Origin != "server" || v.Cause != c.cause || lv.Confidence != c.confidence {
			t.Errorf("%s: origin %s cause %s confidence %v, want server %s %v; evidence %q",
				c.name, v.Origin, v.Cause, lv.Confidence, c.cause, c.confidence, v.Evidence)
		}
		if !strings.Contains(text, c.text) {
			t.Errorf("%s: %s says %q, want %q in it", c.name, c.rule, text, c.text)
		}
	}
	for server, c := range checks {
		t.Errorf("%s: no verdict for %s", c.name, server)
	}

	// The metrics, scraped while rstscope runs, count what it printed.
	body, err := helper(t, l.b, "get", "http://"+metricsAddr+"/metrics").Output()
	if err != nil {
		t.Fatalf("scraping /metrics: %v\n%s", err, body)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, val, ok := cutSample(line); ok {
			got[name] += val
		}
	}
	for oc, n := range causes {
		origin, cause, _ := strings.Cut(oc, "/")
		sum := 0.0
		for series, v := range got {
			if strings.HasPrefix(series, "rstscope_rsts_total{") && strings.Contains(series, `origin="`+origin+`"`) &&
				strings.Contains(series, `cause="`+cause+`"`) {
				sum += v
			}
		}
		if sum != n {
			t.Errorf("rstscope_rsts_total for %s: %v, want %v as printed", oc, sum, n)
		}
	}
	for series, want := range map[string]float64{
		`rstscope_kernel_sent_resets_total{reason="NO_SOCKET"}`:          1,
		`rstscope_kernel_sent_resets_total{reason="TCP_STATE"}`:          1,
		`rstscope_kernel_sent_resets_total{reason="TCP_ABORT_ON_CLOSE"}`: 1,
		`rstscope_kernel_joined_rsts_total`:                              3,
		`rstscope_kernel_unsent_rsts_total`:                              1,
		`rstscope_kernel_reasons_enabled`:                                1,
		`rstscope_findings_total{rule="kernel.no_event"}`:                1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	if got["rstscope_tcp_packets_total"] == 0 {
		t.Error("rstscope_tcp_packets_total is 0 after the traffic")
	}

	_, sum, code := p.stop(t)
	if code != 0 || sum == nil || sum.RSTs != 4 {
		t.Errorf("exit code %d, summary %+v; want 0 and 4 RSTs\n%s", code, sum, p.stderr.String())
	}
}

// cutSample splits a line of the text exposition into its series and
// value.
func cutSample(line string) (string, float64, bool) {
	if line == "" || strings.HasPrefix(line, "#") {
		return "", 0, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	return line[:sp], v, err == nil
}

// TestLiveKernelUnavailable: without tracefs, --kernel=auto says so in
// one line and the capture works as before, without kernel findings;
// --kernel=on fails before capturing.
func TestLiveKernelUnavailable(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	l := newNSPair(t)
	// `ip netns exec` gives rstscope a /sys without tracefs.
	p := startLive(t, l.b, "-i", l.bDev, "-o", "json", "--grace", "100ms", "--", "tcp")
	stderr := p.stderr.String()
	if n := strings.Count(stderr, "kernel reasons unavailable"); n != 1 || !strings.Contains(stderr, "not mounted at /sys/kernel/tracing") {
		t.Errorf("stderr says %d times that kernel reasons are unavailable, want once, naming tracefs:\n%s", n, stderr)
	}
	if out, err := helper(t, l.a, "dial", l.bIP+":7001").CombinedOutput(); err != nil || !strings.Contains(string(out), "refused") {
		t.Fatalf("dial: %v: %s", err, out)
	}
	lv := p.waitLines(t, 1, 5*time.Second)[0]
	for _, f := range lv.Findings {
		if strings.HasPrefix(f.Rule, "kernel.") {
			t.Errorf("a kernel finding without the kernel: %+v", f)
		}
	}
	if lv.Cause != "refused" {
		t.Errorf("cause %s, want refused as without kernel reasons", lv.Cause)
	}
	p.stop(t)

	cmd := exec.Command("ip", "netns", "exec", l.b, rstscopeBin(t), "live", "-i", l.bDev, "--kernel=on")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != ExitFailure || !strings.Contains(string(out), "kernel reasons unavailable") ||
		strings.Contains(string(out), "capturing on") {
		t.Errorf("--kernel=on without tracefs: exit %d, %q; want exit 1 before capturing, saying why", code, out)
	}
}

// BenchmarkLiveKernel measures what kernel reasons cost per reset: rounds
// of floodConns refused connections into a namespace where rstscope live
// captures, with --kernel=off and --kernel=on in turn. It reports the CPU
// time of rstscope per RST, user and system (where the kernel formats the
// events rstscope reads), and of the connecting process per connection: the latter includes the kernel's own work for the SYN
// and its RST (on a veth pair, in the sender's context), so the tracepoints
// recording into their ring buffer shows there. Run it with
//
//	go test ./internal/cli -run '^$' -bench LiveKernel -benchtime 5x
func BenchmarkLiveKernel(b *testing.B) {
	testenv.RequireRoot(b, "ip", "mount", "sh")
	const floodConns = 3000
	l := newNSPair(b)
	var rstUser, rstSys, floodCPU [2]time.Duration // off, on
	var rsts [2]uint64
	for i := range b.N {
		for k, mode := range []string{"off", "on"} {
			port := 20000 + (i*2+k)%400*100 // fresh ports every run: nothing left in TIME_WAIT
			cmd := exec.Command("ip", "netns", "exec", l.b, "sh", "-c",
				`mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec "$0" live "$@"`, rstscopeBin(b),
				"-i", l.bDev, "-o", "json", "--json-summary", "--grace", "100ms", "--kernel="+mode, "--", "tcp")
			p := startProc(b, cmd)
			if mode == "on" && !strings.Contains(p.stderr.String(), "kernel reasons from") {
				b.Skipf("no kernel reasons: %s", p.stderr.String())
			}
			fl := helper(b, l.a, "flood", fmt.Sprintf("%d@%s:%d", floodConns, l.bIP, port))
			if out, err := fl.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("refused %d", floodConns)) {
				b.Fatalf("flood: %v: %s", err, out)
			}
			time.Sleep(300 * time.Millisecond)
			_, sum, _ := p.stop(b)
			if sum == nil || sum.RSTs != floodConns {
				b.Fatalf("--kernel=%s: summary %+v, want %d RSTs", mode, sum, floodConns)
			}
			st := p.cmd.ProcessState
			rstUser[k] += st.UserTime()
			rstSys[k] += st.SystemTime()
			floodCPU[k] += fl.ProcessState.UserTime() + fl.ProcessState.SystemTime()
			rsts[k] += sum.RSTs
		}
	}
	us := func(d time.Duration, n uint64) float64 { return float64(d) / float64(n) / 1e3 }
	b.ReportMetric(us(rstUser[0], rsts[0]), "user-µs/RST-off")
	b.ReportMetric(us(rstUser[1], rsts[1]), "user-µs/RST-on")
	b.ReportMetric(us(rstSys[0], rsts[0]), "sys-µs/RST-off")
	b.ReportMetric(us(rstSys[1], rsts[1]), "sys-µs/RST-on")
	b.ReportMetric(us(floodCPU[0], rsts[0]), "sender-µs/conn-off")
	b.ReportMetric(us(floodCPU[1], rsts[1]), "sender-µs/conn-on")
	b.ReportMetric(0, "ns/op")
}

// TestLiveKernelUnitCapabilities: an unprivileged user with the
// capabilities the systemd unit grants (internal/deploy/systemd/rstscope.service)
// captures and reads the kernel's reasons.
func TestLiveKernelUnitCapabilities(t *testing.T) {
	testenv.RequireRoot(t, "ip", "setpriv", "mount", "sh")
	unit, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", "rstscope.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AmbientCapabilities=(.+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit grants no AmbientCapabilities")
	}
	var caps []string
	for _, c := range strings.Fields(string(m[1])) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	set := "-all," + strings.Join(caps, ",")
	l := newNSPair(t)
	cmd := exec.Command("ip", "netns", "exec", l.b, "sh", "-c",
		`mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec setpriv --reuid=65534 --regid=65534 --clear-groups `+
			`--inh-caps="$1" --ambient-caps="$1" --bounding-set="$1" "$0" live -i "$2" -o json --duration 1s`,
		rstscopeBin(t), set, l.bDev)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "capturing on") {
		t.Fatalf("as nobody with %s: %v\n%s", set, err, out)
	}
	if !strings.Contains(string(out), "kernel reasons from tcp:tcp_send_reset") {
		if strings.Contains(string(out), "permission denied") || os.Getenv("CI") != "" {
			t.Fatalf("as nobody with %s, no kernel reasons:\n%s", set, out)
		}
		t.Skipf("no kernel reasons here: %s", out)
	}
}
