// Command floor is the reference ladder of rstscope's performance targets
// (docs/performance.md): a pcapgo read loop, then a DecodingLayerParser, a
// map of 5-tuples, a lean per-connection record, and gopacket.NewPacket, to
// be timed side by side with rstscope on the same machine and capture; the
// one-core target is at most 1.5× the lean record's time. It is not part of
// rstscope and shares no code with it: each mode is the straightforward,
// idiomatic gopacket program a competent engineer would write as a
// baseline, one rung heavier than the previous.
//
// Usage:
//
//	floor -mode MODE FILE
//
// FILE is a classic pcap file with Ethernet frames, read with pcapgo.NewReader
// over a 1 MiB bufio.Reader, one ZeroCopyReadPacketData call per packet (the
// bytes are valid until the next call; every mode copies what it keeps).
// ReadPacketData would allocate every packet's bytes and make each rung
// 0.4–0.9 s slower on a 5 M-packet capture, so the zero-copy ladder is the
// stricter yardstick. The modes:
//
//	read       count packets, no decoding
//	decode     + a gopacket.DecodingLayerParser for Ethernet, 802.1Q, IPv4,
//	           IPv6 and TCP (IgnoreUnsupported), counting TCP segments
//	map        + a map of canonical 5-tuples (both directions of a connection
//	           are one entry, lower endpoint first) counting packets per
//	           connection
//	lean       + a lean per-connection record instead of the counter: SYN,
//	           SYN-ACK and ACK times, and per direction the latest TTL or hop
//	           limit, IPv4 ID, sequence and acknowledgment numbers, the OR of
//	           the TCP flags, packet and byte counts (original frame
//	           lengths), up to 64 payload bytes of the first segment that
//	           carries any (copied once), and whether a FIN or RST was seen
//	state      the lean tracker the one-core target is held against (state.go):
//	           + a per-connection record like lean's, with TTL changes, IP ID
//	           jumps and first times, deleted when the connection is reset or
//	           closed by both FINs and an ACK
//	newpacket  the map mode with gopacket.NewPacket (Lazy, NoCopy) instead of
//	           the DecodingLayerParser
//
// Except in the state mode, connections are never deleted, not even after
// both FINs or a RST: every record is kept to the end. Every segment is TCP
// here, so the protocol is left out of the map key.
//
// It prints one line, "mode packets tcp connections", with - for counts the
// mode does not compute, and exits 1 with an error on a file it cannot read.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// result is what a mode counted; -1 means not counted by this mode.
type result struct {
	Packets int
	TCP     int
	Conns   int
}

// modes maps each -mode name to its loop, in ladder order.
var modes = []struct {
	name string
	run  func(*pcapgo.Reader) (result, error)
}{
	{"read", runRead},
	{"decode", runDecode},
	{"map", runMap},
	{"lean", runLean},
	{"state", runState},
	{"newpacket", runNewPacket},
}

