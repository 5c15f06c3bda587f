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
// 4-tuple within one file count as one.
type connKey struct {
	file           string
	client, server netip.AddrPort
}

// connSet counts distinct connections by a 64-bit seeded hash of their
// connKey: 8 bytes an entry, where the keys themselves take 80 and a capture
// with a hundred thousand reset connections holds four sets of them. Two
// connections collide with probability about n²/2⁶⁵ (3·10⁻⁸ for n = 10⁶),
// which would count them as one.
type connSet map[uint64]struct{}

// tally accumulates the summary counts from verdicts as they are written;
// its memory grows with distinct connections (8 bytes each per set) and
// servers, not with RSTs.
type tally struct {
	seed     maphash.Seed
	total    int
	byOrigin [4]int // indexed by rstanalysis.Origin
	conns    connSet
	cells    map[cellKey]*cellTally
	servers  map[netip.AddrPort]*serverTally
	vantage  map[string]connSet
}

type cellKey struct {
	origin rstanalysis.Origin
	cause  rstanalysis.Cause
}

type cellTally struct {
	rsts    int
	conns   connSet
	servers map[netip.AddrPort]struct{}
}

type serverTally struct {
	rsts     int
	conns    connSet
	byOrigin [4]int
	byCause  map[rstanalysis.Cause]int
}

func newTally() *tally {
	return &tally{
		seed:    maphash.MakeSeed(),
		conns:   make(connSet),
		cells:   make(map[cellKey]*cellTally),
		servers: make(map[netip.AddrPort]*serverTally),
		vantage: make(map[string]connSet),
	}
}

func (t *tally) add(v *rstanalysis.Verdict) {
	o := v.Origin
	if int(o) >= len(t.byOrigin) {
		o = rstanalysis.OriginUnknown
	}
	ck := maphash.Comparable(t.seed, connKey{v.File, v.Client, v.Server})
	t.total++
	t.byOrigin[o]++
	t.conns[ck] = struct{}{}

	k := cellKey{o, v.Cause}
	c := t.cells[k]
	if c == nil {
		c = &cellTally{conns: make(connSet), servers: make(map[netip.AddrPort]struct{})}
		t.cells[k] = c
	}
	c.rsts++
	c.conns[ck] = struct{}{}
	c.servers[v.Server] = struct{}{}

	s := t.servers[v.Server]
	if s == nil {
		s = &serverTally{conns: make(connSet), byCause: make(map[rstanalysis.Cause]int)}
		t.servers[v.Server] = s
	}
	s.rsts++
	s.conns[ck] = struct{}{}
	s.byOrigin[o]++
	s.byCause[v.Cause]++

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
	origin  rstanalysis.Origin
	cause   rstanalysis.Cause
	rsts    int
	share   float64 // of all RSTs, in [0, 1]
	conns   int
	servers int
}

// causeRows returns the origin × cause rows: origins in originOrder, causes
// by RSTs descending, then by name.
func (t *tally) causeRows() []causeRow {
	rows := make([]causeRow, 0, len(t.cells))
	for k, c := range t.cells {
		rows = append(rows, causeRow{origin: k.origin, cause: k.cause, rsts: c.rsts,
			share: float64(c.rsts) / float64(t.total), conns: len(c.conns), servers: len(c.servers)})
	}
	rank := func(o rstanalysis.Origin) int { return slices.Index(originOrder[:], o) }
	slices.SortFunc(rows, func(a, b causeRow) int {
		return cmp.Or(cmp.Compare(rank(a.origin), rank(b.origin)), cmp.Compare(b.rsts, a.rsts),
			strings.Compare(a.cause.String(), b.cause.String()))
	})
	return rows
}

// serverRow is one row of the by-server summary.
type serverRow struct {
	server  netip.AddrPort
	rsts    int
	conns   int
	origins string // "middlebox 3, server 1"
	causes  string // the top three causes, "injected 3, refused 1"
}

// serverRows returns the by-server rows by RSTs descending, then address.
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
		rows = append(rows, serverRow{server: ap, rsts: s.rsts, conns: len(s.conns),
			origins: joinCounts(origins, len(origins)), causes: joinCounts(causes, 3)})
	}
	slices.SortFunc(rows, func(a, b serverRow) int {
		return cmp.Or(cmp.Compare(b.rsts, a.rsts), a.server.Compare(b.server))
	})
	return rows
}

// vantageNote says where the captures were taken, by connection count:
// "client host (5 connections), between client and server (1 connection)".
func (t *tally) vantageNote() string {
	var vs []countOf
	for name, conns := range t.vantage {
		vs = append(vs, countOf{name, len(conns)})
	}
	sortCounts(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s (%s)", v.name, plural(v.n, "connection"))
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
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
