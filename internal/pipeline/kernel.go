package pipeline

import (
	"fmt"
	"io"
	"time"

	"github.com/rstscope/rstscope/internal/kernel"
)

// The values of live's --kernel: whether to ask the kernel of the
// capturing host why it sent each RST (package kernel).
const (
	KernelAuto = "auto" // when the host can tell; one line on the log when it cannot
	KernelOn   = "on"   // or fail
	KernelOff  = "off"  // never
)

// OpenKernel starts reading the kernel's reset events as mode says, and
// writes one line to log that says what it reads, or, with KernelAuto,
// why it cannot (the capture goes on without). With KernelOn that error is
// returned; with KernelOff, or when the host cannot tell, the Witness is
// nil. Events are held long enough for a verdict that waits grace.
func OpenKernel(mode string, log io.Writer, grace time.Duration) (*kernel.Witness, error) {
	if mode == KernelOff {
		return nil, nil
	}
	w, err := kernel.Open(kernel.Options{Retain: grace + 30*time.Second})
	if err != nil {
		if mode == KernelOn {
			return nil, err
		}
		fmt.Fprintf(log, "rstscope: %v; going on without them\n", err)
		return nil, nil
	}
	fmt.Fprintf(log, "rstscope: kernel reasons from %s\n", w)
	return w, nil
}

// KernelNotes returns, for Options.Notes, the summary's notes about w: the
// events its trace lost, and its reader's failure.
func KernelNotes(w *kernel.Witness) func() []string {
	return func() []string {
		var notes []string
		if st := w.Stats(); st.Lost > 0 {
			notes = append(notes, fmt.Sprintf("the kernel's trace lost %d reset events: RSTs around them have no kernel reason", st.Lost))
		}
		if err := w.Err(); err != nil {
			notes = append(notes, fmt.Sprintf("kernel reasons stopped: %v", err))
		}
		return notes
	}
}
