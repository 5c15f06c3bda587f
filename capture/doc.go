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
// layers with IgnoreUnsupported. Link types: Ethernet (with 802.1Q,
// 802.1ad/QinQ, MPLS and VXLAN on UDP 4789), Linux cooked v1 and v2 (what
// `tcpdump -i any` writes), raw IP (101, 228, 229, and 12/14), BSD null and
// loop, FDDI. IPv4 and IPv6 are decoded by this package's own layers, not
// gopacket's: they keep what a RST verdict needs (TTL or hop limit, IP ID,
// DF), walk IPv6 extension headers without allocating, and give the TCP
// payload length from the IP length fields, so a frame cut by the snap
// length still reports the real length. The TCP layer reads the three
// reserved flag bits, which gopacket drops. Checksums are not verified:
// captures taken on a sending host carry offloaded, wrong checksums.
//
// Nearly every frame of a TCP capture is Ethernet (with at most two 802.1Q
// tags) or raw IP, then IPv4 or IPv6, then TCP: a fast path runs the same
// layers on that shape without the parser's per-layer dispatch, and hands
// any other frame, or any error, to the parser. FuzzFastPath and the public
// corpus check that both give the same Packet for every frame.
//
// What each frame became is counted in [Stats]: TCP (returned), NotTCP (ARP,
// UDP, ICMP, a non-first IP fragment), Undecodable (a header truncated or
// malformed, an unknown link type), Filtered.
//
// # Trade-offs
//
// Nothing is allocated per packet in steady state (TestNextAllocs): the
// readers' zero-copy methods lend their buffer, and Packet copies what it
// keeps, including the first [HeadLen] payload bytes. Two exceptions: a
// frame whose decoding fails in one of gopacket's link layers allocates
// that layer's error, and pcapgo boxes the per-packet link type of a
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
// fails Open with a one-line error wrapping [ErrNotCapture].
//
// # Filters
//
// Options.Filter and LiveOptions.Filter are tcpdump expressions compiled by
// libpcap. For files they are compiled per link type on first use and run
// on the raw frame before decoding (pcap_offline_filter); live, the kernel
// runs them and rejected frames never reach the process. A raw IP file's
// link type (LINKTYPE_RAW 101, or DLT_RAW 12 or 14 as some writers leave
// it) is compiled as the host's DLT_RAW, the only raw IP value libpcap
// knows.
//
// # Files
//
//   - source.go, packet.go, errors.go: the Source interface, Packet and
//     Flags, Stats, and the error types.
//   - file.go, pcap.go: reading capture files (pcapgo for pcapng, this
//     package's own classic pcap reader), damage reporting.
//   - live.go: live capture with libpcap.
//   - filter.go: BPF filters for files, and the LINKTYPE to DLT mapping.
//   - decode.go: the decoder, its parsers by first layer, the fast path, and
//     filling a Packet from what the layers found.
//   - link.go: link layers and link types: Ethernet with 802.1Q and QinQ,
//     FDDI, MPLS, the raw IP link type numbers, SupportedLinkType.
//   - ip.go: IPv4 and IPv6 (extension headers) and the state they share
//     with the TCP layer.
//   - tcp.go: the TCP header and its option kinds.
//   - testdata/fuzz: the fuzz targets' seed corpus, written from
//     seeds_test.go.
package capture
