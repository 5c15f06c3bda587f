package pipeline

import (
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// Builders of classic pcap captures (Ethernet, microsecond timestamps) for
// the tests that read real bytes through OpenFile.

// pcapHeader is the file header: magic, version 2.4, snap length 262144,
// Ethernet.
func pcapHeader() []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1)
	return h
}

// frameTemplate is an Ethernet + IPv4 (20 bytes) + TCP (20 bytes) frame
// from 198.51.100.1:40000 to 192.0.2.1:80; proto 17 makes it a UDP
// datagram's headers instead.
func frameTemplate(proto byte) []byte {
	f := make([]byte, 54)
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{198, 51, 100, 1})
	copy(ip[16:], []byte{192, 0, 2, 1})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp, 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12] = 5 << 4
	tcp[13] = 0x04 // RST
	return f
}

// appendRecord appends a pcap record of frame at time ts.
func appendRecord(b []byte, ts time.Time, frame []byte) []byte {
	var h [16]byte
	binary.LittleEndian.PutUint32(h[:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(frame)))
	return append(append(b, h[:]...), frame...)
}

// rstFlood returns a capture of n RSTs, perSec a second, each from a
// random source address and port to 192.0.2.1:80 with a random sequence
// number: a dense burst with no connection behind it (a scan's
// backscatter, a mass reset), every RST a connection of its own.
func rstFlood(n, perSec int) []byte {
	rng := rand.New(rand.NewPCG(18, uint64(n)))
	f := frameTemplate(6)
	b := make([]byte, 0, 24+n*(16+len(f)))
	b = append(b, pcapHeader()...)
	gap := time.Second / time.Duration(perSec)
	for i := range n {
		binary.BigEndian.PutUint32(f[26:], rng.Uint32()|0x01000000) // not 0.x.x.x
		binary.BigEndian.PutUint16(f[34:], uint16(1024+rng.IntN(64000)))
		binary.BigEndian.PutUint32(f[38:], rng.Uint32())
		b = appendRecord(b, t0.Add(time.Duration(i)*gap), f)
	}
	return b
}

// udpFrames returns n records of UDP datagrams, frames no TCP analysis
// sees: a read of them spends its time inside the Source's Next.
func udpFrames(n int) []byte {
	f := frameTemplate(17)
	b := make([]byte, 0, n*(16+len(f)))
	for i := range n {
		b = appendRecord(b, t0.Add(time.Duration(i)*time.Microsecond), f)
	}
	return b
}
