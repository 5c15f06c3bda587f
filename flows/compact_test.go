package flows

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testenv"
)

// TestRecordSizes holds the records to the sizes the table's memory is
// planned on: a Conn whose slab of 64 fills whole 4 KiB pages, a half-open
// record of 96 bytes, a closed one of 104 and the 72-byte shutExt a few
// of those take, none with a pointer.
func TestRecordSizes(t *testing.T) {
	for _, r := range []struct {
		name string
		size uintptr
		max  uintptr
		typ  reflect.Type
	}{
		{"Conn", unsafe.Sizeof(Conn{}), 1024, reflect.TypeOf(Conn{})}, // 960 and the Zeek history (64)
		{"synRec", unsafe.Sizeof(synRec{}), 96, reflect.TypeOf(synRec{})},
		{"shut", unsafe.Sizeof(shut{}), 104, reflect.TypeOf(shut{})}, // the Zeek history in 9 bytes (histpack.go), an IPv4 key in 12 (shutkey.go)
		{"shutExt", unsafe.Sizeof(shutExt{}), 72, reflect.TypeOf(shutExt{})},
	} {
		if r.size > r.max {
			t.Errorf("%s is %d bytes, want at most %d", r.name, r.size, r.max)
		}
		for _, f := range testenv.PointerFields(r.name, r.typ) {
			t.Errorf("%s: it holds a pointer", f)
		}
	}
	if n := slabSize * unsafe.Sizeof(Conn{}); n%4096 != 0 {
		t.Errorf("a slab of Conns is %d bytes, not whole pages: %d bytes of each are lost", n, 4096-n%4096)
	}
}

