// Command synflood writes a classic pcap of a SYN flood: SYNs from random
// IPv4 sources and ports to a few servers, none answered, and among them,
// every -every SYNs, a real connection (handshake, request, and a RST from
// the server or the client) so that the capture has verdicts to compare.
// It measures the connection table's memory under a flood:
//
//	go run ./internal/bench/synflood -syns 2000000 -o flood.pcap
//	/usr/bin/time -v rstscope read -o json flood.pcap > /dev/null
//
// With -rst the flood is of RSTs instead (a scan's backscatter, a mass
// reset: every RST a connection of its own with its verdict pending), as
// dense as -rate says:
//
//	go run ./internal/bench/synflood -rst -syns 1000000 -rate 333333 -every 0 -o rsts.pcap
//
// Frames are Ethernet, IPv4 (with its header checksum) and TCP without
// options or checksum, 54 bytes plus payload; the output is the same for
// the same flags.
package main

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	syns := flag.Int("syns", 2_000_000, "flood SYNs to write")
	every := flag.Int("every", 1000, "a real connection every this many flood SYNs (0: none)")
	rate := flag.Float64("rate", 100_000, "flood SYNs per second of capture time")
	seed := flag.Uint64("seed", 1, "random seed")
	rsts := flag.Bool("rst", false, "flood RSTs instead of SYNs")
	out := flag.String("o", "", "output pcap (required)")
	flag.Parse()
	if *out == "" || *syns < 0 || *every < 0 || *rate <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	floodFlags = syn
	if *rsts {
		floodFlags = rst
	}
	if err := write(*out, *syns, *every, *rate, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synflood:", err)
		os.Exit(1)
	}
}

// frame is what write needs to build one TCP segment.
type frame struct {
	src, dst   [4]byte
	sport      uint16
	dport      uint16
	seq, ack   uint32
	flags      uint8
	ttl        uint8
	ipid       uint16
	payload    string
	at         time.Duration
	serverSide bool
}

// floodFlags are the flood segments' TCP flags (-rst).
var floodFlags uint8

const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

func write(path string, syns, every int, rate float64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gap := time.Duration(float64(time.Second) / rate)
	var pending []frame // the real connections' later packets, by time
	var buf []byte
	emit := func(fr frame) error {
		buf = build(buf[:0], fr)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(fr.at), CaptureLength: len(buf), Length: len(buf)}
		return w.WritePacket(ci, buf)
	}
	for i := range syns {
		now := time.Duration(i) * gap
		for len(pending) > 0 && pending[0].at <= now {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		fr := frame{src: [4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))},
			dst: [4]byte{192, 0, 2, byte(1 + i%8)}, sport: uint16(1024 + rng.IntN(64511)), dport: 80,
			seq: rng.Uint32(), flags: floodFlags, ttl: uint8(40 + rng.IntN(200)), ipid: uint16(rng.Uint32()), at: now}
		if err := emit(fr); err != nil {
			return err
		}
		if every > 0 && i%every == 0 {
			pending = append(pending, conn(i/every, now)...)
			slices.SortStableFunc(pending, func(a, b frame) int { return cmp.Compare(a.at, b.at) })
		}
	}
	for _, fr := range pending {
		if err := emit(fr); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// conn returns the packets of real connection n starting at start: a
// handshake over a 20 ms path, a request, a response, then a RST from the
// server (even n) or the client (odd n).
func conn(n int, start time.Duration) []frame {
	c, s := [4]byte{10, 1, byte(n >> 8), byte(n)}, [4]byte{198, 51, 100, 10}
	port := uint16(20000 + n%40000)
	ms := func(x float64) time.Duration { return start + time.Duration(x*float64(time.Millisecond)) }
	req, resp := "GET /item HTTP/1.1\r\nHost: shop.example\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nokay"
	cs, ss := uint32(1000), uint32(5000)
	cl := func(at float64, flags uint8, seq, ackn uint32, p string) frame {
		return frame{src: c, dst: s, sport: port, dport: 80, seq: seq, ack: ackn, flags: flags, ttl: 64, ipid: uint16(n + int(seq)), payload: p, at: ms(at)}
	}
	sv := func(at float64, flags uint8, seq, ackn uint32, p string) frame {
		return frame{src: s, dst: c, sport: 80, dport: port, seq: seq, ack: ackn, flags: flags, ttl: 52, ipid: uint16(7 * (n + int(seq))), payload: p, at: ms(at), serverSide: true}
	}
	ps := []frame{
		cl(0, syn, cs, 0, ""),
		sv(20, syn|ack, ss, cs+1, ""),
		cl(20.1, ack, cs+1, ss+1, ""),
		cl(21, psh|ack, cs+1, ss+1, req),
		sv(41, psh|ack, ss+1, cs+1+uint32(len(req)), resp),
	}
	if n%2 == 0 {
		ps = append(ps, sv(45, rst|ack, ss+1+uint32(len(resp)), cs+1+uint32(len(req)), ""))
	} else {
		ps = append(ps, cl(42, rst|ack, cs+1+uint32(len(req)), ss+1+uint32(len(resp)), ""))
	}
	return ps
}

// build appends fr's frame to b.
func build(b []byte, fr frame) []byte {
	eth := [14]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00}
	if fr.serverSide {
		eth[5], eth[11] = 1, 2
	}
	b = append(b, eth[:]...)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, fr.ttl, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(fr.payload)))
	binary.BigEndian.PutUint16(ip[4:], fr.ipid)
	ip[6] = 0x40 // DF
	copy(ip[12:16], fr.src[:])
	copy(ip[16:20], fr.dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], fr.sport)
	binary.BigEndian.PutUint16(tcp[2:], fr.dport)
	binary.BigEndian.PutUint32(tcp[4:], fr.seq)
	binary.BigEndian.PutUint32(tcp[8:], fr.ack)
	tcp[12], tcp[13] = 5<<4, fr.flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	b = append(b, tcp...)
	return append(b, fr.payload...)
}
