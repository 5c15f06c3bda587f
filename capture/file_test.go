package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// threeRecs is an ARP frame, a SYN and the HTTP request, as frames 1-3.
func threeRecs(t testing.TB, t0 time.Time) []rec {
	arp := cat(ethHdr(layers.EthernetTypeARP), make([]byte, 28))
	return []rec{
		{data: arp, ts: t0},
		{data: cat(ethHdr(layers.EthernetTypeIPv6), v6Syn(t)), ts: t0.Add(1500 * time.Microsecond)},
		{data: cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t)), ts: t0.Add(2 * time.Second)},
	}
}

// TestFormats reads the same three frames in every container variant.
func TestFormats(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	recs := threeRecs(t, t0)
	usec := t0.Truncate(time.Microsecond)
	mixed := []rec{
		{data: cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t)), ts: t0, iface: 0},
		{data: v6Syn(t), ts: t0.Add(time.Nanosecond), iface: 1},
		// Another IP ID: the same packet on another interface would be a
		// duplicate (TestDuplicates).
		{data: cat(sll2Header(layers.EthernetTypeIPv4, 2), withIPID(v4Get(t), 0x4321)), ts: t0.Add(2 * time.Nanosecond), iface: 2},
	}
	tests := []struct {
		name   string
		data   []byte
		times  []time.Time // of the TCP packets
		frames []uint64
		ifaces []int
	}{
		{"pcap usec little-endian", classicPcap(binary.LittleEndian, false, layers.LinkTypeEthernet, 65535, recs),
			[]time.Time{usec.Add(1500 * time.Microsecond), usec.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcap usec big-endian", classicPcap(binary.BigEndian, false, layers.LinkTypeEthernet, 65535, recs),
			[]time.Time{usec.Add(1500 * time.Microsecond), usec.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcap nsec little-endian", classicPcap(binary.LittleEndian, true, layers.LinkTypeEthernet, 65535, recs),
			[]time.Time{t0.Add(1500 * time.Microsecond), t0.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcap nsec big-endian", classicPcap(binary.BigEndian, true, layers.LinkTypeEthernet, 65535, recs),
			[]time.Time{t0.Add(1500 * time.Microsecond), t0.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcap gzip", gzipped(t, classicPcap(binary.LittleEndian, true, layers.LinkTypeEthernet, 65535, recs)),
			[]time.Time{t0.Add(1500 * time.Microsecond), t0.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcapng nsec", pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, recs),
			[]time.Time{t0.Add(1500 * time.Microsecond), t0.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcapng gzip", gzipped(t, pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, recs)),
			[]time.Time{t0.Add(1500 * time.Microsecond), t0.Add(2 * time.Second)}, []uint64{2, 3}, []int{0, 0}},
		{"pcapng three interfaces, three link types",
			pcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2}, mixed),
			[]time.Time{t0, t0.Add(time.Nanosecond), t0.Add(2 * time.Nanosecond)}, []uint64{1, 2, 3}, []int{0, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, src Source) {
				pkts, err := readAll(t, src)
				if err != nil {
					t.Fatal(err)
				}
				if len(pkts) != len(tc.frames) {
					t.Fatalf("got %d TCP packets, want %d", len(pkts), len(tc.frames))
				}
				for i, p := range pkts {
					if p.Frame != tc.frames[i] || !p.Time.Equal(tc.times[i]) || p.Iface != tc.ifaces[i] {
						t.Errorf("packet %d: frame %d time %v iface %d, want %d %v %d",
							i, p.Frame, p.Time, p.Iface, tc.frames[i], tc.times[i], tc.ifaces[i])
					}
					if p.Time.Location() != time.UTC {
						t.Errorf("packet %d: time zone %v, want UTC", i, p.Time.Location())
					}
				}
				if st := src.Stats(); st.Frames != 3 || st.TCP != uint64(len(tc.frames)) {
					t.Errorf("stats %+v", st)
				}
			}
			t.Run("NewReader", func(t *testing.T) {
				f, err := NewReader(bytes.NewReader(tc.data), "mem", Options{})
				if err != nil {
					t.Fatal(err)
				}
				check(t, f)
				if f.Size() != -1 {
					t.Errorf("Size of a reader = %d, want -1", f.Size())
				}
				if st := f.Stats(); st.Bytes != int64(len(tc.data)) {
					t.Errorf("Stats.Bytes = %d, want %d", st.Bytes, len(tc.data))
				}
			})
			t.Run("Open file", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "capture.bin") // no telling extension
				if err := os.WriteFile(path, tc.data, 0o644); err != nil {
					t.Fatal(err)
				}
				src, err := Open(path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				check(t, src)
				if sz := src.(*File).Size(); sz != int64(len(tc.data)) {
					t.Errorf("Size = %d, want %d", sz, len(tc.data))
				}
			})
			t.Run("Open stdin pipe", func(t *testing.T) {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				go func() { w.Write(tc.data); w.Close() }()
				old := os.Stdin
				os.Stdin = r
				defer func() { os.Stdin = old }()
				src, err := Open("-", Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				check(t, src)
			})
		})
	}
}

// TestLastFrame checks the raw bytes and link type handed to a writer.
func TestLastFrame(t *testing.T) {
	t0 := time.Unix(1e9, 0).UTC()
	recs := threeRecs(t, t0)
	f, err := NewReader(bytes.NewReader(pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, recs)), "mem", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := f.Next(&p); err != nil {
		t.Fatal(err)
	}
	data, ci, lt := f.LastFrame()
	if !bytes.Equal(data, recs[1].data) || ci.CaptureLength != len(recs[1].data) || lt != layers.LinkTypeEthernet {
		t.Errorf("LastFrame = %d bytes, caplen %d, %v; want frame 2 (%d bytes), Ethernet",
			len(data), ci.CaptureLength, lt, len(recs[1].data))
	}
}

// pcapRecordStarts returns the offsets of the records of a classic pcap,
// walking the record headers independently of the code under test.
func pcapRecordStarts(t *testing.T, b []byte) []int {
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 || binary.BigEndian.Uint32(b) == 0xa1b23c4d {
		order = binary.BigEndian
	}
	var starts []int
	for off := 24; off < len(b); off += 16 + int(order.Uint32(b[off+8:])) {
		starts = append(starts, off)
	}
	return starts
}

// TestDamage cuts or corrupts a real capture and checks that every frame
// before the damage comes out, then a *DamageError naming it.
func TestDamage(t *testing.T) {
	loadCorpus(t)
	orig, err := os.ReadFile(filepath.Join(corpusDir, "zeek/pop3_pop3.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	starts := pcapRecordStarts(t, orig)
	if len(starts) != 125 {
		t.Fatalf("walked %d records, index says 125", len(starts))
	}
	full, err := readAll(t, mustReader(t, orig))
	if err != nil {
		t.Fatal(err)
	}
	const k = 100 // the damaged record (0-based), frames 1..100 are good
	absurd := append([]byte(nil), orig...)
	binary.LittleEndian.PutUint32(absurd[starts[k]+8:], 0x7fffffff)
	binary.LittleEndian.PutUint32(absurd[starts[k]+12:], 0x7fffffff)

	tests := []struct {
		name string
		data []byte
	}{
		{"cut mid record data", orig[:starts[k]+16+20]},
		{"cut mid record header", orig[:starts[k]+7]},
		{"cut right after record header", orig[:starts[k]+16]},
		{"absurd record length", absurd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustReader(t, tc.data)
			pkts, err := readAll(t, f)
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want *DamageError", err, err)
			}
			if de.Frame != k || de.Offset != int64(starts[k]) || de.File != "pop3.pcap" {
				t.Errorf("DamageError{File %q Frame %d Offset %d}, want pop3.pcap, %d, %d", de.File, de.Frame, de.Offset, k, starts[k])
			}
			want := "pop3.pcap: damaged after frame 100 (byte offset " + strconv.Itoa(starts[k]) + "): "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q, want prefix %q", err, want)
			}
			if f.Stats().Frames != k {
				t.Errorf("Stats.Frames = %d, want %d", f.Stats().Frames, k)
			}
			assertPrefix(t, pkts, full, k)
			if err2 := f.Next(new(Packet)); err2 != err {
				t.Errorf("Next after damage = %v, want the same error again", err2)
			}
		})
	}

	t.Run("gzip cut short", func(t *testing.T) {
		gz := gzipped(t, orig)
		f := mustReader(t, gz[:len(gz)*2/3])
		pkts, err := readAll(t, f)
		var de *DamageError
		if !errors.As(err, &de) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v, want *DamageError wrapping unexpected EOF", err)
		}
		if de.Frame == 0 || de.Frame >= 125 || !de.Compressed {
			t.Errorf("DamageError %+v: want some but not all frames, Compressed", de)
		}
		assertPrefix(t, pkts, full, int(de.Frame))
	})

	t.Run("pcapng cut mid block", func(t *testing.T) {
		ng := pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, threeRecs(t, time.Unix(1e9, 0)))
		_, err := readAll(t, mustReader(t, ng[:len(ng)-10]))
		var de *DamageError
		if !errors.As(err, &de) || de.Frame != 2 {
			t.Fatalf("error %v, want *DamageError after frame 2", err)
		}
	})
}

