package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testenv"
)

// revLine is the part of a JSON line TestLiveRevision checks.
type revLine struct {
	Frame    uint64 `json:"frame"`
	Event    uint64 `json:"event"`
	Server   string `json:"server"`
	Origin   string `json:"origin"`
	Cause    string `json:"cause"`
	Revision int    `json:"revision"`
	Was      *struct {
		Origin string `json:"origin"`
	} `json:"was"`
	Evidence []string `json:"evidence"`
	Summary  *summary `json:"summary"`
}

// TestLiveRevision: a refused SYN to a server not seen before goes out
// unknown (no packet of the server to compare the RST's TTL with, no RTT
// to time it against); a later connection to an open port of the same
// server shows its TTL (128, set apart from the client's 64) and RTT, and
// the refusal is written again as revision 1, now from the server. The
// summary counts it once, by its latest verdict.
func TestLiveRevision(t *testing.T) {
	testenv.RequireRoot(t, "ip", "sysctl")
	l := newNSPair(t)
	mustRun(t, "ip", "netns", "exec", l.b, "sysctl", "-q", "-w", "net.ipv4.ip_default_ttl=128")
	closed, open := l.bIP+":7101", l.bIP+":7102"
	startServer(t, l.b, open)
	p := startLive(t, l.a, "-i", l.aDev, "-o", "json", "--json-summary", "--grace", "200ms", "--kernel", "off", "--", "tcp")

	next := func(within time.Duration) revLine {
		t.Helper()
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("rstscope ended early: %s", p.stderr.String())
			}
			var v revLine
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			return v
		case <-time.After(within):
			t.Fatalf("no line within %v: %s", within, p.stderr.String())
		}
		return revLine{}
	}
	if out, err := helper(t, l.a, "dial", closed).CombinedOutput(); err != nil || !strings.Contains(string(out), "refused") {
		t.Fatalf("dial %s: %v %s", closed, err, out)
	}
	first := next(5 * time.Second)
	if first.Server != closed || first.Origin != "unknown" || first.Cause != "refused" || first.Revision != 0 || first.Was != nil {
		t.Fatalf("first issue of the refusal: %+v, want unknown refused with no revision", first)
	}
	if out, err := helper(t, l.a, "dial", open).CombinedOutput(); err != nil || !strings.Contains(string(out), "reset") {
		t.Fatalf("dial %s: %v %s", open, err, out)
	}
	var rev, abort *revLine
	for rev == nil || abort == nil {
		v := next(5 * time.Second)
		switch {
		case v.Revision > 0:
			rev = &v
		case v.Server == open:
			abort = &v
		default:
			t.Fatalf("unexpected line %+v", v)
		}
	}
	if rev.Frame != first.Frame || rev.Event != first.Event || rev.Revision != 1 || rev.Origin != "server" ||
		rev.Cause != "refused" || rev.Was == nil || rev.Was.Origin != "unknown" {
		t.Errorf("revision %+v, want frame %d revision 1 server refused, was unknown", *rev, first.Frame)
	}
	if !strings.Contains(strings.Join(rev.Evidence, "\n"), "after this RST") {
		t.Errorf("the revision does not cite the later connection: %q", rev.Evidence)
	}
	if abort.Origin != "server" {
		t.Errorf("the server abort: %+v", *abort)
	}
	rest, sum, code := p.stop(t)
	if code != 0 || len(rest) != 0 || sum == nil {
		t.Fatalf("after SIGINT: exit %d, %d more lines, summary %v; stderr:\n%s", code, len(rest), sum, p.stderr.String())
	}
	if sum.RSTs != 2 || sum.Verdicts != 2 || sum.ByOrigin["server"] != 2 || sum.ByOrigin["unknown"] != 0 {
		t.Errorf("summary %+v, want 2 RSTs and verdicts, both from the server", sum)
	}
}
