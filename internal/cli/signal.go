package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// SignalError is the cause (context.Cause) of the context NotifySignals
// cancels: the signal that asked rstscope to stop.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string { return "interrupted by " + signalName(e.Signal) }

// ExitCode is the exit status of a process ended by the signal, as a shell
// reports it: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
func (e *SignalError) ExitCode() int { return 128 + int(e.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// NotifySignals returns a context that the first SIGINT or SIGTERM cancels,
// with a *SignalError as its cause: a read then stops within a second and
// prints what it has decided, and Main exits 130 or 143 (a live capture,
// which a signal is the usual way to stop, exits 0). At a second signal it
// writes one line to stderr and calls exit with 128 + that signal's number
// at once, without the report: whatever the first one is waiting for (a
// report written to a pipe nobody reads, a long final analysis). stop
// releases the signals; the context's resources go with it.
func NotifySignals(parent context.Context, stderr io.Writer, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				sig, _ := s.(syscall.Signal)
				if first {
					first = false
					cancel(&SignalError{Signal: sig})
					continue
				}
				fmt.Fprintf(stderr, "rstscope: %s again: exiting without the report\n", signalName(sig))
				exit(128 + int(sig))
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(context.Canceled)
	}
}