// conv is the packets of one HTTP exchange from client port port, closed
// by both sides, starting at start: SYN, SYN-ACK, ACK, request, response,
// FINs and the last ACK.
func exchange(port uint16, start time.Duration, frame uint64) []*capture.Packet {
	c := fmt.Sprintf("10.0.0.1:%d", port)
	at := func(ms int) time.Duration { return start + time.Duration(ms)*time.Millisecond }
	ps := []*capture.Packet{
		seg(frame, at(0), c, sv, capture.SYN, 100, 0, ""),
		seg(frame+1, at(20), sv, c, capture.SYN|capture.ACK, 500, 101, ""),
		seg(frame+2, at(21), c, sv, capture.ACK, 101, 501, ""),
		seg(frame+3, at(22), c, sv, capture.ACK|capture.PSH, 101, 501, "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"),
		seg(frame+4, at(42), sv, c, capture.ACK|capture.PSH, 501, 139, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		seg(frame+5, at(43), c, sv, capture.ACK|capture.FIN, 139, 539, ""),
		seg(frame+6, at(63), sv, c, capture.ACK|capture.FIN, 539, 140, ""),
		seg(frame+7, at(64), c, sv, capture.ACK, 140, 540, ""),
	}
	ps[1].TTL, ps[4].TTL, ps[6].TTL = 57, 57, 57
	for i, p := range ps {
		p.HasIPID, p.IPID = true, uint16(1000+i)
	}
	return ps
}

// visible is what a Conn shows its users: every field but the table's
// bookkeeping (ref, hash, generation, list links, head blocks).
func visible(c *Conn) Conn {
	v := *c
	v.ref, v.hash, v.gen, v.prev, v.next, v.listed, v.hb, v.turnB, v.store = 0, 0, 0, 0, 0, 0, [2]blk{}, 0, 0
	return v
}

// TestHalfOpenPromotion: a connection held as a half-open record until its
// SYN-ACK is, packet after packet, the Conn it would have been without
// compact records, and the Hooks see the same segments from the SYN on.
func TestHalfOpenPromotion(t *testing.T) {
	ps := exchange(40000, 0, 1)
	whole, compact := NewTable(Config{NoCompact: true}), NewTable(Config{})
	hw, hc := &seenHook{}, &seenHook{}
	whole.SetHooks(hw)
	compact.SetHooks(hc)
	for i, p := range ps {
		a, _ := whole.Step(p)
		b, _ := compact.Step(p)
		if i == 0 {
			if b != nil || compact.Stats().HalfOpen != 1 {
				t.Fatalf("the SYN made a Conn (%v) or no half-open record (%+v)", b != nil, compact.Stats())
			}
			continue
		}
		if va, vb := visible(a), visible(b); !reflect.DeepEqual(va, vb) {
			t.Fatalf("after packet %d the Conns differ:\n  whole   %+v\n  compact %+v", i+1, va, vb)
		}
		for _, d := range []Side{Client, Server} {
			if string(a.Head(d)) != string(b.Head(d)) {
				t.Fatalf("after packet %d the %v heads differ: %q, %q", i+1, d, a.Head(d), b.Head(d))
			}
		}
	}
	if !slices.Equal(hw.packets, hc.packets) || !slices.Equal(hw.sides, hc.sides) {
		t.Errorf("the Hooks saw %v %v, without compact records %v %v", hc.packets, hc.sides, hw.packets, hw.sides)
	}
}

// TestHalfOpenEvictedFirst: half-open records count toward MaxConns and
// are evicted before any open connection, oldest first, and counted; a
// closed connection goes before them.
func TestHalfOpenEvictedFirst(t *testing.T) {
	tb := NewTable(Config{MaxConns: 3})
	var ended []EndReason
	tb.SetHooks(endHook(func(why EndReason) { ended = append(ended, why) }))
	feed(tb, seg(1, 0, cl, sv, capture.SYN, 1, 0, ""), seg(2, time.Millisecond, sv, cl, capture.SYN|capture.ACK, 9, 2, "")) // a Conn
	for i := range 5 {
		feed(tb, seg(uint64(3+i), time.Duration(2+i)*time.Millisecond, fmt.Sprintf("10.9.0.%d:5000", i), sv, capture.SYN, 1, 0, ""))
	}
	st := tb.Stats()
	if st.Open != 3 || st.HalfOpen != 2 || st.Evicted != 3 || st.EvictedHalfOpen != 3 || st.Conns != 6 {
		t.Errorf("stats %+v, want 3 open of which 2 half-open, 3 evicted, all half-open, 6 connections", st)
	}
	if len(ended) != 0 {
		t.Errorf("the Conn ended (%v): half-open records go first", ended)
	}
	if c, _ := tb.Step(seg(9, time.Second, "10.9.0.4:5000", sv, capture.RST, 1, 0, "")); c == nil || c.Half[Client].SawSYN != true {
		t.Errorf("the newest half-open connection was evicted, or lost its SYN")
	}
	// Now reset: it goes before the half-open one left.
	ended = nil
	feed(tb, seg(10, 1100*time.Millisecond, "10.9.1.1:5000", sv, capture.SYN, 1, 0, ""))
	if st := tb.Stats(); len(ended) != 1 || ended[0] != EndEvicted || st.HalfOpen != 2 || st.EvictedHalfOpen != 3 {
		t.Errorf("ends %v, stats %+v: the reset connection should have been evicted, not a half-open one", ended, st)
	}
}

// TestHalfOpenExpires: a half-open record expires after IdleTimeout like
// the Conn it stands for, and no Hook sees it.
func TestHalfOpenExpires(t *testing.T) {
	tb := NewTable(Config{IdleTimeout: time.Minute})
	h := &seenHook{}
	tb.SetHooks(h)
	feed(tb, seg(1, 0, cl, sv, capture.SYN, 1, 0, ""), seg(2, 2*time.Minute, "10.0.0.9:1", sv, capture.SYN, 1, 0, ""))
	if st := tb.Stats(); st.Expired != 1 || st.Open != 1 || st.HalfOpen != 1 {
		t.Errorf("stats %+v, want the first half-open connection expired", st)
	}
	if len(h.packets) != 0 || len(h.ends) != 0 {
		t.Errorf("Hooks saw %d segments and %v ends of connections that were never promoted", len(h.packets), h.ends)
	}
}

// keepHook is Hooks that keeps closed connections whole while keep is set
// and records what Segment saw.
type keepHook struct {
	keep bool
	seen []Conn // visible(c) at each Segment
	ends []EndReason
}

func (h *keepHook) Segment(c *Conn, _ Side, _ *capture.Packet) { h.seen = append(h.seen, visible(c)) }
func (h *keepHook) End(_ *Conn, why EndReason)                 { h.ends = append(h.ends, why) }
func (h *keepHook) Keep(*Conn) bool                            { return h.keep }

// TestShrinkAndInflate: a closed connection quiet for CompactAfter is
// shrunk to a compact record (Hooks.End with EndCompacted); a late packet
// brings back a Conn with what shut keeps exactly, and in the orders it
// keeps the rest.
func TestShrinkAndInflate(t *testing.T) {
	reset := exchange(40001, 0, 1)[:5]
	rst := seg(6, 50*time.Millisecond, sv, "10.0.0.1:40001", capture.RST|capture.ACK, 539, 139, "")
	rst.TTL = 57
	for name, ps := range map[string][]*capture.Packet{
		"closed by both FINs": exchange(40000, 0, 1),
		"reset by the server": append(reset, rst),
	} {
		t.Run(name, func(t *testing.T) {
			tb := NewTable(Config{CompactAfter: time.Second})
			h := &keepHook{}
			tb.SetHooks(h)
			before := visible(feed(tb, ps...))
			last, key := before.LastTime, before.Key
			feed(tb, seg(100, 3*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, "")) // time passes
			if st := tb.Stats(); st.Compacted != 1 || !slices.Contains(h.ends, EndCompacted) {
				t.Fatalf("stats %+v, ends %v: the closed connection was not compacted", st, h.ends)
			}
			late := *ps[len(ps)-1]
			late.Frame, late.Time, late.Flags, late.PayloadLen, late.HeadN = 101, late.Time.Add(4*time.Second), capture.ACK, 0, 0
			c, _ := tb.Step(&late)
			got := h.seen[len(h.seen)-1]
			if c == nil || got.Key != key || got.ID != before.ID || !got.Closed() || got.LastTime != last {
				t.Fatalf("the late packet's connection %+v is not the closed one", got)
			}
			same := func(what string, a, b any) {
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s: %v after the compact record, %v before", what, b, a)
				}
			}
			same("endpoints", []any{before.Client(), before.Server()}, []any{got.Client(), got.Server()})
			same("RTTs", []time.Duration{before.ServerRTT(), before.ClientRTT(), before.RTT()}, []time.Duration{got.ServerRTT(), got.ClientRTT(), got.RTT()})
			same("connection", []any{before.fins, before.Midstream, before.SYNMissed, before.RSTs, before.Turns, before.LastPaySide,
				before.Established(), before.ResetStanding(), before.FirstRSTSide},
				[]any{got.fins, got.Midstream, got.SYNMissed, got.RSTs, got.Turns, got.LastPaySide,
					got.Established(), got.ResetStanding(), got.FirstRSTSide})
			for d := Client; d <= Server; d++ {
				a, b := &before.Half[d], &got.Half[d]
				same(d.String()+" side", []any{a.ISN, a.SndNxt, a.LastAck, a.HasSeq, a.HasAck, a.SawSYN, a.SawFIN, a.TTLs(), a.TTLLast,
					a.Hops(), a.IPIDLast, a.IPIDMaxStep, a.LastRSTSeq, a.RSTs > 0, a.Packets > uint64(a.RSTs), a.PayloadBytes > 0},
					[]any{b.ISN, b.SndNxt, b.LastAck, b.HasSeq, b.HasAck, b.SawSYN, b.SawFIN, b.TTLs(), b.TTLLast,
						b.Hops(), b.IPIDLast, b.IPIDMaxStep, b.LastRSTSeq, b.RSTs > 0, b.Packets > uint64(b.RSTs), b.PayloadBytes > 0})
				same(d.String()+" orders", []any{a.LastOrdinary.After(before.LastRSTTime), a.LastOrdinary.After(before.FirstRSTTime)},
					[]any{b.LastOrdinary.After(got.LastRSTTime), b.LastOrdinary.After(got.FirstRSTTime)})
			}
			if st := tb.Stats(); st.Compacted != 0 || st.Open != 2 {
				t.Errorf("stats %+v after the late packet, want the record a Conn again", st)
			}
		})
	}
}

