package flows

import (
	"math"
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
	// MaxConns caps the number of tracked connections; when full, the least
	// recently active connection is evicted. Zero means 1,000,000.
	MaxConns int
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
)

// TableStats counts what a Table has done.
type TableStats struct {
	Conns     uint64 // connections created
	Open      int    // connections tracked now
	MaxOpen   int    // most connections tracked at once
	Expired   uint64 // removed after IdleTimeout or ClosedTimeout
	Evicted   uint64 // removed early because the table was full
	Midstream uint64 // connections first seen without SYN or SYN-ACK
}

// Table tracks TCP connections. It is not safe for concurrent use.
//
// Memory follows the number of open connections: each is a fixed-size Conn
// (about 1.6 KiB, most of it the reassembled first bytes), recycled through
// a free list, so the per-packet path allocates nothing once the table has
// grown to its working size. Conns hold no pointers and link each other by
// ref, so their slabs are not scanned by the garbage collector.
type Table struct {
	cfg   Config
	conns index
	// open and closed are LRU lists (head = most recent); a connection moves
	// to closed when it is reset or both sides have sent FIN.
	open, closed list
	free         []uint32 // refs of recycled Conns
	// slabs holds every Conn handed out, allocated slabSize at a time: the
	// Conn with ref r is slabs[(r-1)/slabSize][(r-1)%slabSize] (at).
	slabs []*[slabSize]Conn
	made  uint32 // Conns handed out from slabs (the latest has ref made)
	stats TableStats
	gen   uint64
	hooks Hooks
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
	// End is called before c leaves the table or its 5-tuple starts a new
	// connection, with the reason; c is intact and must not be kept.
	End(c *Conn, why EndReason)
}

// list is a doubly linked list of Conns by ref (Conn.prev, Conn.next); 0
// is none.
type list struct{ head, tail uint32 }

// at returns the Conn with ref r, or nil for 0.
func (t *Table) at(r uint32) *Conn {
	if r == 0 {
		return nil
	}
	r--
	return &t.slabs[r/slabSize][r%slabSize]
}

func (t *Table) pushFront(l *list, c *Conn) {
	c.prev, c.next = 0, l.head
	if l.head != 0 {
		t.at(l.head).prev = c.ref
	}
	l.head = c.ref
	if l.tail == 0 {
		l.tail = c.ref
	}
}

func (t *Table) unlink(l *list, c *Conn) {
	if c.prev != 0 {
		t.at(c.prev).next = c.next
	} else {
		l.head = c.next
	}
	if c.next != 0 {
		t.at(c.next).prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = 0, 0
}

// slabSize is how many connections are allocated at once: one allocation
// instead of 64, no rounding of each 1.6 KiB Conn up to a size class, and
// one pointer per 64 connections in Table.slabs.
const slabSize = 64

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
	s.Open = t.conns.n
	return s
}

func (t *Table) listOf(c *Conn) *list {
	if c.inClosed {
		return &t.closed
	}
	return &t.open
}

// SetHooks makes h see every segment and every connection's end from now
// on; nil sees nothing.
func (t *Table) SetHooks(h Hooks) { t.hooks = h }

// Step takes the next TCP segment of the capture: it finds or creates p's
// connection (a new incarnation when a SYN reuses the 5-tuple of a
// connection that was reset or closed), expires idle connections by p's
// timestamp, gives p to the Hooks with the connection as it was, records
// p, and returns the connection and the side that sent p. The returned
// Conn is valid until the next call.
func (t *Table) Step(p *capture.Packet) (*Conn, Side) {
	k := KeyOf(p)
	return t.StepHashed(p, &k, t.conns.Hash(&k))
}

// StepHashed is Step for a packet whose key k = KeyOf(p) and hash h (by the
// Hasher in the table's Config) the caller has computed already.
func (t *Table) StepHashed(p *capture.Packet, k *Key, h uint64) (*Conn, Side) {
	c, s := t.lookup(p, k, h)
	if t.hooks != nil {
		t.hooks.Segment(c, s, p)
	}
	t.apply(c, s, p)
	return c, s
}

// lookup returns p's connection, creating it or a new incarnation, and the
// side that sent p; it does not record p.
func (t *Table) lookup(p *capture.Packet, k *Key, h uint64) (*Conn, Side) {
	t.expire(NanosOf(p.Time))
	c := t.conns.get(k, h)
	if c == nil {
		c = t.create(*k, h, p)
	} else if p.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN && t.reincarnates(c, p) {
		t.end(c, EndReincarnated)
		t.conns.del(c, h)
		t.recycle(c)
		c = t.create(*k, h, p)
	}
	return c, c.sideOf(p)
}

