package flows

// list is a doubly linked list of records by ref (Conn.prev and Conn.next,
// or stubHead.prev and stubHead.next); 0 is none. The head is the most
// recent.
type list struct {
	head, tail uint32
	// fetched is the tail whose lines fetchTail asked for, with fetchedHead
	// once its head's too.
	fetched uint32
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

func (t *Table) listOf(c *Conn) *list {
	if c.inClosed {
		return &t.closed
	}
	return &t.open
}

// touch moves c to the front of its LRU list, switching lists when it closes.
//
// The lists are lazy: a packet only stamps its connection's LastTime, and a
// connection is moved to the front when it reaches the tail having been
// active since it was listed (settle). So the tail is always the least
// recently active connection, and a packet costs no writes into other
// connections, which at tens of thousands of connections are cache misses.
func (t *Table) touch(c *Conn) {
	if closed := c.Closed(); closed != c.inClosed || closed {
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
	for c := t.at(l.tail); c != nil && c.LastTime > c.listed; c = t.at(l.tail) {
		t.unlink(l, c)
		t.list(c)
	}
	return t.at(l.tail)
}

// stubLinks link a compact record into its kind's list (by ref).
type stubLinks struct{ prev, next uint32 }

// stubHead begins a half-open record (syn.go): the key where Table.find
// reads it, the links of its kind's list, and what the table needs to
// expire it. A closed record begins with the same in shutHead, its key
// packed (shut.go). Compact records are never updated in place (a packet
// turns one back into a Conn), so their lists are in the order the records
// were made, the oldest at the tail.
type stubHead struct {
	Key Key
	stubLinks
	bits uint32 // the kind's flags
	last Nanos  // the connection's latest packet
	id   uint64 // Conn.ID
}

// stubs is a slab of compact records of one kind with their list.
type stubs[T any, P interface {
	*T
	links() *stubLinks
}] struct {
	slab[T]
	l list
}

func (s *stubs[T, P]) ln(r uint32) *stubLinks { return P(s.at(r)).links() }

// add allocates a record and puts it at the front of the list.
func (s *stubs[T, P]) add() (uint32, *T) {
	r, rec := s.alloc()
	h := P(rec).links()
	h.next = s.l.head
	if s.l.head != 0 {
		s.ln(s.l.head).prev = r
	}
	s.l.head = r
	if s.l.tail == 0 {
		s.l.tail = r
	}
	return r, rec
}

// drop unlinks record r and frees it.
func (s *stubs[T, P]) drop(r uint32) {
	h := s.ln(r)
	if h.prev != 0 {
		s.ln(h.prev).next = h.next
	} else {
		s.l.head = h.next
	}
	if h.next != 0 {
		s.ln(h.next).prev = h.prev
	} else {
		s.l.tail = h.prev
	}
	s.release(r)
}

// oldest returns the record at the tail and its ref, or 0 and nil.
func (s *stubs[T, P]) oldest() (uint32, *T) {
	if s.l.tail == 0 {
		return 0, nil
	}
	return s.l.tail, s.at(s.l.tail)
}