func mustReader(t testing.TB, data []byte) *File {
	t.Helper()
	f, err := NewReader(bytes.NewReader(data), "pop3.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// assertPrefix checks that got is the packets of full up to frame n.
func assertPrefix(t *testing.T, got, full []Packet, n int) {
	t.Helper()
	var want []Packet
	for _, p := range full {
		if p.Frame <= uint64(n) {
			want = append(want, p)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d packets before the damage, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("packet %d differs from the undamaged read", i)
		}
	}
}

func TestNotCapture(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"text", []byte("GET / HTTP/1.1\r\nHost: x\r\n"), `notes.txt: not a pcap or pcapng capture (starts with "GET / HT")`},
		{"short", []byte("hi"), `notes.txt: not a pcap or pcapng capture (starts with "hi")`},
		{"empty", nil, `notes.txt: not a pcap or pcapng capture (empty)`},
		{"gzip text", gzipped(t, []byte("hello, world")), `notes.txt: not a pcap or pcapng capture (gzip-compressed, starts with "hello, w")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tc.data), "notes.txt", Options{})
			if !errors.Is(err, ErrNotCapture) || err.Error() != tc.want {
				t.Errorf("error %q, want %q (ErrNotCapture)", err, tc.want)
			}
		})
	}
	t.Run("Open names the path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(path, []byte("GET / HTTP/1.1\r\n"), 0o644)
		_, err := Open(path, Options{})
		if !errors.Is(err, ErrNotCapture) || !strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q: want one line starting with the path", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope.pcap"), Options{})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v, want os.ErrNotExist", err)
		}
	})
}

func TestBadFilter(t *testing.T) {
	data := classicPcap(binary.LittleEndian, false, layers.LinkTypeEthernet, 65535, threeRecs(t, time.Unix(1e9, 0)))
	_, err := NewReader(bytes.NewReader(data), "x.pcap", Options{Filter: "tcp prot 80"})
	var fe *FilterError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `"tcp prot 80"`) || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("error %v, want *FilterError quoting the expression and libpcap's syntax error", err)
	}
}
