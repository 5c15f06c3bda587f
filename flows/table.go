package flows

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// Key is a connection's 5-tuple (the protocol is always TCP) in canonical
// order, so both directions of a connection map to the same Key.
type Key struct {
	LoAddr, HiAddr [16]byte
	LoPort, HiPort uint16
}

// KeyOf returns p's canonical key.
func KeyOf(p *capture.Packet) Key {
	s, d := p.Src.As16(), p.Dst.As16()
	if less(s, p.SrcPort, d, p.DstPort) {
		return Key{LoAddr: s, HiAddr: d, LoPort: p.SrcPort, HiPort: p.DstPort}
	}
	return Key{LoAddr: d, HiAddr: s, LoPort: p.DstPort, HiPort: p.SrcPort}
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	if a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); a0 != b0 {
		return a0 < b0
	}
	if a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); a1 != b1 {
		return a1 < b1
	}
	return ap <= bp
}

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
	// OnEnd, if set, is called before a connection is removed or reused.
	OnEnd func(c *Conn, why EndReason)
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

// Closed reports whether c is reset or closed by both sides.
func (c *Conn) Closed() bool {
	return c.fins == 3 || c.ResetStanding()
}

func (t *Table) listOf(c *Conn) *list {
	if c.inClosed {
		return &t.closed
	}
	return &t.open
}

// Lookup returns p's connection and the direction p travels in, creating the
// connection if it is new and starting a new incarnation when a SYN reuses
// the 5-tuple of a connection that was reset or closed. It expires idle
// connections first, by p's timestamp. Lookup does not record p: call Apply
// after inspecting the connection's state as it was before p.
func (t *Table) Lookup(p *capture.Packet) (*Conn, Dir) {
	k := KeyOf(p)
	return t.LookupHashed(p, &k, t.conns.Hash(&k))
}

// LookupHashed is Lookup for a packet whose key k = KeyOf(p) and hash h
// (from the Hasher in the table's Config) the caller has computed already.
func (t *Table) LookupHashed(p *capture.Packet, k *Key, h uint64) (*Conn, Dir) {
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
	return c, c.dirOf(p)
}

// dirOf returns the direction of p, a packet with c's key. The source port
// decides when the two ports differ: a packet with the connection's key
// carries the client's port as its source port only if it comes from the
// client. Equal ports, or an address family other than the client's (an
// IPv4 address and its IPv4-mapped IPv6 form share a key), need the full
// comparison of the source endpoint.
func (c *Conn) dirOf(p *capture.Packet) Dir {
	cl := &c.Half[FromClient]
	var fromClient bool
	if p.SrcPort != p.DstPort && ipvOf(p.Src) == cl.ipv {
		fromClient = p.SrcPort == cl.port
	} else {
		fromClient = cl.is(p.Src, p.SrcPort)
	}
	if fromClient {
		return FromClient
	}
	return FromServer
}

