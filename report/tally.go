package report

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// connKey names one connection across inputs. Two connections that reuse a
// 4-tuple within one file count as one. In a joint read, conn (the
// Verdict's Conn) names it in every input, under whatever addresses.
type connKey struct {
	file           string
	client, server netip.AddrPort
	conn           int
}

// connKeyOf is v's connection.
func connKeyOf(v *rstanalysis.Verdict) connKey {
	if v.Conn != 0 {
		return connKey{conn: v.Conn}
	}
	return connKey{file: v.File, client: v.Client, server: v.Server}
}

// connSet counts distinct connections by a 64-bit seeded hash of their
// connKey: 8 bytes an entry, where the keys themselves take 80. Two
// connections collide with probability about n²/2⁶⁵ (3·10⁻⁸ for n = 10⁶),
// which would count them as one.
type connSet map[uint64]struct{}

// tally accumulates the summary counts from verdicts as they are written:
// RSTs by origin and cause (each RST by its own verdict), reset connections,
// and per origin and cause of their events, per server and per vantage
// point. Its memory grows with distinct connections (8 bytes each per set)
// and servers, not with RSTs.
type tally struct {
	seed       maphash.Seed
	total      int
	byOrigin   [4]int // RSTs, indexed by rstanalysis.Origin
	byCause    map[rstanalysis.Cause]int
	conns      connSet                // connections with a RST
	eventConns connSet                // connections with a reset event
	cells      map[cellKey]*cellTally // by the origin and cause of each event's first RST
	servers    map[netip.AddrPort]*serverTally
	vantage    map[string]connSet
}

type cellKey struct {
	origin rstanalysis.Origin
	cause  rstanalysis.Cause
}

// cellTally counts the events of one origin and cause.
type cellTally struct {
	events int
	rsts   int // the events' RSTs, follow-ups included
	// conns and servers count the events by connection and by server, so
	// that a revised event can leave the cell (revise.go).
	conns   map[uint64]int32
	servers map[netip.AddrPort]int32
}

// serverTally counts what one server endpoint saw.
type serverTally struct {
	rsts     int
	events   int
	conns    connSet
	byOrigin [4]int                    // events, by the origin of their first RST
	byCause  map[rstanalysis.Cause]int // events, by the cause of their first RST
}

func newTally() *tally {
	return &tally{
		seed:       maphash.MakeSeed(),
		byCause:    make(map[rstanalysis.Cause]int),
		conns:      make(connSet),
		eventConns: make(connSet),
		cells:      make(map[cellKey]*cellTally),
		servers:    make(map[netip.AddrPort]*serverTally),
		vantage:    make(map[string]connSet),
	}
}

// add counts v; ev is the origin and cause of v's event (v's own for the
// first RST of an event and for a late-segment reply), and first says
// whether v begins an event.
func (t *tally) add(v *rstanalysis.Verdict, ev cellKey, first bool) {
	o := originOf(v)
	ck := t.connKey(v)
	t.total++
	t.byOrigin[o]++
	t.byCause[v.Cause]++
	t.conns[ck] = struct{}{}

	s := t.servers[v.Server]
	if s == nil {
		s = &serverTally{conns: make(connSet), byCause: make(map[rstanalysis.Cause]int)}
		t.servers[v.Server] = s
	}
	s.rsts++
	c := t.cells[ev]
	if c == nil && first {
		c = &cellTally{conns: make(map[uint64]int32), servers: make(map[netip.AddrPort]int32)}
		t.cells[ev] = c
	}
	if c != nil {
		c.rsts++
	}
	if first {
		t.eventConns[ck] = struct{}{}
		c.events++
		c.conns[ck]++
		c.servers[v.Server]++
		s.events++
		s.conns[ck] = struct{}{}
		s.byOrigin[ev.origin]++
		s.byCause[ev.cause]++
	}
	vp := clean(vantage(v))
	if t.vantage[vp] == nil {
		t.vantage[vp] = make(connSet)
	}
	t.vantage[vp][ck] = struct{}{}
}