func main() {
	mode := flag.String("mode", "", "read, decode, map, lean, state or newpacket")
	flag.Usage = func() {
		out := flag.CommandLine.Output()
		fmt.Fprintf(out, "usage: floor -mode MODE FILE\n\n")
		fmt.Fprintf(out, "Reference ladder for timing rstscope (not part of it): reads the classic\n")
		fmt.Fprintf(out, "pcap FILE (Ethernet) with pcapgo and prints \"mode packets tcp connections\".\n\n")
		fmt.Fprintf(out, "modes: read (no decoding), decode (+ DecodingLayerParser eth/VLAN/IP/TCP),\n")
		fmt.Fprintf(out, "map (+ map of 5-tuples), lean (+ lean per-connection record),\n")
		fmt.Fprintf(out, "state (+ lean per-connection record deleted on RST or close),\n")
		fmt.Fprintf(out, "newpacket (map of 5-tuples with gopacket.NewPacket)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var run func(*pcapgo.Reader) (result, error)
	for _, m := range modes {
		if m.name == *mode {
			run = m.run
		}
	}
	if run == nil {
		fmt.Fprintf(os.Stderr, "floor: unknown -mode %q\n", *mode)
		flag.Usage()
		os.Exit(2)
	}
	res, err := runFile(flag.Arg(0), run)
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s %s %s\n", *mode, count(res.Packets), count(res.TCP), count(res.Conns))
}

func count(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// runFile opens path as a classic Ethernet pcap file and runs one mode on it.
func runFile(path string, run func(*pcapgo.Reader) (result, error)) (result, error) {
	f, err := os.Open(path)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return result{}, fmt.Errorf("%s: not a classic pcap file: %w", path, err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return result{}, fmt.Errorf("%s: link type %v, want Ethernet", path, r.LinkType())
	}
	res, err := run(r)
	if err != nil {
		return res, fmt.Errorf("%s: after %d packets: %w", path, res.Packets, err)
	}
	return res, nil
}

// readErr turns the end of the file into nil.
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func runRead(r *pcapgo.Reader) (result, error) {
	res := result{TCP: -1, Conns: -1}
	for {
		_, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			return res, readErr(err)
		}
		res.Packets++
	}
}

// parser is the DecodingLayerParser of the decode, map and lean modes and
// the layers it decodes into.
type parser struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	p       *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newParser() *parser {
	p := &parser{decoded: make([]gopacket.LayerType, 0, 8)}
	p.p = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &p.eth, &p.dot1q, &p.ip4, &p.ip6, &p.tcp)
	p.p.IgnoreUnsupported = true
	return p
}

// decode parses data and reports whether it held a TCP segment, and whether
// that was over IPv6 (false: IPv4). A frame that fails to decode is not TCP.
func (p *parser) decode(data []byte) (isTCP, v6 bool) {
	if err := p.p.DecodeLayers(data, &p.decoded); err != nil {
		return false, false
	}
	for _, t := range p.decoded {
		switch t {
		case layers.LayerTypeIPv6:
			v6 = true
		case layers.LayerTypeTCP:
			isTCP = true
		}
	}
	return isTCP, v6
}

func runDecode(r *pcapgo.Reader) (result, error) {
	res := result{Conns: -1}
	p := newParser()
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			return res, readErr(err)
		}
		res.Packets++
		if ok, _ := p.decode(data); ok {
			res.TCP++
		}
	}
}

// key is a connection's canonical 5-tuple (the protocol is always TCP): the
// lower endpoint, by address then port, comes first, so both directions map
// to one key. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d).
type key struct {
	loAddr, hiAddr [16]byte
	loPort, hiPort uint16
}

func addr16(ip net.IP) (a [16]byte) {
	if len(ip) == net.IPv4len {
		a[10], a[11] = 0xff, 0xff
		copy(a[12:], ip)
	} else {
		copy(a[:], ip)
	}
	return a
}

// makeKey returns the canonical key of a segment from src to dst and its
// direction: 0 if src is the key's lower endpoint, 1 if it is the higher.
func makeKey(src, dst net.IP, sport, dport layers.TCPPort) (key, int) {
	s, d := addr16(src), addr16(dst)
	c := bytes.Compare(s[:], d[:])
	if c < 0 || c == 0 && sport <= dport {
		return key{s, d, uint16(sport), uint16(dport)}, 0
	}
	return key{d, s, uint16(dport), uint16(sport)}, 1
}

// counter is the map mode's per-connection value.
type counter struct {
	packets int
}

func runMap(r *pcapgo.Reader) (result, error) {
	var res result
	p := newParser()
	conns := make(map[key]*counter)
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			res.Conns = len(conns)
			return res, readErr(err)
		}
		res.Packets++
		isTCP, v6 := p.decode(data)
		if !isTCP {
			continue
		}
		res.TCP++
		var k key
		if v6 {
			k, _ = makeKey(p.ip6.SrcIP, p.ip6.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
		} else {
			k, _ = makeKey(p.ip4.SrcIP, p.ip4.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
		}
		c := conns[k]
		if c == nil {
			c = &counter{}
			conns[k] = c
		}
		c.packets++
	}
}

