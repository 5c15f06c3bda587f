package flows

import (
	"time"

	"github.com/rstscope/rstscope/capture"
)

// Config bounds a Table.
type Config struct {
	// IdleTimeout expires a connection that has seen no packet for this long
	// (capture time). Zero means 10 minutes: longer than the idle timeouts
	// of common load balancers and NATs (AWS NLB 350 s, Azure LB 4 min), so
	// that the RST that ends such a connection still finds its history.
	IdleTimeout time.Duration
	// ClosedTimeout expires a connection this long after it was reset or
	// both sides sent FIN. Zero means 10 seconds: longer than the
	// retransmissions a closed or reset connection still sees (Linux
	// TIME_WAIT answers them for 60 s, but they come within a few RTOs), and
	// short enough that a busy server's closed connections do not crowd
	// memory.
	ClosedTimeout time.Duration
	// CompactAfter is how long a closed connection stays whole after its
	// last packet before it is shrunk to a compact record (shut), if the
	// Hooks do not keep it: long enough for the packets that end a close
	// (the last ACK and a RST answering a FIN come within a round trip).
	// Zero means 500 ms.
	CompactAfter time.Duration
	// MaxConns caps the number of tracked connections, compact records
	// included; when full, a closed connection is evicted, else the oldest
	// half-open one, else the least recently active (makeRoom). Zero means
	// 1,000,000.
	MaxConns int
	// NoCompact keeps every connection whole: no half-open or closed
	// connection is held in a compact record. The verdicts are the same
	// either way (for comparisons and tests).
	NoCompact bool
	// Hasher hashes the keys of the table's index; nil means a new one.
	// Give tables the same Hasher to use LookupHashed with one hash.
	Hasher *Hasher
}

func (c *Config) defaults() {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.ClosedTimeout <= 0 {
		c.ClosedTimeout = 10 * time.Second
	}
	if c.CompactAfter <= 0 {
		c.CompactAfter = 500 * time.Millisecond
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 1_000_000
	}
}

// EndReason says why a connection left the table.
type EndReason uint8

const (
	EndIdle         EndReason = iota // no packet for Config.IdleTimeout
	EndClosed                        // reset or closed, then Config.ClosedTimeout passed
	EndEvicted                       // the table was full (Config.MaxConns)
	EndReincarnated                  // a new SYN reused the 5-tuple
	EndFlush                         // the input ended (Table.Flush)
	// EndCompacted: the connection, closed and quiet, was shrunk to a
	// compact record (Config.CompactAfter). A late packet brings it back as
	// a Conn with the same ID and another Ref.
	EndCompacted
)

// TableStats counts what a Table has done.
type TableStats struct {
	Conns     uint64 // connections created
	Open      int    // connections tracked now, compact records included
	MaxOpen   int    // most connections tracked at once
	Expired   uint64 // removed after IdleTimeout or ClosedTimeout
	Evicted   uint64 // removed early because the table was full
	Midstream uint64 // connections first seen without SYN or SYN-ACK

	HalfOpen        int    // of Open: half-open connections in compact records
	Compacted       int    // of Open: closed connections in compact records
	EvictedHalfOpen uint64 // of Evicted: half-open connections
}

// Table tracks TCP connections. It is not safe for concurrent use.
//
// Memory follows the number of open connections: each is a fixed-size Conn
// of 1,024 bytes, its streams' first bytes in the table's head store
// (heads.go), recycled through a free list, so the per-packet path
// allocates nothing once the table has grown to its working size. A half-open connection (a SYN and nothing
// back) is held in a 96-byte record until its next packet (syn.go), and a
// closed one in a 104-byte record once quiet (shut.go). Records hold no
// pointers and link each other by ref, so their slabs are not scanned by
// the garbage collector.
type Table struct {
	cfg   Config
	conns index
	// open and closed are LRU lists of Conns (head = most recent); a
	// connection moves to closed when it is reset or both sides have sent
	// FIN.
	open, closed list
	full         slab[Conn]
	syns         stubs[synRec, *synRec]
	shuts        shutStore
	stats        TableStats
	gen          uint64
	hooks        Hooks
	replay       capture.Packet // the SYN a promotion replays (syn.go)
	heads        *headStore     // the Conns' heads (heads.go); nil until needed
	storeTag     uint32         // heads's tag (storeOf)
}

// Hooks are what a table's user sees of the connections: every segment
// with its connection as it was before the segment, and every connection's
// end while its state is still there. The model is gopacket's reassembly
// Stream: the table owns the per-packet step and calls out.
type Hooks interface {
	// Segment is called by Step for each packet p, sent by side s of
	// connection c, before the table records p in c: c is what the
	// connection looked like when p arrived. p and c must not be kept
	// after Segment returns.
	Segment(c *Conn, s Side, p *capture.Packet)
	// End is called before c leaves the table, is shrunk to a compact
	// record (EndCompacted) or its 5-tuple starts a new connection, with
	// the reason; c is intact and must not be kept.
	End(c *Conn, why EndReason)
	// Keep reports whether the user still needs closed connection c whole
	// (an undecided verdict of it): the table then leaves it as it is
	// instead of shrinking it to a compact record, and asks again later.
	Keep(c *Conn) bool
}

