package flows

import "unsafe"

// expire removes the connections whose time is up at capture time now and
// shrinks the closed ones that have been quiet for Config.CompactAfter.
func (t *Table) expire(now Nanos) {
	// Closed Conns: those the Hooks kept whole, or every one with NoCompact.
	// A tail stamped within the timeout is fresh, whether re-listed or not.
	for c := t.at(t.closed.tail); c != nil && now.Sub(c.listed) > t.cfg.ClosedTimeout; c = t.at(t.closed.tail) {
		if c = t.settle(&t.closed); c == nil || now.Sub(c.LastTime) <= t.cfg.ClosedTimeout {
			break
		}
		t.stats.Expired++
		t.remove(c, EndClosed)
	}
	if !t.cfg.NoCompact {
		t.shrinkClosed(now)
	}
	for r, s := t.shuts.oldest(); r != 0 && now.Sub(s.last) > t.cfg.ClosedTimeout; r, s = t.shuts.oldest() {
		k := t.shuts.key(s)
		t.dropShut(kindShut|handle(r), t.conns.Hash(&k), now)
	}
	for r, s := t.syns.oldest(); r != 0 && now.Sub(s.last) > t.cfg.IdleTimeout; r, s = t.syns.oldest() {
		t.stats.Expired++
		t.conns.del(kindSYN|handle(r), t.conns.Hash(&s.Key))
		t.syns.drop(r)
	}
	for c := t.at(t.open.tail); c != nil && now.Sub(c.listed) > t.cfg.IdleTimeout; c = t.at(t.open.tail) {
		if c = t.settle(&t.open); c == nil || now.Sub(c.LastTime) <= t.cfg.IdleTimeout {
			break
		}
		t.stats.Expired++
		t.remove(c, EndIdle)
	}
}

// shrinkClosed shrinks the closed Conns quiet for CompactAfter at now to
// compact records, least recently active first. One that the Hooks keep
// goes back to the front of the list, to be asked again CompactAfter
// later, so the compact records are not quite in the order of their last
// packets (lookup checks their time).
func (t *Table) shrinkClosed(now Nanos) {
	for c := t.at(t.closed.tail); c != nil && now.Sub(c.listed) > t.cfg.CompactAfter; c = t.at(t.closed.tail) {
		if c = t.settle(&t.closed); c == nil || now.Sub(c.listed) <= t.cfg.CompactAfter {
			break
		}
		switch {
		case t.hooks == nil || !t.hooks.Keep(c):
			t.shrink(c)
		case now.Sub(c.LastTime) > t.cfg.ClosedTimeout:
			t.stats.Expired++
			t.remove(c, EndClosed)
		default:
			t.unlink(&t.closed, c)
			c.listed = now
			t.pushFront(&t.closed, c)
		}
	}
	t.fetchTail(&t.closed)
}

// fetchedHead marks list.fetched once the tail's head was asked for.
const fetchedHead = 1 << 31

// fetchTail asks for the lines of the Conn at l's tail, the next to be
// shrunk, which it reads nearly whole (shut.from), closed CompactAfter ago
// and long out of the caches: once per tail, the Conn's lines, then
// at the next call, with the line that names it come, its client head's
// block. The closed list's tail changes about once per closing connection,
// some packets before it is due, so the lines come before they are read.
func (t *Table) fetchTail(l *list) {
	r := l.tail
	if r == 0 || l.fetched == r|fetchedHead {
		return
	}
	c := t.at(r)
	if l.fetched != r {
		l.fetched = r
		prefetchLines(unsafe.Pointer(c), unsafe.Sizeof(*c))
		return
	}
	l.fetched = r | fetchedHead
	if b := c.block(c.hb[Client]); len(b) > 0 {
		p := unsafe.Pointer(&b[0])
		prefetch6(p, p, p, p, p, p)
	}
}

// dropShut removes compact closed record x with hash h, at now: expired if
// its time is up, else because a SYN reuses its 5-tuple.
func (t *Table) dropShut(x handle, h uint64, now Nanos) {
	if now.Sub(t.shuts.at(x.ref()).last) > t.cfg.ClosedTimeout {
		t.stats.Expired++
	}
	t.conns.del(x, h)
	t.shuts.drop(x.ref())
}

// makeRoom evicts a connection if the table is full (Config.MaxConns): the
// oldest compact closed one, else the least recently active closed Conn,
// else the oldest half-open one, else the least recently active open one.
// Under a SYN flood the half-open ones go before any open connection; a
// handshake in progress goes only after every closed connection.
func (t *Table) makeRoom() {
	if t.conns.n < t.cfg.MaxConns {
		return
	}
	t.stats.Evicted++
	if r, s := t.shuts.oldest(); r != 0 {
		k := t.shuts.key(s)
		t.conns.del(kindShut|handle(r), t.conns.Hash(&k))
		t.shuts.drop(r)
		return
	}
	if c := t.settle(&t.closed); c != nil {
		t.remove(c, EndEvicted)
		return
	}
	if r, s := t.syns.oldest(); r != 0 {
		t.stats.EvictedHalfOpen++
		t.conns.del(kindSYN|handle(r), t.conns.Hash(&s.Key))
		t.syns.drop(r)
		return
	}
	if c := t.settle(&t.open); c != nil {
		t.remove(c, EndEvicted)
		return
	}
	t.stats.Evicted--
}
