package rstanalysis

import (
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Config tunes an Analyzer. The zero value is ready to use.
type Config struct {
	// Hindsight is how much more of the capture, in capture time, a verdict
	// whose claimed sender showed no packet to compare with waits for the
	// host table to learn it from other connections, before or after the
	// RST (hindsight.go); zero means none (live capture, where a verdict is
	// wanted as the RST happens).
	Hindsight time.Duration
	// Revise, when Hindsight is zero, is how long, in capture time, a
	// verdict emitted without a reference for its sender stays open to a
	// revision: when a later connection shows that host's TTL or RTT, the
	// verdict is decided again and, if it changed, emitted again with the
	// next Verdict.Revision (revise.go; a live capture). Zero means none.
	Revise time.Duration
	// Grace is how long, in capture time, a verdict waits after its RST for
	// later packets that are evidence (the rules after.*: the claimed sender
	// still sending, the genuine SYN-ACK arriving; Weaver et al., NDSS
	// 2009). Zero means 2 seconds.
	Grace time.Duration
	// IdleGap is the shortest silence after which a connection counts as
	// idle (the rules idle.*); a connection whose handshake RTT is known must
	// also have been quiet for 20 RTTs. Zero means 1 second.
	IdleGap time.Duration
	// IdleTimeout forgets a connection after this much capture time
	// without a packet (flows.Config.IdleTimeout); zero means 10 minutes.
	IdleTimeout time.Duration
	// MaxConns caps the connections tracked at once: when full, a closed
	// one is evicted first, else the oldest half-open one, else the least
	// recently active (flows.Config.MaxConns); zero means 1,000,000.
	MaxConns int
	// File is copied into every verdict's File.
	File string
	// Lend lends each verdict's Findings and Ladder to emit, as the Verdict
	// itself is lent: their memory serves later RSTs, so emit must copy
	// them to keep them (report.Writer does). False: every verdict's
	// Findings and Ladder are its own.
	Lend bool
	// Witness, if set, is asked about every RST when its verdict is
	// decided: evidence from outside the capture (see Witness).
	Witness Witness

	// hasher is the connection tables' shared key hasher (Sharded).
	hasher *flows.Hasher
	// heldOutside: mark verdicts for hindsight but leave the waiting to
	// the caller, who has the host table (Sharded's workers).
	heldOutside bool
	// compactAfter and noCompact set flows.Config.CompactAfter and
	// NoCompact (tests).
	compactAfter time.Duration
	noCompact    bool
}

// Stats counts what the connection table did: connections created, open
// now and at most, expired, evicted, first seen mid-stream.
type Stats = flows.TableStats

// holdsBack reports whether verdicts lacking a reference for their sender
// are marked for hindsight or a revision (pending.held).
func (c *Config) holdsBack() bool { return c.Hindsight > 0 || c.Revise > 0 }

func (c *Config) flows() flows.Config {
	return flows.Config{IdleTimeout: c.IdleTimeout, MaxConns: c.MaxConns, Hasher: c.hasher,
		CompactAfter: c.compactAfter, NoCompact: c.noCompact}
}

// Analyzer attributes every RST of a capture. Feed it packets in capture
// order with Packet, then call Flush at the end of the input; it calls emit
// with each verdict, in capture order, once the verdict is final. The
// Verdict is lent until emit returns (its memory serves a later RST): emit
// copies what it keeps; the Findings and the Ladder it points to are the
// verdict's own and may be kept, unless Config.Lend lends them too. It is
// not safe for concurrent use.
//
// The connection table owns the per-packet step (flows.Table.Step); the
// Analyzer sees each segment and each connection's end through the table's
// Hooks, and keeps its own per-connection state (the undecided verdicts)
// indexed by the connection's flows.Conn.Ref.
type Analyzer struct {
	cfg   Config
	table *flows.Table
	hosts *Hosts
	emit  func(*Verdict)

	queue []*pending // undecided and decided verdicts, in capture order
	head  int
	// byRef holds, per connection (by Conn.Ref), its latest undecided
	// verdict, linked to the earlier ones through pending.sameConn.
	byRef []*pending
	// held has bit r set when byRef[r] is not nil: a bitset small enough
	// to stay in cache, which most packets need to look at only.
	held []uint64
	free []*pending    // records of emitted verdicts, for the next ones (recycle)
	lad  Ladder        // the Ladder lent with a verdict (Config.Lend)
	snap *HostSnapshot // the host snapshot of the RST being stepped, if any
	hs   *hindsight    // nil: verdicts go straight to emit
	rv   *reviser      // Config.Revise; nil: none
	// ahead holds the packets Packet holds back (cap touchAhead); touched
	// keeps what Touch read.
	ahead   []item
	touched uint64

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
	if cfg.hasher == nil {
		h := flows.NewHasher()
		cfg.hasher = &h
	}
	a := &Analyzer{cfg: cfg, table: flows.NewTable(cfg.flows()), emit: emit, hosts: NewHosts(),
		ahead: make([]item, 0, touchAhead)}
	a.table.SetHooks((*tableHooks)(a))
	if cfg.Hindsight > 0 && !cfg.heldOutside {
		a.hosts.hindsight = true
		a.hs = &hindsight{hosts: a.hosts, window: cfg.Hindsight, emit: emit, lent: cfg.Lend}
		a.emit = a.hs.add
	} else if cfg.Revise > 0 && !cfg.heldOutside {
		a.hosts.hindsight = true
		a.rv = &reviser{hosts: a.hosts, window: cfg.Revise, emit: emit}
		a.emit = a.rv.add
	}
	return a
}

// Packet feeds the next TCP segment of the capture. p may be reused by the
// caller as soon as Packet returns.
//
// The Analyzer holds up to touchAhead packets back (a copy of each, with
// what the host table knew at it) and steps them together, their
// connections fetched first (flows.Table.Prefetch) so that the cache misses
// overlap; a RST, Tick and Flush step them at once, and every verdict
// comes out as if each packet had been stepped when it came.
func (a *Analyzer) Packet(p *capture.Packet) {
	a.hosts.Observe(p)
	a.ahead = a.ahead[:len(a.ahead)+1]
	it := &a.ahead[len(a.ahead)-1]
	copyPacket(&it.p, p)
	it.key.From(p)
	it.hash = a.cfg.hasher.Hash(&it.key)
	if it.rst = p.Flags&capture.RST != 0; it.rst {
		it.snap = a.hosts.Snapshot(p)
	}
	if it.rst || len(a.ahead) == cap(a.ahead) {
		a.stepAhead() // a RST at once: Pending counts it
	}
}

// stepAhead steps the packets held back.
func (a *Analyzer) stepAhead() {
	for i := range a.ahead {
		a.touched ^= a.table.Prefetch(&a.ahead[i].key, a.ahead[i].hash)
	}
	for i := range a.ahead {
		it := &a.ahead[i]
		if it.rst {
			a.packetHashed(&it.p, &it.snap, &it.key, it.hash)
		} else {
			a.packetHashed(&it.p, nil, &it.key, it.hash)
		}
	}
	if n := len(a.ahead); n > 0 && a.rv != nil {
		a.rv.advance(a.ahead[n-1].p.Time)
	}
	a.ahead = a.ahead[:0]
}

// packetHashed processes p; snap is what the host table knew of p's
// addresses at p's frame, for a RST (nil otherwise); k and h are p's key
// and its hash (by the Hasher in the Config), or nil and 0 to compute them.
func (a *Analyzer) packetHashed(p *capture.Packet, snap *HostSnapshot, k *flows.Key, h uint64) {
	a.releaseAt(p.Time)
	a.snap = snap
	if k == nil {
		a.table.Step(p)
	} else {
		a.table.StepHashed(p, k, h)
	}
	a.snap = nil
}

// tableHooks is the Analyzer as the connection table's flows.Hooks.
type tableHooks Analyzer

// Segment gives p to the undecided verdicts of its connection, and starts
// a verdict if p is a RST; c is as it was before p.
func (th *tableHooks) Segment(c *flows.Conn, d flows.Side, p *capture.Packet) {
	a := (*Analyzer)(th)
	if a.holds(c.Ref()) {
		a.observe(c, d, p)
	}
	if p.Flags&capture.RST != 0 {
		a.onRST(c, d, p)
	}
}

// End decides the verdicts of a connection that leaves the table, while
// its state is still there to compare against.
func (th *tableHooks) End(c *flows.Conn, _ flows.EndReason) {
	a := (*Analyzer)(th)
	r := c.Ref()
	if !a.holds(r) {
		return
	}
	for pd := a.byRef[r]; pd != nil; pd = pd.sameConn {
		if !pd.final && pd.gen == c.Gen() {
			pd.finalize(c, a.cfg.holdsBack(), a.cfg.Witness)
		}
	}
	a.byRef[r] = nil
	a.held[r/64] &^= 1 << (r % 64)
}

// Keep keeps closed connection c whole while a verdict of it is undecided:
// the rules that decide it read the connection as it then is.
func (th *tableHooks) Keep(c *flows.Conn) bool {
	a := (*Analyzer)(th)
	if r := c.Ref(); a.holds(r) {
		for pd := a.byRef[r]; pd != nil; pd = pd.sameConn {
			if !pd.final && pd.gen == c.Gen() {
				return true
			}
		}
	}
	return false
}

// onRST starts the verdict of RST p, sent by side d on c.
func (a *Analyzer) onRST(c *flows.Conn, d flows.Side, p *capture.Packet) {
	a.resets++
	pd := a.newPending(c, d, p, a.snap)
	r := int(c.Ref())
	if r >= len(a.byRef) {
		a.byRef = append(a.byRef, make([]*pending, r+1-len(a.byRef))...)
		a.held = append(a.held, make([]uint64, r/64+1-len(a.held))...)
	}
	if prev := a.byRef[r]; prev != nil && prev.gen == pd.gen {
		pd.sameConn = prev
	}
	a.byRef[r] = pd
	a.held[r/64] |= 1 << (r % 64)
	a.queue = append(a.queue, pd)
}

// holds reports whether byRef[r] holds verdicts.
func (a *Analyzer) holds(r uint32) bool {
	return int(r/64) < len(a.held) && a.held[r/64]&(1<<(r%64)) != 0
}

// observe gives p, sent by side d, to the undecided verdicts of c, and
// unlinks the decided ones.
func (a *Analyzer) observe(c *flows.Conn, d flows.Side, p *capture.Packet) {
	link := &a.byRef[c.Ref()]
	for pd := *link; pd != nil; pd = pd.sameConn {
		if pd.final || pd.gen != c.Gen() {
			*link = pd.sameConn
			continue
		}
		pd.observe(d, p)
		link = &pd.sameConn
	}
	if r := c.Ref(); a.byRef[r] == nil {
		a.held[r/64] &^= 1 << (r % 64)
	}
}

// Flush decides every pending verdict and emits them: call it at the end of
// the input.
func (a *Analyzer) Flush() {
	a.stepAhead()
	a.table.Flush()
	a.releaseAt(time.Time{})
	if a.hs != nil {
		a.hs.advance(time.Time{}, 0)
	}
}

// idleGap is the silence after which c counts as idle: Config.IdleGap or
// idleRTTs handshake RTTs, whichever is longer.
func (a *Analyzer) idleGap(c *flows.Conn) time.Duration {
	return max(a.cfg.IdleGap, idleRTTs*c.RTT())
}

// idleRTTs is how many handshake RTTs of silence make a connection idle at
// least: far more than a delayed ACK or a retransmission takes.
const idleRTTs = 20

// Stats returns the connection table's counters.
func (a *Analyzer) Stats() Stats { return a.table.Stats() }

// Resets is the number of RST segments seen.
func (a *Analyzer) Resets() uint64 { return a.resets }

// release emits, in capture order, the verdicts whose grace period has
// passed at capture time now; a zero now emits all. A verdict still
// undecided here has a live connection (End decides the others).
func (a *Analyzer) release(now time.Time) {
	a.stepAhead()
	a.releaseAt(now)
}

// releaseAt is release for the packets stepped so far.
func (a *Analyzer) releaseAt(now time.Time) {
	for a.head < len(a.queue) {
		pd := a.queue[a.head]
		if !pd.final {
			if !now.IsZero() && now.Before(pd.deadline) {
				break
			}
			c := pd.conn
			if c.Gen() != pd.gen {
				c = nil
			}
			pd.finalize(c, a.cfg.holdsBack(), a.cfg.Witness)
		}
		a.queue[a.head] = nil
		a.head++
		a.hand(pd)
	}
	if a.head == len(a.queue) {
		a.queue = a.queue[:0]
		a.head = 0
	}
}

// hand emits pd's verdict, with its Ladder, and takes pd back for a later
// RST unless the verdict is held for hindsight or a revision.
func (a *Analyzer) hand(pd *pending) {
	held := pd.v.held != nil
	if pd.lend && !held { // lent, in the memory of the Analyzer's ladder
		pd.lad.to(&a.lad)
		pd.v.Ladder = &a.lad
	} else { // the verdict's own: a held one is emitted again later
		pd.v.Ladder = &Ladder{}
		pd.lad.to(pd.v.Ladder)
	}
	a.emit(&pd.v)
	if !held {
		a.recycle(pd)
	}
}