// at returns the Conn with ref r, or nil for 0.
func (t *Table) at(r uint32) *Conn {
	if r == 0 {
		return nil
	}
	return t.full.at(r)
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	cfg.defaults()
	h := cfg.Hasher
	if h == nil {
		nh := NewHasher()
		h = &nh
	}
	return &Table{cfg: cfg, conns: newIndex(*h)}
}

// Stats returns the table's counters.
func (t *Table) Stats() TableStats {
	s := t.stats
	s.Open, s.HalfOpen, s.Compacted = t.conns.n, t.syns.live, t.shuts.live
	return s
}

// SetHooks makes h see every segment and every connection's end from now
// on; nil sees nothing.
func (t *Table) SetHooks(h Hooks) { t.hooks = h }

// Step takes the next TCP segment of the capture: it finds or creates p's
// connection (a new incarnation when a SYN reuses the 5-tuple of a
// connection that was reset or closed), expires idle connections by p's
// timestamp, gives p to the Hooks with the connection as it was, records
// p, and returns the connection and the side that sent p. The returned
// Conn is valid until the next call; it is nil when p, a SYN without
// payload for a new connection, was kept as a half-open record (the Hooks
// see it when the connection's next packet arrives).
func (t *Table) Step(p *capture.Packet) (*Conn, Side) {
	var k Key
	k.From(p)
	return t.StepHashed(p, &k, t.conns.Hash(&k))
}

// StepHashed is Step for a packet whose key k = KeyOf(p) and hash h (by the
// Hasher in the table's Config) the caller has computed already.
func (t *Table) StepHashed(p *capture.Packet, k *Key, h uint64) (*Conn, Side) {
	c, s := t.lookup(p, k, h)
	if c == nil {
		return nil, s
	}
	if t.hooks != nil {
		t.hooks.Segment(c, s, p)
	}
	t.apply(c, s, p)
	return c, s
}

// lookup returns p's connection, creating it or a new incarnation, and the
// side that sent p; it does not record p. The connection is nil when p was
// kept as a new half-open record.
func (t *Table) lookup(p *capture.Packet, k *Key, h uint64) (*Conn, Side) {
	now := NanosOf(p.Time)
	t.expire(now)
	x := t.find(k, h)
	var c *Conn
	switch x.kind() {
	case kindConn:
		c = t.at(x.ref())
	case kindSYN:
		c = t.promote(x, h, now)
	case kindShut:
		// A SYN on a closed connection's 5-tuple starts a new one; a record
		// past its time (its list is not in time order, see shrinkClosed)
		// is gone.
		if p.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN || now.Sub(t.shuts.at(x.ref()).last) > t.cfg.ClosedTimeout {
			t.dropShut(x, h, now)
		} else {
			c = t.inflate(x, h)
		}
	}
	switch {
	case c == nil:
		c = t.create(k, h, p)
	case p.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN && t.reincarnates(c, p):
		t.end(c, EndReincarnated)
		t.conns.del(handle(c.ref), h)
		t.recycle(c)
		c = t.create(k, h, p)
	}
	if c == nil {
		return nil, Client
	}
	return c, c.sideOf(p)
}

// find returns the handle of the connection with key k and hash h, or 0.
func (t *Table) find(k *Key, h uint64) handle {
	x := &t.conns
	if x.slots == nil {
		return 0
	}
	mask, tag := uint64(len(x.slots)-1), tagOf(h)
	for i := uint64(tag) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.x == 0 {
			return 0
		}
		if s.h == tag && t.keyIs(s.x, k) {
			return s.x
		}
	}
}

// keyIs reports whether the key of the record with handle x is k.
func (t *Table) keyIs(x handle, k *Key) bool {
	switch x.kind() {
	case kindConn:
		return t.full.at(x.ref()).Key.equal(k)
	case kindSYN:
		return t.syns.at(x.ref()).Key.equal(k)
	}
	return t.shuts.keyIs(t.shuts.at(x.ref()), k)
}

// reincarnates reports whether SYN p starts a new connection on c's 5-tuple.
func (t *Table) reincarnates(c *Conn, p *capture.Packet) bool {
	if c.Closed() || c.fins != 0 { // either side sent a FIN (Half.SawFIN)
		return true
	}
	cl := &c.Half[Client]
	// A SYN with another ISN from the same client before any SYN-ACK is a
	// new attempt only if the old one is long gone; otherwise treat it as a
	// retransmission with a changed ISN (some stacks do that).
	if cl.SawSYN && c.Established() && p.Seq != cl.ISN {
		return true
	}
	return false
}

// create makes the connection that p, its first packet, starts, with key k
// and hash h: a half-open record for a SYN without payload (returning
// nil), else a Conn.
func (t *Table) create(k *Key, h uint64, p *capture.Packet) *Conn {
	if !t.cfg.NoCompact && halfOpens(p) {
		t.newHalfOpen(k, h, p)
		return nil
	}
	t.makeRoom()
	t.stats.Conns++
	c := t.newConn(k, h, p, t.stats.Conns)
	if c.Midstream {
		t.stats.Midstream++
	}
	t.conns.put(handle(c.ref), h)
	t.list(c)
	t.counted()
	return c
}

