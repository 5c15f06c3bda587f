package flows

import "time"

// shut is a closed connection's compact record (104 bytes instead of a
// 1,024-byte Conn; a few in a hundred also take a 72-byte shutExt, and one
// that is not between two IPv4 addresses a 36-byte Key, shutkey.go). A
// connection that is reset or closed by both sides, has
// been quiet for Config.CompactAfter and that the Hooks no longer keep
// (Hooks.Keep: no verdict of it undecided) is shrunk to one; it stays in
// the table until Config.ClosedTimeout after its last packet, so that late
// packets (retransmissions, the answers to them, a RST after the close)
// still find their connection instead of starting one mid-stream. A late
// packet turns it back into a Conn (inflate) and the Hooks see it again.
//
// It keeps what the rules that judge a late RST read (the phase after a
// reset or a close, the late-segment and keep-alive-reuse causes, the
// sequence, TTL and IP ID rules, the handshake RTTs):
//
//   - exactly: the key, the endpoints, the close (fins), Midstream and
//     SYNMissed, each side's ISN, SND.NXT and last ACK as seen, its
//     distinct TTLs and latest TTL, its latest IPv4 ID and largest ID step,
//     its latest RST's seq, both handshake RTTs, the RST count, the latest
//     payload side and the count of payload turns (up to 255), and the
//     Zeek history (History: its letters, endpoint states and the rest, so
//     that a late packet's verdict shows the connection's whole history and
//     its conn_state). The history takes 9 bytes of the record when it has
//     at most 12 letters and no T or W, its last SYN, FIN and RST are the
//     ones the record's sequence numbers give and no side showed more than
//     one TTL, as for nearly every closed connection; else it and the TTLs
//     are kept whole in a shutExt (histpack.go);
//   - as the orders the rules compare: whether each side sent ordinary
//     packets, payload or RSTs, whether it sent ordinary packets after the
//     first RST, whether the reset stands, whether the server's FIN came
//     before the client's last payload, how many IPv4 IDs each side sent
//     (0 to 3 or more) and whether all were 0;
//   - not: the stream heads and the client's latest turn (a late RST's
//     request and response are empty, a TLS ClientHello is named without
//     its SNI), the segment ring (the timing rule finds only segments that
//     arrive after the record is inflated), the exact times other than the
//     latest packet's and the frame numbers of the earlier RSTs.
//
// Verdicts are the same as with the full Conn unless a RST arrives more
// than CompactAfter after the connection's last packet.
type shut struct {
	shutHead // bits: the endpoints (endBits), the shut* flags and shutKeyExt
	isn      [2]uint32
	nxt      [2]uint32
	ack      [2]uint32
	rstSeq   [2]uint32
	srvRTT   uint32   // ns, saturated
	cliRTT   uint32   //
	hist     histWord // the Zeek history, or the shutExt that holds it (histpack.go)
	ipid     [2]uint16
	ipidStep [2]uint16
	rsts     uint16
	ttl      [2]uint8
	ipidN    uint8 // side d's IPv4 IDs sent, 0 to 3, in bits 2d and 2d+1 (shutIPIDZero: all were 0)
	ttlN     uint8 // side d's count of distinct TTLs in bits 3d..3d+2; rstSent in 6 and 7
	turns    uint8
	hstate   uint8 // the history's endpoint states (histpack.go)
}

func (s *shut) links() *stubLinks { return &s.stubLinks }

// shut flags, after the endpoint bits. Per-side flags take two bits, the
// client's first.
const (
	shutFIN         = 1 << (endBitsLen + 2*iota) // fins: the side sent a FIN (Half.SawFIN)
	shutSeq                                      // HasSeq
	shutAck                                      // HasAck
	shutSYN                                      // SawSYN
	shutOrdinary                                 // sent a non-RST packet
	shutPayload                                  // sent payload
	shutAfterFirst                               // sent a non-RST packet after the first RST of the reset event
	shutIPIDZero                                 // every IPv4 ID it sent was 0
	shutMidstream   = 1 << (endBitsLen + 16 + iota - 8)
	shutSYNMissed   // SYNMissed
	shutPaySide     // LastPaySide is the server
	shutRSTSide     // FirstRSTSide is the server
	shutStanding    // ResetStanding
	shutServerFINed // the server's FIN came before the client's latest payload
	shutTLS         // the client's stream starts with a TLS handshake record
	shutSYNTime     // SYNTime is set (the RTTs give SYNACKTime and ACKTime)
	shutSYNACKTime  // SYNACKTime is set
	shutACKTime     // ACKTime is set
)