// TestKeepHoldsClosed: a closed connection the Hooks keep is not shrunk;
// once they let go, it is.
func TestKeepHoldsClosed(t *testing.T) {
	tb := NewTable(Config{CompactAfter: time.Second})
	h := &keepHook{keep: true}
	tb.SetHooks(h)
	feed(tb, exchange(40000, 0, 1)...)
	feed(tb, seg(100, 3*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, ""))
	if st := tb.Stats(); st.Compacted != 0 {
		t.Fatalf("a kept connection was compacted: %+v", st)
	}
	h.keep = false
	feed(tb, seg(101, 5*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, ""))
	if st := tb.Stats(); st.Compacted != 1 {
		t.Errorf("a connection no longer kept was not compacted: %+v", st)
	}
}

// TestClosedExpiresOnTime: a closed connection, whole or compact, leaves
// the table ClosedTimeout after its last packet, the last ACK after both
// FINs included; a SYN on a compact record's 5-tuple starts a new one.
func TestClosedExpiresOnTime(t *testing.T) {
	for _, after := range []time.Duration{time.Second, time.Minute} {
		tb := NewTable(Config{CompactAfter: after, ClosedTimeout: 10 * time.Second})
		ps := exchange(40000, 0, 1)
		feed(tb, ps...) // the last ACK at 64 ms
		feed(tb, seg(100, 10*time.Second+60*time.Millisecond, "10.0.0.7:1", sv, capture.ACK, 1, 1, ""))
		if st := tb.Stats(); st.Open != 2 || st.Expired != 0 {
			t.Fatalf("CompactAfter %v: expired before its time: %+v", after, st)
		}
		feed(tb, seg(101, 10*time.Second+70*time.Millisecond, "10.0.0.7:1", sv, capture.ACK, 1, 1, ""))
		if st := tb.Stats(); st.Open != 1 || st.Expired != 1 {
			t.Errorf("CompactAfter %v: not expired 10 s after its last packet: %+v", after, st)
		}
	}
	tb := NewTable(Config{CompactAfter: time.Second})
	first := feed(tb, exchange(40000, 0, 1)...).ID
	feed(tb, seg(100, 2*time.Second, "10.0.0.7:1", sv, capture.ACK, 1, 1, ""))
	feed(tb, seg(101, 3*time.Second, "10.0.0.1:40000", sv, capture.SYN, 7, 0, ""))
	c := feed(tb, seg(102, 3*time.Second+time.Millisecond, sv, "10.0.0.1:40000", capture.SYN|capture.ACK, 9, 8, ""))
	if c.ID == first || c.Closed() || c.Half[Client].ISN != 7 {
		t.Errorf("a SYN on a compact record's 5-tuple did not start a new connection (ID %d, first %d)", c.ID, first)
	}
}

// TestHeadStoreNumbers: a table gives its head store's number back at
// Flush, and takes one again when used after it.
func TestHeadStoreNumbers(t *testing.T) {
	tb := NewTable(Config{})
	c := feed(tb, exchange(40000, 0, 1)[:5]...)
	id := c.store
	if storeOf(id) == nil || string(c.Head(Client)) != "GET /a HTTP/1.1\r\nHost: example.com" {
		t.Fatalf("store %d, head %q", id, c.Head(Client))
	}
	tb.Flush()
	if storeOf(id) != nil || c.Head(Client) != nil {
		t.Fatalf("store %d still registered after Flush", id)
	}
	if c := feed(tb, exchange(40000, time.Second, 10)[:5]...); storeOf(c.store) == nil || len(c.Head(Server)) != 12 {
		t.Errorf("a table used after Flush has no head store")
	}
}
