package kernel

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/rstanalysis"
)

// Confidence of the testimony, for each way a RST is joined with its
// event: the same 4-tuple; a listener's port (the kernel records a
// listener's RST without the peer); the destination alone (a source NAT on
// this host rewrote the sender); no event at all (the stack did not send
// it, but something else on this host did, most likely its firewall).
const (
	confTuple   = 0.99
	confListen  = 0.97
	confNAT     = 0.9
	confNoEvent = 0.9
)

// Testify implements rstanalysis.Witness. A RST from one of this host's
// addresses is joined with the tcp_send_reset that made it, which proves
// the host's TCP stack sent it and says why (kernel.no_socket,
// kernel.abort_on_close, ...); when none was recorded, it left this host
// without the TCP stack (kernel.no_event: a firewall's REJECT or a raw
// socket). A RST to one of this host's addresses is joined with the
// tcp_receive_reset of the socket it reset (kernel.socket_reset, context).
// Nothing is said of a RST between two other hosts, nor when events may
// have been lost around it. It may wait up to about half a second for the
// reader to catch up with the RST.
func (w *Witness) Testify(r *rstanalysis.Reset) []rstanalysis.Testimony {
	srcLocal, dstLocal := w.local.has(r.Src.Addr()), w.local.has(r.Dst.Addr())
	if !srcLocal && !dstLocal {
		return nil
	}
	m := toMono(r.Time)
	var out []rstanalysis.Testimony
	w.mu.Lock()
	defer w.mu.Unlock()
	if srcLocal {
		if t, ok := w.sent(r, m); ok {
			out = append(out, t)
		}
	}
	if dstLocal {
		if t, ok := w.received(r, m); ok {
			out = append(out, t)
		}
	}
	return out
}

// sent is the testimony about a RST from this host at trace time m. w.mu
// is held.
func (w *Witness) sent(r *rstanalysis.Reset, m time.Duration) (rstanalysis.Testimony, bool) {
	e, conf := w.findSent(r, m)
	if e == nil && w.catchUp(m) {
		e, conf = w.findSent(r, m)
	}
	if e == nil {
		if !w.canDeny(m) {
			return rstanalysis.Testimony{}, false
		}
		w.stats.NoEvent++
		return rstanalysis.Testimony{Rule: rstanalysis.RuleKernelNoEvent, Sent: true, Confidence: confNoEvent,
			Cause: rstanalysis.CauseFirewallReject,
			Text: "this host sent it, but not its TCP stack (no tcp_send_reset): a firewall rule on this host " +
				"(iptables or nftables REJECT with tcp-reset) or a raw socket made it"}, true
	}
	e.used = true
	w.stats.Joined++
	ev := &e.ev
	rs := reasonOf(ev.Reason)
	sock := "socket in " + ev.State
	if ev.State == "UNKNOWN" || ev.State == "" {
		sock = "no socket"
	}
	text := fmt.Sprintf("this host's TCP stack sent it (tcp_send_reset reason=%s, %s): %s", ev.Reason, sock, rs.words(ev.State))
	if ev.Process {
		text += fmt.Sprintf(", in %s (pid %d)", ev.Comm, ev.PID)
	}
	switch conf {
	case confListen:
		text += "; joined on the listener's port"
	case confNAT:
		text += fmt.Sprintf("; sent as %s, rewritten by NAT on this host", ev.Src)
	}
	return rstanalysis.Testimony{Rule: rs.rule, Text: text, Sent: true, Confidence: conf,
		Cause: rs.causeOf(ev.State, r.Phase, r.From)}, true
}

// findSent joins r with its tcp_send_reset: by 4-tuple, then a listener's
// on the same port, then by destination. w.mu is held.
func (w *Witness) findSent(r *rstanalysis.Reset, m time.Duration) (*entry, float64) {
	if e := nearest(w.idx.byTuple[tuple{r.Src, r.Dst}], m, window, nil); e != nil {
		return e, confTuple
	}
	listener := func(ev *Event) bool {
		a := ev.Src.Addr()
		return a.IsUnspecified() || a == r.Src.Addr()
	}
	if e := nearest(w.idx.byListen[r.Src.Port()], m, window, listener); e != nil {
		return e, confListen
	}
	if e := nearest(w.idx.byDst[r.Dst], m, window, nil); e != nil {
		return e, confNAT
	}
	return nil, 0
}

// received is the testimony about a RST to this host at trace time m.
// w.mu is held.
func (w *Witness) received(r *rstanalysis.Reset, m time.Duration) (rstanalysis.Testimony, bool) {
	if w.in != nil && !w.in.recv {
		return rstanalysis.Testimony{}, false
	}
	key := tuple{r.Src, r.Dst}
	e := nearest(w.idx.recv[key], m, window, nil)
	if e == nil && w.catchUp(m) {
		e = nearest(w.idx.recv[key], m, window, nil)
	}
	if e != nil {
		e.used = true
		return rstanalysis.Testimony{Rule: rstanalysis.RuleKernelSocketReset,
			Text: fmt.Sprintf("it reset this host's socket %s (tcp_receive_reset)", r.Dst)}, true
	}
	if !socketExpected(r) || !w.canDeny(m) {
		return rstanalysis.Testimony{}, false
	}
	return rstanalysis.Testimony{Rule: rstanalysis.RuleKernelSocketKept,
		Text: fmt.Sprintf("it reset no socket of this host (no tcp_receive_reset for %s): its seq was not the one "+
			"expected (RFC 5961 §3.2) or the socket was already gone", r.Dst)}, true
}

// socketExpected tells whether the receiver of r had a full socket that
// tcp_reset would report: a connection in progress, not a half-open one
// (a request socket drops its RST silently), not one closing (TIME_WAIT
// sockets too) or already reset.
func socketExpected(r *rstanalysis.Reset) bool {
	switch r.Phase {
	case rstanalysis.PhaseSYN:
		return r.From == rstanalysis.Server // the client's socket in SYN_SENT
	case rstanalysis.PhaseEstablished, rstanalysis.PhaseRequest, rstanalysis.PhaseTLSHandshake,
		rstanalysis.PhaseResponse, rstanalysis.PhaseIdle:
		return true
	}
	return false
}

// catchUp waits until every event up to slack after m was read, or
// syncTimeout passes: it writes a marker to the trace to wake the reader.
// It reports whether the reader caught up. w.mu is held, and released
// while waiting.
func (w *Witness) catchUp(m time.Duration) bool {
	target := m + slack
	if w.caught >= target {
		return true
	}
	if w.in == nil || w.failed != nil {
		return false
	}
	w.mu.Unlock()
	defer w.mu.Lock()
	if d := target - monoNow(); d > 0 {
		time.Sleep(d)
	}
	if w.in.mark("rstscope-sync") != nil {
		return false
	}
	for start := time.Now(); time.Since(start) < syncTimeout; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		ok := w.caught >= target
		w.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// canDeny tells whether the absence of an event for a RST at m means
// anything: events were recorded, read and kept all around it, none lost.
// w.mu is held.
func (w *Witness) canDeny(m time.Duration) bool {
	if m-lead < w.started || m-window < w.horizon || w.caught < m+slack || w.failed != nil {
		return false
	}
	for _, s := range w.lost {
		if s.to >= m-window && s.from <= m+window {
			return false
		}
	}
	return true
}