// shrink replaces closed connection c with a compact record.
func (t *Table) shrink(c *Conn) {
	t.end(c, EndCompacted)
	r, s := t.shuts.add()
	s.from(c)
	t.shuts.keep(s, c)
	t.conns.replace(handle(c.ref), kindShut|handle(r), c.hash)
	t.unlink(&t.closed, c)
	t.freeHeads(c)
	t.full.release(c.ref)
}

// from records c in s.
func (s *shut) from(c *Conn) {
	cl := &c.Half[Client]
	s.last, s.id = c.LastTime, c.ID
	s.bits = endBits(&c.Key, cl.Addr().Addr(), cl.port, c.Half[Server].Addr().Addr())
	for d := Client; d <= Server; d++ {
		h := &c.Half[d]
		s.isn[d], s.nxt[d], s.ack[d], s.rstSeq[d] = h.ISN, h.SndNxt, h.LastAck, h.LastRSTSeq
		s.ttl[d], s.ipid[d], s.ipidStep[d] = h.TTLLast, h.IPIDLast, h.IPIDMaxStep
		s.ipidN |= uint8(min(h.IPIDCount, 3)) << (2 * d)
		s.ttlN |= h.ttlN << (3 * d)
		if h.RSTs > 0 {
			s.ttlN |= 1 << (6 + d)
		}
		s.side(d, shutFIN, h.SawFIN)
		s.side(d, shutSeq, h.HasSeq)
		s.side(d, shutAck, h.HasAck)
		s.side(d, shutSYN, h.SawSYN)
		s.side(d, shutOrdinary, h.Packets > uint64(h.RSTs))
		s.side(d, shutPayload, h.PayloadBytes > 0)
		s.side(d, shutAfterFirst, c.RSTs > 0 && h.LastOrdinary.After(c.FirstRSTTime))
		s.side(d, shutIPIDZero, h.IPIDCount > 0 && h.IPIDZero == h.IPIDCount)
	}
	s.srvRTT, s.cliRTT = sat32(c.ServerRTT()), sat32(c.ClientRTT())
	s.rsts, s.turns = uint16(min(c.RSTs, 1<<16-1)), uint8(min(c.Turns, 255))
	sv := &c.Half[Server]
	s.flag(shutMidstream, c.Midstream)
	s.flag(shutSYNMissed, c.SYNMissed)
	s.flag(shutPaySide, c.LastPaySide == Server)
	s.flag(shutRSTSide, c.FirstRSTSide == Server)
	s.flag(shutStanding, c.ResetStanding())
	s.flag(shutServerFINed, sv.SawFIN && cl.LastPayloadTime.After(sv.FINTime))
	s.flag(shutTLS, isTLSHandshake(c.Head(Client)))
	s.flag(shutSYNTime, !c.SYNTime.IsZero())
	s.flag(shutSYNACKTime, !c.SYNACKTime.IsZero())
	s.flag(shutACKTime, !c.ACKTime.IsZero())
}

func (s *shut) flag(f uint32, on bool) {
	if on {
		s.bits |= f
	}
}

func (s *shut) side(d Side, f uint32, on bool) { s.flag(f<<d, on) }

func (s *shut) has(f uint32) bool             { return s.bits&f != 0 }
func (s *shut) sideHas(d Side, f uint32) bool { return s.bits&(f<<d) != 0 }

// sat32 returns d in nanoseconds, saturated to a uint32 (4.29 s).
func sat32(d time.Duration) uint32 { return uint32(min(max(d, 0), 1<<32-1)) }

