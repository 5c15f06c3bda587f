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
// sees the connections only through Hooks (Segment, End) and the read-only
// fields and methods of Conn and Half, and keeps its own per-connection
// state indexed by Conn.Ref, never in the Conn; gopacket's reassembly
// Stream is the model.
//
// # Files
//
// conn.go holds Side and Conn, half.go one direction's state (Half, Seen),
// apply.go how a segment is recorded, stream.go the reassembly of each
// stream's first bytes, app.go what those bytes say (HTTP/1.x, TLS),
// table.go the table with its expiry and LRU lists, key.go and index.go the
// 5-tuple key and its hash index, nanos.go timestamps, history.go the
// connection's history and conn_state in Zeek's words.
//
// # Memory and speed
//
// Memory follows the connections open at once, not the file's length: a
// Conn is about 1.6 KiB, allocated 64 at a time and recycled through a free
// list; connections expire after Config.IdleTimeout of capture time (or
// Config.ClosedTimeout once reset or closed by both sides), and past
// Config.MaxConns the least recently active is evicted (closed ones first),
// both through LRU lists that cost a few writes per packet.
// Timestamps are int64 nanoseconds (Nanos). A Conn holds no pointer (its
// list links are uint32 refs, its addresses and stream heads plain bytes),
// so the garbage collector does not scan the connections. Once the table
// has grown to its working size, Lookup and Apply allocate nothing.
//
// # Trade-offs
//
// Only the start of each stream is kept (ClientHeadCap, ServerHeadCap
// bytes), not the whole stream: enough to name the request, not to follow a
// long exchange. Segments that arrive out of order before the head is
// complete stop the reassembly there rather than being buffered.
package flows
