// Package capture opens packet sources and decodes each frame, link layer
// to TCP, into a caller-owned [Packet].
//
// # Sources
//
// [Open] reads a classic pcap file (microsecond or nanosecond timestamps,
// either byte order) or a pcapng file (several interfaces with different
// link types; [Packet].Iface is the interface index), from a path or from
// standard input ("-"). Gzip compression is recognised by its magic bytes,
// whatever the file is called. [OpenLive] captures from an interface with
// libpcap. Both return a [Source]; a [File] also reports its Size so that
// a caller can show progress against [Stats].Bytes, and both implement
// [FrameSource], which hands out the raw bytes of the last frame for
// writing reset connections to a new capture.
//
// Frames are numbered from 1 counting every record, as Wireshark does, so
// that a frame number in a report can be looked up in Wireshark. Times are
// UTC.
//
// # Decoding
//
// One gopacket.DecodingLayerParser per first layer walks preallocated
// layers with IgnoreUnsupported. Link types (linktype.go lists them, with
// the DLT each is compiled as for filters): Ethernet, Linux cooked v1 and
// v2 (what `tcpdump -i any` writes), raw IP (101, 228, 229, and 12/14),
// BSD null and loop, FDDI, PPP. Over Ethernet: 802.1Q and 802.1ad/QinQ
// tags, MPLS, PPPoE sessions, 802.3 frames with LLC/SNAP. IPv4 and IPv6
// are decoded by this package's own layers, not gopacket's: they keep what
// a RST verdict needs (TTL or hop limit, IP ID, DF), walk IPv6 extension
// headers without allocating, and give the TCP payload length from the IP
// length fields, so a frame cut by the snap length still reports the real
// length. The TCP layer reads the three reserved flag bits, which gopacket
// drops. Checksums are not verified: captures taken on a sending host
// carry offloaded, wrong checksums.
//
// Tunnels are followed to the innermost IP and TCP headers, which the
// Packet describes (tunnel.go): IP in IP, GRE (with checksum, key,
// sequence number; carrying IP, Ethernet or PPP), ERSPAN types I, II and
// III, VXLAN on UDP 4789 and 8472, Geneve on UDP 6081. [Packet].Encap
// names the outermost tunnel and [Packet].OuterTTL the outermost IP
// header's TTL. At most four tunnels nest; a deeper frame is malformed.
//
// Nearly every frame of a TCP capture is Ethernet (with at most two 802.1Q
// tags) or raw IP, then IPv4 or IPv6, then TCP: a fast path runs the same
// layers on that shape without the parser's per-layer dispatch, and hands
// any other frame, or any error, to the parser. FuzzFastPath and the public
// corpus check that both give the same Packet for every frame.
//
// What each frame became is counted in [Stats]: TCP (returned), NotTCP (ARP,
// UDP, ICMP, a non-first IP fragment), Undecodable (split by reason: cut by
// the snap length, malformed, of an unsupported link type), Filtered, and
// Duplicates: in a capture of several interfaces (pcapng, Linux cooked),
// a segment recorded a second time on another interface within a
// millisecond is skipped unless Options.KeepDuplicates (dedup.go says how
// a copy is told from a retransmission). A record whose captured length
// exceeds the packet's is read as captured and counted (OverLength).
//
// # Trade-offs
//
// Nothing is allocated per packet in steady state (TestNextAllocs,
// TestTunnelAllocs): the
// readers' zero-copy methods lend their buffer, and Packet copies what it
// keeps, including the first [HeadLen] payload bytes. Two exceptions: a
// frame whose decoding fails in one of gopacket's layers (Ethernet, LLC,
// GRE...) allocates that layer's error, and pcapgo boxes the per-packet link type of a
// pcapng interface whose link type is 256 or more (SLL2) into an
// interface value, two bytes per packet.
//
// A frame whose fixed 20-byte TCP header is cut by the snap length is
// Undecodable; one whose TCP options are cut is returned, with the option
// kinds that were captured: its sequence numbers and flags are intact.
//
// # Damage
//
// A file that ends inside a record, declares an absurd record length, or
// holds a pcapng block that does not parse yields its good frames and then
// a [*DamageError] (frames read so far and byte offset), so that a caller
// can report what it found and warn. Input that is not a capture at all
// fails Open with a one-line error wrapping [ErrNotCapture]. A classic
// pcap file of a link type the decoder does not support fails Open with a
// [*LinkTypeError], and so does OpenLive on such an interface; a pcapng
// file none of whose frames had a supported link type yields it from Next
// at its end.
//
// # Filters
//
// Options.Filter and LiveOptions.Filter are tcpdump expressions compiled by
// libpcap. For files they are compiled per link type on first use and run
// on the raw frame before decoding (pcap_offline_filter); live, the kernel
// runs them and rejected frames never reach the process. A file's
// LINKTYPE_ value is translated to libpcap's DLT_ as libpcap's
// pcap-common.c does: a raw IP link type (LINKTYPE_RAW 101, or DLT_RAW 12
// or 14 as some writers leave it) is compiled as the host's DLT_RAW, the
// only raw IP value libpcap knows. Frames of an unsupported link type are
// skipped before the filter.
//
// # Files
//
//   - source.go, packet.go, errors.go: the Source interface, Packet and
//     Flags, Stats and the counting shared by File and Live, and the
//     error types.
//   - file.go, pcap.go: reading capture files (pcapgo for pcapng, this
//     package's own classic pcap reader), damage reporting.
//   - live.go: live capture with libpcap.
//   - filter.go: BPF filters for files.
//   - linktype.go: the supported link types, their LINKTYPE to DLT
//     mapping, LinkTypeError.
//   - decode.go: the decoder, its parsers by first layer, the fast path, and
//     filling a Packet from what the layers found.
//   - link.go: link layers: Ethernet with 802.1Q and QinQ, FDDI, MPLS, the
//     raw IP link type numbers.
//   - tunnel.go: Encap and the tunnel layers: GRE, ERSPAN, VXLAN, Geneve,
//     PPPoE, PPP, SNAP.
//   - dedup.go: recognising a segment recorded twice.
//   - ip.go: IPv4 and IPv6 (extension headers) and the state they share
//     with the TCP layer.
//   - tcp.go: the TCP header and its option kinds.
//   - testdata/fuzz: the fuzz targets' seed corpus, written from
//     seeds_test.go.
package capture
