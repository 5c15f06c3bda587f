// Package gen writes deterministic, realistic TCP captures for benchmarks and
// for checking verdicts at scale: every RST it writes has a known origin,
// phase and cause, recorded in an optional ground-truth TSV.
//
// # What a capture holds
//
// The capture point is the client host (TTL 64, 0 hops). Connections to
// 4096 servers interleave, Concurrency of them open at once; each is one
// [Kind]:
//
//   - a handshake with real options (Linux SYN: MSS, SACK_PERM, TS, NOP,
//     WS; SYN-ACKs shaped like Linux, Windows or network gear), whose RTT
//     varies per server from 0.2 to 150 ms;
//   - HTTP/1.1 requests (method, Host, path) or a TLS ClientHello with SNI,
//     a ServerHello flight and encrypted records;
//   - responses in MSS-sized segments, in slow-start flights, with the
//     client's delayed ACKs; keep-alive think times between requests;
//   - a FIN close by either side, or one of the resets named by the causes
//     of rstanalysis.Cause:
//     refused, firewall reject (netfilter shape: ID 0, DF, window 0, no
//     options, nearer hops), server abort after the request or mid-response,
//     close with unread data, client abort, keep-alive reuse after the
//     server's FIN, a load balancer's idle timeout after 65–355 s, a
//     restarted server (stale connection), backlog overflow, TLS reject,
//     and on-path injection — one forged RST+ACK, or the Great Firewall's
//     RST then RST+ACKs at X, X+1460, X+4380 — with the real server's
//     packets still arriving afterwards and the client's stack answering
//     each late segment with a RST.
//
// Each sender keeps its habits: the server's TTL is 64, 128 or 255 minus
// its hop count, constant per connection; IPv4 IDs increment per packet per
// socket, Linux SYN-ACKs and socket-less RSTs carry DF and ID 0, some hosts
// send ID 0 always; injectors' TTLs and IDs jump. About 12% of connections
// are IPv6 by default. Frames received from the wire are padded to 60 bytes.
//
// # Trade-off
//
// A connection's whole script (about 20 steps of 32 bytes, plus its literal
// payload bytes) is written when it starts, and a min-heap of open
// connections by next packet time interleaves them. Memory follows
// Concurrency, not Packets (about 170 MiB at 50 k open), and scripting is
// simple straight-line code instead of a state machine per connection.
// Frames are built by hand into one reused buffer with RFC 1071 checksums,
// without gopacket's serialisation: 5 M packets take about 3 s, most of it
// the write. Payload bodies are slices of two fixed patterns (HTML-ish text,
// random bytes for encrypted records), not unique content.
//
// # Determinism
//
// One PCG stream seeded from Config.Seed drives every choice, and ties
// between connections are broken by their serial number, so the same
// Config always gives byte-identical output (pcapng too: its section header
// names no host).
//
// # Ground truth
//
// Each line of the truth TSV ([TruthHeader]) names a RST frame (1-based, as
// Wireshark numbers it), its connection's kind, the side whose address it
// carries, and its true origin, phase and cause in the rstanalysis
// vocabulary. A stack's RSTs that answer segments after a reset are
// after_reset, late_segment. The capture ends after exactly Config.Packets
// frames, cutting connections as a real capture does; only RSTs written are
// listed.
package gen
