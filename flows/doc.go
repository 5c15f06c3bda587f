// Package flows keeps the state of every TCP connection in a capture: which
// end is the client, what each direction sent, and the first bytes of each
// stream, so that a RST can be judged against the packets around it.
//
// # What a connection holds
//
// A Conn is one incarnation of a 5-tuple, keyed by its canonical Key so both
// directions meet. The client is the end that sent the SYN (RFC 9293's
// active opener); a connection first seen without SYN or SYN-ACK is marked
// Midstream and its sides are guessed from the ports (ServerByPort). Each
// direction (Half) keeps what rstanalysis's rules compare a RST with: the
// TTLs or hop limits and IPv4 IDs of its ordinary packets, its sequence space
// (ISN, SND.NXT as seen, last ACK, window), FIN and RST times, and a ring of
// its last six segments to find the one a RST answers. The handshake
// gives two round-trip legs from the vantage point: SYN→SYN-ACK to the
// server, SYN-ACK→ACK to the client. The first bytes of each stream are
// reassembled in sequence order (AppOf names the HTTP/1.x request and
// status, the TLS ClientHello's SNI, TLS alerts).
//
// # The per-packet step and its users
//
// Table.Step owns the per-packet step: find or create the connection,
// expire old ones, show the segment to the table's Hooks with the
// connection as it was before it, record it. A user such as rstanalysis
// sees the connections only through Hooks (Segment, End, Keep) and the
// read-only fields and methods of Conn and Half, and keeps its own
// per-connection state indexed by Conn.Ref, never in the Conn; gopacket's
// reassembly Stream is the model. The Hooks see a half-open connection
// from its promotion (its SYN replayed first) and a closed one until it is
// compacted (End with EndCompacted), and again if a late packet brings it
// back.
//
// # Files
//
// conn.go holds Side and Conn, half.go one direction's state (Half, Seen),
// apply.go how a segment is recorded, stream.go the reassembly of each
// stream's first bytes, heads.go where they are kept and digest.go how they
// are cut, app.go what they say (HTTP/1.x, TLS), table.go the table,
// expire.go its expiry and eviction, list.go its lists, syn.go and shut.go
// the compact records (histpack.go and shutkey.go how a closed one keeps its
// history and key), slab.go their storage (huge_linux.go its huge
// pages), key.go and index.go the
// 5-tuple key and its hash index, nanos.go timestamps, history.go the
// connection's history and conn_state in Zeek's words.
//
// # Memory and speed
//
// Memory follows the connections open at once, not the file's length. A
// Conn is 1,024 bytes, allocated 64 at a time (16 pages) and recycled through
// a free list; the first bytes of its streams live in the table's head
// store (heads.go), in blocks cut to what AppOf reads once that is decided
// (digest.go). A half-open connection, a SYN and nothing back, is held in
// a 96-byte record until its next packet (syn.go), so that a SYN flood
// costs little; a closed connection quiet for Config.CompactAfter, whose
// Hooks no longer need it whole, in a 104-byte record of what late packets
// need (shut.go), until Config.ClosedTimeout after its last packet.
// Connections expire after Config.IdleTimeout of capture time, and past
// Config.MaxConns a closed one is evicted, else the oldest half-open one,
// else the least recently active, through lists that cost a few writes
// per packet. Timestamps are int64 nanoseconds (Nanos). No
// record holds a pointer (list links are uint32 refs, addresses and heads
// plain bytes, the index holds handles), so the garbage collector does not
// scan the table. Once the table has grown to its working size, Step
// allocates nothing. Past 2 MiB, the Conns' slabs and the index's slots
// live in memory mapped outside the Go heap in transparent huge pages
// where Linux gives them (huge_linux.go): each packet's connection is
// then seldom a TLB miss.
//
// # Trade-offs
//
// Only the start of each stream is kept (ClientHeadCap, ServerHeadCap
// bytes), not the whole stream: enough to name the request, not to follow a
// long exchange. Segments that arrive out of order before the head is
// complete stop the reassembly there rather than being buffered. A closed
// connection's compact record drops its heads and recent segments: a RST
// that comes more than CompactAfter after the connection's last packet is
// judged without its request, response and timing finding (the origin,
// phase and cause stay the same on every capture of the lab and the
// public corpus, even compacting at once).
package flows
