// Package keep saves the evidence of reset connections during a live
// capture: the raw frames of every connection that sees a TCP RST, written
// to a pcap file, without keeping a full capture of everything else.
//
// # What it owns
//
// A Keeper holds, for each recent connection, a ring of its last
// Config.Frames raw frames (copies: a live source lends its buffer only
// until the next read). When a RST arrives on a connection, the Keeper
// writes the ring, then the RST, then up to Config.After frames of the same
// connection that follow it (each later RST renews that allowance, and is
// always written itself), so the file holds what led to the reset and what
// came after it: the evidence rstanalysis reads (TTLs and IP IDs of both
// sides, the handshake RTT, the packets that follow a forged RST).
//
// # Bounds
//
// Memory is at most Config.Conns rings of Config.Frames frames of at most
// the snap length each (defaults: 4096 × 16 × 512 bytes = 32 MiB worst
// case, far less in practice since most frames are short); the least
// recently active connection's ring is dropped when a new connection needs
// one (Stats.Evicted), so a SYN flood or a port scan cannot grow it. A new
// SYN on the 5-tuple of a reset connection starts a new, empty ring.
//
// # Trade-offs
//
// Frames are written when their connection is reset, so records are in
// time order within each connection, but a ring written at its RST may hold
// frames older than frames already written for another connection. rstscope
// read, tshark and Wireshark read such a file; `reordercap` sorts it. Frames
// of connections that never see a RST are never written: the file is the
// evidence of the resets, not a record of the traffic. The file is flushed
// after every write, so a capture killed outright keeps what it had saved.
// The records of each frame go to the writer in one write; when it takes
// only part of them (a full disk), Stats counts the records it took whole
// and Stats.Bytes says where the last one ends, so that the caller can cut
// the file back to a readable capture (pipeline.KeepFile does).
package keep