// reincarnates reports whether SYN p starts a new connection on c's 5-tuple.
func (t *Table) reincarnates(c *Conn, p *capture.Packet) bool {
	if c.Closed() || c.Half[0].SawFIN || c.Half[1].SawFIN {
		return true
	}
	cl := &c.Half[FromClient]
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
	c.Half[FromClient].setAddr(client)
	c.Half[FromServer].setAddr(server)
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
	if t.OnEnd != nil {
		t.OnEnd(c, why)
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

// Flush ends every connection (calling OnEnd with EndFlush), oldest first.
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

// Apply records p, travelling in direction d, in connection c.
func (t *Table) Apply(c *Conn, d Dir, p *capture.Packet) {
	now := NanosOf(p.Time)
	h := &c.Half[d]
	rst := p.Flags&capture.RST != 0
	if h.Packets == 0 {
		h.FirstTime = now
	}
	h.Packets++
	h.PayloadBytes += uint64(p.PayloadLen)
	h.LastTime = now
	c.GapBefore = now.Sub(c.LastTime)
	c.LastTime = now

	if rst {
		h.RSTs++
		h.LastRSTSeq, h.LastRSTAck, h.LastRSTFlags, h.LastRSTTime = p.Seq, p.Ack, p.Flags, now
		c.RSTs++
		if !c.ResetStanding() {
			c.FirstRST, c.FirstRSTTime = p.Frame, now
			c.FirstRSTDir = d
		}
		c.LastRST = p.Frame
		c.LastRSTTime = now
		t.touch(c)
		return
	}

	h.LastOrdinary = now
	// TTL, IP ID and DF history of the sender's ordinary packets.
	h.addTTL(p.TTL)
	h.TTLLast = p.TTL
	h.TTLCount++
	if p.HasIPID {
		if h.IPIDCount > 0 {
			step := p.IPID - h.IPIDLast
			if step >= 0x8000 { // a backward step: its circular distance
				step = -step
			}
			h.IPIDMaxStep = max(h.IPIDMaxStep, step)
		}
		h.IPIDLast = p.IPID
		h.IPIDCount++
		if p.IPID == 0 {
			h.IPIDZero++
		}
	}
	if p.DF {
		h.DFCount++
	}

	// Sequence space (RFC 9293 §3.4).
	if p.Flags&capture.SYN != 0 {
		h.ISN = p.Seq
		h.SawSYN = true
		if d == FromClient && p.Flags&capture.ACK == 0 {
			c.SYNTime = now
			c.SYNs++
		} else if d == FromServer && p.Flags&capture.ACK != 0 && c.SYNACKTime.IsZero() {
			c.SYNACKTime = now
		}
	}
	end := p.Seq + p.SeqLen()
	if !h.HasSeq || SeqLess(h.SndNxt, end) {
		h.SndNxt = end
		h.HasSeq = true
	}
	if p.Flags&capture.ACK != 0 {
		h.LastAck = p.Ack
		h.HasAck = true
		if d == FromClient && p.Flags&capture.SYN == 0 && c.ACKTime.IsZero() && !c.SYNACKTime.IsZero() &&
			p.Ack == c.Half[FromServer].ISN+1 {
			c.ACKTime = now
		}
	}
	h.Window = p.Window
	if p.Flags&capture.FIN != 0 && !h.SawFIN {
		h.SawFIN = true
		c.fins |= 1 << d
		h.FINSeq = p.Seq + uint32(p.PayloadLen)
		h.FINTime = now
	}

	if p.PayloadLen > 0 {
		h.LastPayloadTime = now
		if c.Turns == 0 || c.LastPayDir != d {
			c.Turns++
			c.LastPayDir = d
			if d == FromClient {
				c.turnN = uint8(copy(c.turn[:], p.Payload()))
			}
		}
		h.reassemble(c.headBuf(d), p)
		if pl := p.Payload(); len(pl) >= 5 && pl[0] == 21 && pl[1] == 3 {
			if n := int(pl[3])<<8 | int(pl[4]); n == 2 && len(pl) >= 7 {
				h.Alert = [2]byte{pl[5], pl[6]}
				h.HasAlert = true
			} else {
				h.EncryptedAlert = true
			}
		}
	}

	h.ring[h.ringN%seenRing] = Seen{Frame: p.Frame, At: now, Seq: p.Seq, End: end, Ack: p.Ack, Flags: p.Flags}
	h.ringN++
	if h.ringC < seenRing {
		h.ringC++
	}
	t.touch(c)
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

// reassemble appends p's captured payload to the head of the stream, kept
// in head (the direction's window of Conn.buf), when it continues it in
// sequence order.
func (h *Half) reassemble(head []byte, p *capture.Packet) {
	if !h.headSet {
		h.headSet = true
		if h.SawSYN {
			h.headBase = h.ISN + 1
		} else {
			h.headBase = p.Seq
		}
	}
	if int(h.headN) == len(head) {
		return
	}
	pl := p.Payload()
	off := int64(int32(p.Seq - h.headBase))
	if off < 0 { // starts before the head: skip what precedes it
		if -off >= int64(len(pl)) {
			return
		}
		pl = pl[-off:]
		off = 0
	}
	if off > int64(h.headN) {
		h.headGap = true
		return
	}
	if skip := int64(h.headN) - off; skip < int64(len(pl)) {
		h.headN += uint16(copy(head[h.headN:], pl[skip:]))
	}
}

// SeqLess reports whether sequence number a precedes b in the modulo-2^32
// sequence space (RFC 9293 §3.4, RFC 1982 serial number arithmetic).
func SeqLess(a, b uint32) bool { return int32(a-b) < 0 }

// SeqDiff returns b − a as a signed distance in sequence space.
func SeqDiff(a, b uint32) int64 { return int64(int32(b - a)) }
