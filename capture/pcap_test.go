package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// pcapFile builds a little-endian µs pcap with the given snap length whose
// records hold the given payloads (link type raw IPv4, not decoded here).
func pcapFile(snaplen uint32, recs ...[]byte) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], 228)
	b.Write(h)
	for i, r := range recs {
		rh := make([]byte, 16)
		binary.LittleEndian.PutUint32(rh, uint32(1000+i))
		binary.LittleEndian.PutUint32(rh[4:], 999_999)
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(r)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(r)))
		b.Write(rh)
		b.Write(r)
	}
	return b.Bytes()
}

// TestPcapReaderRecords reads records smaller and larger than the reader's
// buffer, through a reader that returns one byte at a time, and checks
// each record's bytes and header.
func TestPcapReaderRecords(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*pcapBufSize/16+5) // 3 MiB + 80 bytes
	recs := [][]byte{[]byte("small"), big, {}, []byte("after")}
	file := pcapFile(4*pcapBufSize, recs...)
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{{"whole", bytes.NewReader(file)}, {"one byte at a time", iotest.OneByteReader(bytes.NewReader(file))}} {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := newPcapReader(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range recs {
				h, data, err := pr.record()
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if !bytes.Equal(data, want) || h.sec != uint32(1000+i) || h.frac != 999_999 || h.caplen != uint32(len(want)) {
					t.Fatalf("record %d: header %+v, %d bytes; want %d bytes", i, h, len(data), len(want))
				}
			}
			if _, _, err := pr.record(); err != io.EOF {
				t.Fatalf("after the last record: %v, want io.EOF", err)
			}
		})
	}
}

// TestPcapReaderLyingLength: a record header that claims 1 GiB in a file
// whose header allows it must not make the reader allocate 1 GiB.
func TestPcapReaderLyingLength(t *testing.T) {
	file := pcapFile(0x7fffffff, []byte("ok"))
	rh := make([]byte, 16)
	binary.LittleEndian.PutUint32(rh[8:], 1<<30)
	binary.LittleEndian.PutUint32(rh[12:], 1<<30)
	file = append(append(file, rh...), "only a few bytes follow"...)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := NewReader(bytes.NewReader(file), "lie.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, f)
	runtime.ReadMemStats(&after)
	var de *DamageError
	if !errors.As(err, &de) || !errors.Is(err, io.ErrUnexpectedEOF) || de.Frame != 1 || de.Offset != 24+16+2 {
		t.Fatalf("error %v, want *DamageError after frame 1 at offset 42 wrapping unexpected EOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("reading allocated %d MiB for a %d-byte file", got>>20, len(file))
	}
}
