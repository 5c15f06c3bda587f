package rstanalysis

import (
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
	// IdleGap is the shortest silence after which a connection counts as
	// idle (DESIGN.md §3.9); a connection whose handshake RTT is known must
	// also have been quiet for 20 RTTs. Zero means 1 second.
	IdleGap time.Duration
	// IdleTimeout forgets a connection after this much capture time
	// without a packet (flows.Config.IdleTimeout); zero means 10 minutes.
	IdleTimeout time.Duration
	// MaxConns caps the connections tracked at once, the least recently
	// active evicted first (flows.Config.MaxConns); zero means 1,000,000.
	MaxConns int
	// File is copied into every verdict's File.
	File string

	// hasher is the connection tables' shared key hasher (Sharded).
	hasher *flows.Hasher
}

// Stats counts what the connection table did: connections created, open
// now and at most, expired, evicted, first seen mid-stream.
type Stats = flows.TableStats

func (c *Config) flows() flows.Config {
	return flows.Config{IdleTimeout: c.IdleTimeout, MaxConns: c.MaxConns, Hasher: c.hasher}
}

// Analyzer attributes every RST of a capture. Feed it packets in capture
// order with Packet, then call Flush at the end of the input; it calls emit
// with each verdict, in capture order, once the verdict is final. It is not
// safe for concurrent use.
type Analyzer struct {
	cfg   Config
	table *flows.Table
	hosts *Hosts
	emit  func(*Verdict)

	queue []*pending // undecided and decided verdicts, in capture order
	head  int

	resets uint64
}

// New returns an Analyzer that reports verdicts to emit.
func New(cfg Config, emit func(*Verdict)) *Analyzer {
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Second
	}
	if cfg.IdleGap <= 0 {
		cfg.IdleGap = time.Second
	}
	a := &Analyzer{cfg: cfg, table: flows.NewTable(cfg.flows()), emit: emit,
		hosts: NewHosts()}
	a.table.OnEnd = a.onEnd
	return a
}

// Packet feeds the next TCP segment of the capture. p may be reused by the
// caller as soon as Packet returns.
func (a *Analyzer) Packet(p *capture.Packet) {
	a.hosts.Observe(p)
	if p.Flags&capture.RST != 0 {
		snap := a.hosts.Snapshot(p)
		a.packet(p, &snap)
		return
	}
	a.packet(p, nil)
}

// packet processes p; snap is what the host table knew of p's addresses at
// p's frame, for a RST (nil otherwise).
func (a *Analyzer) packet(p *capture.Packet, snap *HostSnapshot) {
	a.release(p.Time)
	c, d := a.table.Lookup(p)
	a.update(c, d, p, snap)
}

// packetHashed is packet for a packet whose key and its hash (by the
// Hasher in the Config) are known.
func (a *Analyzer) packetHashed(p *capture.Packet, snap *HostSnapshot, k *flows.Key, h uint64) {
	a.release(p.Time)
	c, d := a.table.LookupHashed(p, k, h)
	a.update(c, d, p, snap)
}

// update does the analysis of p in its connection c, then records p in c.
func (a *Analyzer) update(c *flows.Conn, d flows.Dir, p *capture.Packet, snap *HostSnapshot) {
	if c.Pending > 0 {
		a.observe(c, d, p)
	}
	if p.Flags&capture.RST != 0 {
		a.onRST(c, d, p, snap)
	}
	a.table.Apply(c, d, p)
}

// Flush decides every pending verdict and emits them: call it at the end of
// the input.
func (a *Analyzer) Flush() {
	a.table.Flush()
	a.release(time.Time{})
}

// idleGap is the silence after which c counts as idle: Config.IdleGap or
// 20 handshake RTTs, whichever is longer.
func (a *Analyzer) idleGap(c *flows.Conn) time.Duration {
	return max(a.cfg.IdleGap, 20*c.RTT())
}

// Stats returns the connection table's counters.
func (a *Analyzer) Stats() Stats { return a.table.Stats() }

// Resets is the number of RST segments seen.
func (a *Analyzer) Resets() uint64 { return a.resets }

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