// TCP flag bits as in the header's 13th byte.
const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
	flagURG
	flagECE
	flagCWR
)

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= flagFIN
	}
	if t.SYN {
		f |= flagSYN
	}
	if t.RST {
		f |= flagRST
	}
	if t.PSH {
		f |= flagPSH
	}
	if t.ACK {
		f |= flagACK
	}
	if t.URG {
		f |= flagURG
	}
	if t.ECE {
		f |= flagECE
	}
	if t.CWR {
		f |= flagCWR
	}
	return f
}

// half is one direction of a lean record.
type half struct {
	packets uint32
	bytes   uint64 // frames' original lengths
	seq     uint32 // latest
	ack     uint32 // latest
	ipID    uint16 // latest IPv4 ID
	ttl     uint8  // latest TTL or hop limit
	flags   uint8  // OR of every segment's flags
	fin     bool
	rst     bool
	nHead   uint8
	head    [64]byte // the first payload bytes, from the first segment with any
}

// record is the lean per-connection record.
type record struct {
	synAt, synAckAt, ackAt int64 // Unix ns; 0 = not seen
	synDir                 int8  // direction of the first SYN; -1 = none yet
	dir                    [2]half
}

func runLean(r *pcapgo.Reader) (result, error) {
	res, _, err := lean(r)
	return res, err
}

// lean is the lean mode's loop; it also returns the records, for the test.
func lean(r *pcapgo.Reader) (result, map[key]*record, error) {
	var res result
	p := newParser()
	conns := make(map[key]*record)
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			res.Conns = len(conns)
			return res, conns, readErr(err)
		}
		res.Packets++
		isTCP, v6 := p.decode(data)
		if !isTCP {
			continue
		}
		res.TCP++
		var (
			k    key
			d    int
			ttl  uint8
			ipID uint16
		)
		if v6 {
			k, d = makeKey(p.ip6.SrcIP, p.ip6.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
			ttl = p.ip6.HopLimit
		} else {
			k, d = makeKey(p.ip4.SrcIP, p.ip4.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
			ttl, ipID = p.ip4.TTL, p.ip4.Id
		}
		c := conns[k]
		if c == nil {
			c = &record{synDir: -1}
			conns[k] = c
		}
		t := &p.tcp
		at := ci.Timestamp.UnixNano()
		switch {
		case t.SYN && !t.ACK:
			if c.synAt == 0 {
				c.synAt, c.synDir = at, int8(d)
			}
		case t.SYN && t.ACK:
			if c.synAckAt == 0 && c.synDir >= 0 && int(c.synDir) != d {
				c.synAckAt = at
			}
		case t.ACK && !t.RST:
			if c.ackAt == 0 && c.synAckAt != 0 && int(c.synDir) == d {
				c.ackAt = at
			}
		}
		h := &c.dir[d]
		h.packets++
		h.bytes += uint64(ci.Length)
		h.seq, h.ack = t.Seq, t.Ack
		h.ipID, h.ttl = ipID, ttl
		h.flags |= tcpFlags(t)
		h.fin = h.fin || t.FIN
		h.rst = h.rst || t.RST
		if h.nHead == 0 && len(t.Payload) > 0 {
			h.nHead = uint8(copy(h.head[:], t.Payload))
		}
	}
}

func runNewPacket(r *pcapgo.Reader) (result, error) {
	var res result
	conns := make(map[key]*counter)
	opts := gopacket.DecodeOptions{Lazy: true, NoCopy: true}
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			res.Conns = len(conns)
			return res, readErr(err)
		}
		res.Packets++
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, opts)
		t, ok := pkt.TransportLayer().(*layers.TCP)
		if !ok {
			continue
		}
		var k key
		switch n := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			k, _ = makeKey(n.SrcIP, n.DstIP, t.SrcPort, t.DstPort)
		case *layers.IPv6:
			k, _ = makeKey(n.SrcIP, n.DstIP, t.SrcPort, t.DstPort)
		default:
			continue
		}
		res.TCP++
		c := conns[k]
		if c == nil {
			c = &counter{}
			conns[k] = c
		}
		c.packets++
	}
}