// originOrder is the order origins appear in summaries: the endpoints
// first, then the verdicts that point away from them.
var originOrder = [...]rstanalysis.Origin{rstanalysis.OriginServer, rstanalysis.OriginClient,
	rstanalysis.OriginMiddlebox, rstanalysis.OriginUnknown}

// causeRow is one row of the origin × cause summary.
type causeRow struct {
	origin      rstanalysis.Origin
	cause       rstanalysis.Cause
	events      int
	rsts        int
	conns       int
	servers     int
	first, last int64 // Unix nanoseconds of the first and the latest event
}

// causeRows returns the origin × cause rows: origins in originOrder, causes
// by events descending, then by name; first and last come from the book.
func (t *tally) causeRows(b *book) []causeRow {
	rows := make([]causeRow, 0, len(t.cells))
	for k, c := range t.cells {
		rows = append(rows, causeRow{origin: k.origin, cause: k.cause, events: c.events, rsts: c.rsts,
			conns: len(c.conns), servers: len(c.servers)})
	}
	rank := func(o rstanalysis.Origin) int { return slices.Index(originOrder[:], o) }
	slices.SortFunc(rows, func(a, b causeRow) int {
		return cmp.Or(cmp.Compare(rank(a.origin), rank(b.origin)), cmp.Compare(b.events, a.events),
			strings.Compare(a.cause.String(), b.cause.String()))
	})
	for i := range rows {
		r := &rows[i]
		for _, e := range b.recs {
			if e.origin == r.origin && e.cause == r.cause {
				if r.first == 0 || e.first < r.first {
					r.first = e.first
				}
				r.last = max(r.last, e.first)
			}
		}
	}
	return rows
}

// serverRow is one row of the by-server summary.
type serverRow struct {
	server  netip.AddrPort
	events  int
	rsts    int
	conns   int
	origins string // "middlebox 3, server 1"
	causes  string // the top three causes, "injected 3, refused 1"
}

// serverRows returns the by-server rows by events, then RSTs descending,
// then address; origins and causes count events.
func (t *tally) serverRows() []serverRow {
	rows := make([]serverRow, 0, len(t.servers))
	for ap, s := range t.servers {
		var origins []countOf
		for _, o := range originOrder {
			if n := s.byOrigin[o]; n > 0 {
				origins = append(origins, countOf{o.String(), n})
			}
		}
		var causes []countOf
		for c, n := range s.byCause {
			causes = append(causes, countOf{c.String(), n})
		}
		rows = append(rows, serverRow{server: ap, events: s.events, rsts: s.rsts, conns: len(s.conns),
			origins: joinCounts(origins, len(origins)), causes: joinCounts(causes, 3)})
	}
	slices.SortFunc(rows, func(a, b serverRow) int {
		return cmp.Or(cmp.Compare(b.events, a.events), cmp.Compare(b.rsts, a.rsts), a.server.Compare(b.server))
	})
	return rows
}

// vantageNote says where the captures were taken, by reset connection:
// "client host (5 reset connections), between client and server (1)".
func (t *tally) vantageNote() string {
	var vs []countOf
	for name, conns := range t.vantage {
		vs = append(vs, countOf{name, len(conns)})
	}
	sortCounts(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		if i == 0 {
			parts[i] = fmt.Sprintf("%s (%s)", v.name, plural(v.n, "reset connection"))
		} else {
			parts[i] = fmt.Sprintf("%s (%d)", v.name, v.n)
		}
	}
	return strings.Join(parts, ", ")
}

type countOf struct {
	name string
	n    int
}

func sortCounts(cs []countOf) {
	slices.SortFunc(cs, func(a, b countOf) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name))
	})
}

// joinCounts renders the limit largest counts as "a 3, b 1", with
// "+N more" for the rest.
func joinCounts(cs []countOf, limit int) string {
	sortCounts(cs)
	var b strings.Builder
	for i, c := range cs {
		if i == limit {
			fmt.Fprintf(&b, ", +%d more", len(cs)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", c.name, c.n)
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Group(uint64(n)) + " " + noun + "s"
}

// Group renders a count with thousands separators: 1234567 → "1,234,567".
func Group(n uint64) string {
	s := fmt.Sprint(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(s[:lead])
	for i := lead; i < len(s); i += 3 {
		b.WriteByte(',')
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
