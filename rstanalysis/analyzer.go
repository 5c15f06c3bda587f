package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Config tunes an Analyzer. The zero value is ready to use.
type Config struct {
	// Grace is how long, in capture time, a verdict waits after its RST for
	// later packets that are evidence (DESIGN.md §3.4: the claimed sender
	// still sending, the genuine SYN-ACK arriving). Zero means 2 seconds.
	Grace time.Duration
	// IdleGap is the silence after which a connection counts as idle
	// (DESIGN.md §3.9). Zero means 5 seconds.
	IdleGap time.Duration
	// Flows bounds the connection table.
	Flows flows.Config
	// File is copied into every verdict's File.
	File string
}

// Analyzer attributes every RST of a capture. Feed it packets in capture
// order with Packet, then call Flush at the end of the input; it calls emit
// with each verdict, in capture order, once the verdict is final. It is not
// safe for concurrent use.
type Analyzer struct {
	cfg   Config
	table *flows.Table
	hosts hosts
	emit  func(*Verdict)

	queue []*pending // undecided and decided verdicts, in capture order
	head  int

	resets  uint64
	vantage map[string]int
}

// New returns an Analyzer that reports verdicts to emit.
func New(cfg Config, emit func(*Verdict)) *Analyzer {
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Second
	}
	if cfg.IdleGap <= 0 {
		cfg.IdleGap = 5 * time.Second
	}
	a := &Analyzer{cfg: cfg, table: flows.NewTable(cfg.Flows), emit: emit,
		hosts: hosts{m: make(map[netip.Addr]hostInfo)}, vantage: make(map[string]int)}
	a.table.OnEnd = a.onEnd
	return a
}

// Packet feeds the next TCP segment of the capture. p may be reused by the
// caller as soon as Packet returns.
func (a *Analyzer) Packet(p *capture.Packet) {
	a.release(p.Time)
	c, d := a.table.Lookup(p)
	if p.Flags&capture.SYN != 0 && p.Flags&capture.RST == 0 {
		var rtt time.Duration
		if d == flows.FromServer && p.Flags&capture.ACK != 0 && !c.SYNTime.IsZero() {
			rtt = p.Time.Sub(c.SYNTime)
		}
		a.hosts.learn(p, rtt)
	}
	if c.Pending > 0 {
		a.observe(c, d, p)
	}
	if p.Flags&capture.RST != 0 {
		a.onRST(c, d, p)
	}
	a.table.Apply(c, d, p)
}

// Flush decides every pending verdict and emits them: call it at the end of
// the input.
func (a *Analyzer) Flush() {
	a.table.Flush()
	a.release(time.Time{})
}

// Stats returns the connection table's counters.
func (a *Analyzer) Stats() flows.TableStats { return a.table.Stats() }

// Resets is the number of RST segments seen.
func (a *Analyzer) Resets() uint64 { return a.resets }

// Vantages counts the verdicts per vantage point description.
func (a *Analyzer) Vantages() map[string]int { return a.vantage }

// release emits, in capture order, the verdicts whose grace period has
// passed at capture time now; a zero now emits all.
func (a *Analyzer) release(now time.Time) {
	for a.head < len(a.queue) {
		pd := a.queue[a.head]
		if !pd.final {
			if !now.IsZero() && now.Before(pd.deadline) {
				break
			}
			a.finalize(pd)
		}
		a.queue[a.head] = nil
		a.head++
		a.vantage[pd.v.Vantage]++
		a.emit(&pd.v)
	}
	if a.head == len(a.queue) {
		a.queue = a.queue[:0]
		a.head = 0
	}
}

// onEnd finalizes the verdicts of a connection that leaves the table, while
// its state is still there to compare against.
func (a *Analyzer) onEnd(c *flows.Conn, _ flows.EndReason) {
	if c.Pending == 0 {
		return
	}
	for _, pd := range a.queue[a.head:] {
		if pd.conn == c && pd.gen == c.Gen() && !pd.final {
			a.finalize(pd)
		}
	}
}

// observe gives the packet to the undecided verdicts of its connection.
func (a *Analyzer) observe(c *flows.Conn, d flows.Dir, p *capture.Packet) {
	for _, pd := range a.queue[a.head:] {
		if pd.conn == c && pd.gen == c.Gen() && !pd.final {
			pd.observe(c, d, p)
		}
	}
}

// hosts remembers, per address, the TTL of its SYN or SYN-ACK and the RTT
// from the vantage point, so a RST on a connection with no other packet from
// its claimed sender can be compared with that host's other connections.
type hosts struct{ m map[netip.Addr]hostInfo }

type hostInfo struct {
	ttl   uint8
	frame uint64
	rtt   time.Duration // SYN to SYN-ACK, when the host answered a SYN
}

const maxHosts = 1 << 17

func (h *hosts) learn(p *capture.Packet, rtt time.Duration) {
	old, ok := h.m[p.Src]
	if !ok && len(h.m) >= maxHosts {
		clear(h.m)
	}
	if rtt == 0 && ok {
		rtt = old.rtt
	}
	h.m[p.Src] = hostInfo{ttl: p.TTL, frame: p.Frame, rtt: rtt}
}

func (h *hosts) get(addr netip.Addr) (hostInfo, bool) {
	i, ok := h.m[addr]
	return i, ok
}