// reincarnates reports whether SYN p starts a new connection on c's 5-tuple.
func (t *Table) reincarnates(c *Conn, p *capture.Packet) bool {
	if c.Closed() || c.Half[0].SawFIN || c.Half[1].SawFIN {
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

func (t *Table) create(k Key, h uint64, p *capture.Packet) *Conn {
	if t.conns.n >= t.cfg.MaxConns {
		victim := t.settle(&t.closed)
		if victim == nil {
			victim = t.settle(&t.open)
		}
		if victim != nil {
			t.stats.Evicted++
			t.remove(victim, EndEvicted)
		}
	}
	var c *Conn
	if n := len(t.free); n > 0 {
		c = t.at(t.free[n-1])
		t.free = t.free[:n-1]
	} else {
		if t.made%slabSize == 0 {
			if t.made > math.MaxUint32-slabSize {
				panic("flows: more connections than a uint32 ref can number")
			}
			t.slabs = append(t.slabs, new([slabSize]Conn))
		}
		c = &t.slabs[t.made/slabSize][t.made%slabSize]
		t.made++
		c.ref = t.made // kept for the Conn value's lifetime (recycle)
	}
	t.gen++
	t.stats.Conns++
	c.gen = t.gen
	c.ID = t.stats.Conns
	c.Key = k
	client, server := p.SrcAddrPort(), p.DstAddrPort()
	switch {
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN:
	case p.Flags&(capture.SYN|capture.ACK) == capture.SYN|capture.ACK:
		client, server = server, client
		c.SYNMissed = true
	default:
		c.Midstream = true
		t.stats.Midstream++
		if ServerByPort(client.Port(), server.Port()) {
			client, server = server, client
		}
	}
	c.Half[Client].setAddr(client)
	c.Half[Server].setAddr(server)
	c.FirstTime = NanosOf(p.Time)
	c.LastTime = c.FirstTime
	c.hash = h
	t.conns.put(c, h)
	t.list(c)
	if n := t.conns.n; n > t.stats.MaxOpen {
		t.stats.MaxOpen = n
	}
	return c
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
	t.conns.del(c, c.hash)
	t.unlink(t.listOf(c), c)
	t.recycle(c)
}

// recycle clears c, keeping its ref and generation, and frees it.
func (t *Table) recycle(c *Conn) {
	if c.prev != 0 || c.next != 0 || t.open.head == c.ref || t.closed.head == c.ref {
		t.unlink(t.listOf(c), c)
	}
	ref, gen := c.ref, c.gen
	*c = Conn{}
	c.ref, c.gen = ref, gen
	t.free = append(t.free, ref)
}

func (t *Table) expire(now Nanos) {
	// A tail stamped within the timeout is fresh, whether re-listed or not.
	for c := t.at(t.closed.tail); c != nil && now.Sub(c.listed) > t.cfg.ClosedTimeout; c = t.at(t.closed.tail) {
		if c = t.settle(&t.closed); c == nil || now.Sub(c.LastTime) <= t.cfg.ClosedTimeout {
			break
		}
		t.stats.Expired++
		t.remove(c, EndClosed)
	}
	for c := t.at(t.open.tail); c != nil && now.Sub(c.listed) > t.cfg.IdleTimeout; c = t.at(t.open.tail) {
		if c = t.settle(&t.open); c == nil || now.Sub(c.LastTime) <= t.cfg.IdleTimeout {
			break
		}
		t.stats.Expired++
		t.remove(c, EndIdle)
	}
}

// Flush ends every connection (Hooks.End with EndFlush), oldest first.
func (t *Table) Flush() {
	for _, l := range []*list{&t.closed, &t.open} {
		for c := t.at(l.tail); c != nil; c = t.at(l.tail) {
			t.remove(c, EndFlush)
		}
	}
}

// Each calls f for every tracked connection, in no particular order; f must
// not look up, add or remove connections.
func (t *Table) Each(f func(*Conn)) {
	t.conns.each(f)
}

// touch moves c to the front of its LRU list, switching lists when it closes.
//
// The lists are lazy: a packet only stamps its connection's LastTime, and a
// connection is moved to the front when it reaches the tail having been
// active since it was listed (settle). So the tail is always the least
// recently active connection, and a packet costs no writes into other
// connections, which at tens of thousands of connections are cache misses.
func (t *Table) touch(c *Conn) {
	if closed := c.Closed(); closed != c.inClosed {
		t.unlink(t.listOf(c), c)
		c.inClosed = closed
		t.list(c)
	}
}

// list puts c at the front of its list, stamped with its LastTime.
func (t *Table) list(c *Conn) {
	c.listed = c.LastTime
	t.pushFront(t.listOf(c), c)
}

// settle re-lists the connections at the tail of l that were active since
// they were listed, and returns the tail: the least recently active one.
// Each re-listing follows at least one packet, so the cost is amortized.
func (t *Table) settle(l *list) *Conn {
	for c := t.at(l.tail); c != nil && c.LastTime != c.listed; c = t.at(l.tail) {
		t.unlink(l, c)
		t.list(c)
	}
	return t.at(l.tail)
}
