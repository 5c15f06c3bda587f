package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cleanups are the undo steps of a scenario run, run last first.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }

func (c cleanups) run() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// countersOf reads the nstat counters of the scenario's namespaces.
func (t *Topology) countersOf(ctx context.Context, s Scenario) (map[Role]map[string]int, error) {
	m := map[Role]map[string]int{}
	for _, r := range s.counted() {
		c, err := t.nstat(ctx, r)
		if err != nil {
			return nil, err
		}
		m[r] = c
	}
	return m, nil
}

// configure applies the scenario's sysctls and iptables rules (its NAT
// too), and registers their undoing.
func (t *Topology) configure(ctx context.Context, s Scenario, undo *cleanups) error {
	for _, sc := range s.Sysctls {
		old, err := t.Exec(ctx, sc.Role, "sysctl", "-n", sc.Key)
		if err != nil {
			return err
		}
		if err := t.sysctl(ctx, sc.Role, sc.Key+"="+sc.Value); err != nil {
			return err
		}
		restore := sc.Key + "=" + strings.TrimSpace(old)
		undo.add(func() { t.sysctl(context.Background(), sc.Role, restore) })
	}
	for _, r := range s.Rules {
		if _, err := t.Exec(ctx, r.Role, s.ruleArgv(r, "-A")...); err != nil {
			return err
		}
		undo.add(func() { t.Exec(context.Background(), r.Role, s.ruleArgv(r, "-D")...) })
	}
	if s.NAT != "" {
		if _, err := t.Exec(ctx, Router, s.natArgv("-A")...); err != nil {
			return err
		}
		undo.add(func() { t.Exec(context.Background(), Router, s.natArgv("-D")...) })
	}
	return nil
}

// startServer starts the scenario's server, if it has one, and waits until
// it listens.
func (t *Topology) startServer(ctx context.Context, s Scenario, res *Result, undo *cleanups) (*proc, error) {
	if s.Server == nil {
		return nil, nil
	}
	argv := append([]string{t.Labnode, "server", "-listen", s.ServerAddr().String()}, s.Server...)
	server, err := t.procs.start(ctx, "server", t.cmd(s.Far, argv...))
	if err != nil {
		return nil, err
	}
	undo.add(func() {
		server.stop(syscall.SIGTERM)
		res.Logs["server"] = server.out.String() + server.errb.String()
	})
	return server, server.waitOutput(ctx, `"listening"`, procReady)
}

// startCaptures starts tcpdump at every vantage and waits until each
// captures.
func (t *Topology) startCaptures(ctx context.Context, s Scenario, dir string, undo *cleanups) ([]*proc, error) {
	var dumps []*proc
	undo.add(func() {
		for _, d := range dumps {
			d.stop(syscall.SIGTERM)
		}
	})
	for _, v := range Vantages {
		d, err := t.startCapture(ctx, s, v, dir)
		if err != nil {
			return nil, err
		}
		dumps = append(dumps, d)
	}
	for _, d := range dumps {
		if err := d.waitOutput(ctx, "listening on", procReady); err != nil {
			return nil, err
		}
	}
	time.Sleep(100 * time.Millisecond) // tcpdump prints before its loop starts
	return dumps, nil
}

// startInjector starts the scenario's injector in the router, if it has
// one.
func (t *Topology) startInjector(ctx context.Context, s Scenario, undo *cleanups) (*proc, error) {
	if s.Injector == nil {
		return nil, nil
	}
	_, sif := s.capturePoint(AtRouterOut)
	argv := append([]string{t.Labnode, "injector", "-client-if", "r0", "-server-if", sif,
		"-port", strconv.Itoa(int(s.Port))}, s.Injector...)
	inj, err := t.procs.start(ctx, "injector", t.cmd(Router, argv...))
	if err != nil {
		return nil, err
	}
	undo.add(func() { inj.stop(syscall.SIGTERM) })
	return inj, inj.waitOutput(ctx, `"injecting"`, procReady)
}

// runClient runs the scenario's client to its end (crashing the server
// on the way when the scenario says so).
func (t *Topology) runClient(ctx context.Context, s Scenario, res *Result, server *proc) error {
	cargs := append([]string{t.Labnode, "client", "-connect", s.ServerAddr().String()}, s.Client...)
	waitFile := filepath.Join(res.Dir, s.Name+".go")
	if s.Crash {
		os.Remove(waitFile)
		cargs = append(cargs, "-wait-file", waitFile)
	}
	client, err := t.procs.start(ctx, "client", t.cmd(Client, cargs...))
	if err != nil {
		return err
	}
	if s.Crash {
		defer os.Remove(waitFile)
		if err := t.crash(ctx, s, server, waitFile); err != nil {
			client.stop(syscall.SIGTERM)
			return err
		}
	}
	cerr := client.wait(30 * time.Second)
	res.Logs["client"] = client.out.String() + client.errb.String()
	if cerr != nil {
		return fmt.Errorf("client: %w: %s", cerr, res.Logs["client"])
	}
	return nil
}

// finish reads the counters' growth and the REJECT rules' counts, converts
// the router-in capture to pcapng, and derives the truth.
func (t *Topology) finish(ctx context.Context, res *Result, before map[Role]map[string]int) error {
	s := res.Scenario
	after, err := t.countersOf(ctx, s)
	if err != nil {
		return err
	}
	for _, r := range s.counted() {
		res.Counters[r] = map[string]int{}
		for k, v := range after[r] {
			if d := v - before[r][k]; d != 0 {
				res.Counters[r][k] = d
			}
		}
	}
	if res.RejectPackets, err = t.rejectCount(ctx, s); err != nil {
		return err
	}
	if err := toPcapngNano(ctx, filepath.Join(res.Dir, s.CaptureFile(AtRouterIn))); err != nil {
		return err
	}
	if err := buildTruth(res); err != nil {
		return fmt.Errorf("%w (client: %s)", err, res.Logs["client"])
	}
	return nil
}