// inflate turns compact record x, with hash h, back into a Conn for the
// packet that arrived on it, and returns the Conn.
func (t *Table) inflate(x handle, h uint64) *Conn {
	s := t.shuts.at(x.ref())
	c := t.alloc()
	k := t.shuts.key(s)
	s.into(c, &k)
	t.shuts.restore(s, c)
	if s.has(shutTLS) {
		// A handshake record's header and type: enough for isTLSHandshake.
		c.hb[Client] = t.heads.get(6)
		c.Half[Client].headN = uint16(copy(t.heads.bytes(c.hb[Client]), []byte{22, 3, 1, 0, 0, 1}))
		c.Half[Client].headSet, c.Half[Client].headDone = true, true
	}
	c.hash = h
	c.inClosed = true
	t.conns.replace(x, handle(c.ref), h)
	t.shuts.drop(x.ref())
	t.list(c)
	return c
}

// into restores the Conn that s, of key k, was made from, as far as s keeps
// it (see shut). The times s keeps only as orders are set a few
// nanoseconds before the last packet, in the order the rules compare them.
func (s *shut) into(c *Conn, k *Key) {
	last := s.last
	c.Key, c.ID, c.LastTime, c.FirstTime = *k, s.id, last, last
	client, server := endsOf(k, s.bits)
	c.setEnds(client, server)
	c.Midstream, c.SYNMissed = s.has(shutMidstream), s.has(shutSYNMissed)
	c.RSTs, c.Turns = int(s.rsts), int(s.turns)
	if s.has(shutPaySide) {
		c.LastPaySide = Server
	}
	if s.has(shutRSTSide) {
		c.FirstRSTSide = Server
	}
	// The handshake: both RTTs exact, the times before everything else.
	base := last - Nanos(s.srvRTT) - Nanos(s.cliRTT) - 8
	if s.has(shutSYNTime) {
		c.SYNTime = base
	}
	if s.has(shutSYNACKTime) {
		c.SYNACKTime = base + Nanos(s.srvRTT)
	}
	if s.has(shutACKTime) {
		c.ACKTime = base + Nanos(s.srvRTT) + Nanos(s.cliRTT)
	}
	// The reset event: first RST at last-4, latest at last-2 when it stands;
	// both at last-4 (before every side's last ordinary packet) when not.
	if c.RSTs > 0 {
		c.FirstRSTTime, c.LastRSTTime = last-4, last-2
		if !s.has(shutStanding) {
			c.LastRSTTime = last - 4
		}
	}
	for d := Client; d <= Server; d++ {
		s.halfInto(c, d)
	}
	if cl, sv := &c.Half[Client], &c.Half[Server]; s.has(shutServerFINed) {
		sv.FINTime, cl.LastPayloadTime = last-2, last-1
	}
}

// halfInto restores side d of c from s.
func (s *shut) halfInto(c *Conn, d Side) {
	h, last := &c.Half[d], s.last
	h.ISN, h.SndNxt, h.LastAck, h.LastRSTSeq = s.isn[d], s.nxt[d], s.ack[d], s.rstSeq[d]
	h.SawSYN, h.HasSeq, h.HasAck = s.sideHas(d, shutSYN), s.sideHas(d, shutSeq), s.sideHas(d, shutAck)
	if s.sideHas(d, shutFIN) {
		h.SawFIN = true
		c.fins |= 1 << d
		h.FINTime = last - 1
	}
	h.TTLLast, h.ttlN = s.ttl[d], s.ttlN>>(3*d)&7
	if h.ttlN > 0 {
		h.TTLCount = 1
	}
	h.IPIDLast, h.IPIDMaxStep, h.IPIDCount = s.ipid[d], s.ipidStep[d], uint32(s.ipidN>>(2*d)&3)
	if s.sideHas(d, shutIPIDZero) {
		h.IPIDZero = h.IPIDCount
	}
	if s.sideHas(d, shutOrdinary) {
		h.Packets = 1
		h.LastOrdinary = last - 1 // after the RSTs (last-2) when the reset did not stand
		if s.has(shutStanding) {
			h.LastOrdinary = last - 5 // before the first RST
			if s.sideHas(d, shutAfterFirst) {
				h.LastOrdinary = last - 3 // between the first RST and the latest
			}
		}
		h.LastTime = h.LastOrdinary
	}
	if s.ttlN&(1<<(6+d)) != 0 {
		h.RSTs = 1
		h.Packets++
		h.LastRSTTime = c.LastRSTTime
		h.LastTime = max(h.LastTime, h.LastRSTTime)
	}
	if s.sideHas(d, shutPayload) {
		h.PayloadBytes = 1
		h.LastPayloadTime = last - 1
	}
}
