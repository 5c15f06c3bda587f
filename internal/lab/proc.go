package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procReady bounds how long a background process may take to say it is ready.
const procReady = 5 * time.Second

// proc is a background process in its own process group, so stopping it
// also stops anything it started.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    syncBuffer // stdout
	errb   syncBuffer // stderr
	done   chan struct{}
	err    error // valid after done
	stopMu sync.Mutex
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
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

// procSet tracks every background process so cleanup can stop them all.
type procSet struct {
	mu    sync.Mutex
	procs []*proc
}

// start runs argv in the background in a new process group.
func (ps *procSet) start(ctx context.Context, name string, argv []string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ps.mu.Lock()
	ps.procs = append(ps.procs, p)
	ps.mu.Unlock()
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// stopAll stops every process still running.
func (ps *procSet) stopAll() {
	ps.mu.Lock()
	procs := ps.procs
	ps.procs = nil
	ps.mu.Unlock()
	for _, p := range procs {
		p.stop(syscall.SIGTERM)
	}
}

// ErrNotReady is returned when a background process did not print its
// readiness line in time.
var ErrNotReady = errors.New("process not ready")

// waitOutput waits until stdout or stderr contains want.
func (p *proc) waitOutput(ctx context.Context, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.out.String(), want) || strings.Contains(p.errb.String(), want) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before %q: %v: %s%s", p.name, want, p.err, p.out.String(), p.errb.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w: no %q after %v: %s", p.name, ErrNotReady, want, timeout, p.errb.String())
		}
	}
}

// wait waits for the process to exit on its own, at most timeout, then
// stops it.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.stop(syscall.SIGTERM)
		return fmt.Errorf("%s: still running after %v", p.name, timeout)
	}
}

// stop signals the process group and waits for the exit; SIGKILL after 3 s.
func (p *proc) stop(sig syscall.Signal) {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}