// alloc returns a zero Conn with its ref, a new generation and the
// table's head store.
func (t *Table) alloc() *Conn {
	r, c := t.full.alloc()
	t.gen++
	t.headStore()
	c.ref, c.gen, c.store = r, t.gen, t.storeTag
	return c
}

// newConn returns a new Conn with key k, hash h and ID id whose first
// packet is p (not recorded yet), neither indexed nor listed.
func (t *Table) newConn(k *Key, h uint64, p *capture.Packet, id uint64) *Conn {
	c := t.alloc()
	c.ID = id
	c.Key = *k
	client, server := p.SrcAddrPort(), p.DstAddrPort()
	switch {
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN:
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN|capture.ACK:
		client, server = server, client
		c.SYNMissed = true
	default:
		c.Midstream = true
		if ServerByPort(client.Port(), server.Port()) {
			client, server = server, client
		}
	}
	c.setEnds(client, server)
	c.FirstTime = NanosOf(p.Time)
	c.LastTime = c.FirstTime
	c.hash = h
	return c
}

// counted notes a new entry in the index.
func (t *Table) counted() {
	if n := t.conns.n; n > t.stats.MaxOpen {
		t.stats.MaxOpen = n
	}
}

// ServerByPort guesses, for a connection whose SYN was not captured, whether
// the endpoint with port a is the server rather than the one with port b: a
// well-known port (below 1024) beats any other, a port below the Linux
// ephemeral range (32768) beats one inside it, and otherwise the lower port
// wins. It is a heuristic and verdicts that rely on it say so.
func ServerByPort(a, b uint16) bool {
	rank := func(p uint16) int {
		switch {
		case p < 1024:
			return 0
		case p < 32768:
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

func (t *Table) end(c *Conn, why EndReason) {
	if t.hooks != nil {
		t.hooks.End(c, why)
	}
}

func (t *Table) remove(c *Conn, why EndReason) {
	t.end(c, why)
	t.conns.del(handle(c.ref), c.hash)
	t.recycle(c)
}

// recycle unlinks c from its list, clears it and frees it.
func (t *Table) recycle(c *Conn) {
	if c.prev != 0 || c.next != 0 || t.open.head == c.ref || t.closed.head == c.ref {
		t.unlink(t.listOf(c), c)
	}
	t.freeHeads(c)
	t.full.release(c.ref)
}

// Flush ends every connection (Hooks.End with EndFlush for the Conns),
// oldest first.
func (t *Table) Flush() {
	for _, l := range []*list{&t.closed, &t.open} {
		for c := t.at(l.tail); c != nil; c = t.at(l.tail) {
			t.remove(c, EndFlush)
		}
	}
	for r, s := t.syns.oldest(); r != 0; r, s = t.syns.oldest() {
		t.conns.del(kindSYN|handle(r), t.conns.Hash(&s.Key))
		t.syns.drop(r)
	}
	for r, s := t.shuts.oldest(); r != 0; r, s = t.shuts.oldest() {
		k := t.shuts.key(s)
		t.conns.del(kindShut|handle(r), t.conns.Hash(&k))
		t.shuts.drop(r)
	}
	// No Conn is left: the head store and its tag can go.
	if t.heads != nil {
		releaseStore(t.storeTag)
		t.heads, t.storeTag = nil, 0
	}
}

// Each calls f for every connection held whole (not for the half-open and
// closed ones in compact records), in no particular order; f must not look
// up, add or remove connections.
func (t *Table) Each(f func(*Conn)) {
	t.conns.each(func(x handle) {
		if x.kind() == kindConn {
			f(t.at(x.ref()))
		}
	})
}

// Touch reads the index slots and the first bytes of the record of the
// connection with key k and hash h (by the Hasher in the table's Config),
// and returns a value of no meaning. Given the keys of the next few
// packets before they are stepped (StepHashed), it lets the processor
// fetch their connections from memory side by side instead of one miss
// after the other.
func (t *Table) Touch(k *Key, h uint64) uint64 {
	s := t.conns.tagged(h)
	if s == nil {
		return 0
	}
	v := uint64(s.h)
	switch r := s.x.ref(); s.x.kind() {
	case kindConn:
		c := t.full.at(r)
		// The lines an ordinary packet reads (see Conn): the first two,
		// and both Halves' first two (the sender is not known yet).
		h0, h1 := &c.Half[0], &c.Half[1]
		v ^= c.hash ^ uint64(c.Hist.seen[0]) ^ uint64(h0.Packets) ^ uint64(h0.LastPayloadTime) ^
			uint64(h1.Packets) ^ uint64(h1.LastPayloadTime)
	case kindSYN:
		v ^= uint64(t.syns.at(r).last)
	case kindShut:
		v ^= uint64(t.shuts.at(r).last)
	}
	return v
}
