package rstanalysis

import (
	"bytes"
	"io/fs"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// TestParcelLines: a parcel is two whole 64-byte lines, so that a batch's
// array of them moves two lines per packet between the cores.
func TestParcelLines(t *testing.T) {
	if n := unsafe.Sizeof(parcel{}); n != 128 {
		t.Errorf("parcel is %d bytes, want 128: adjust its padding", n)
	}
}

// roundTrip sends ps through one batch, as the reader and a worker do, and
// wants every packet rebuilt exactly (the payload bytes captured, not the
// rest of Head), and each RST with its own snapshot. The worker's packet is
// reused from one to the next, as in Sharded.run.
func roundTrip(t *testing.T, name string, ps []capture.Packet) {
	t.Helper()
	h := flows.NewHasher()
	b := newBatch()
	snaps := make([]HostSnapshot, len(ps))
	for i := range ps {
		k := flows.KeyOf(&ps[i])
		if ps[i].Flags&capture.RST != 0 {
			snaps[i].srcIPID.frame = uint64(i + 1)
			b.add(&ps[i], &k, h.Hash(&k), &snaps[i])
		} else {
			b.add(&ps[i], &k, h.Hash(&k), nil)
		}
	}
	var u unpacker
	var q capture.Packet
	for i := range ps {
		snap := u.unpack(&q, b, &b.items[i])
		want, got := ps[i], q
		clear(want.Head[want.HeadN:])
		clear(got.Head[got.HeadN:])
		if got != want {
			t.Fatalf("%s: packet %d (frame %d) rebuilt as\n  %+v\nwant\n  %+v", name, i, want.Frame, got, want)
		}
		if rst := ps[i].Flags&capture.RST != 0; rst != (snap != nil) || rst && *snap != snaps[i] {
			t.Fatalf("%s: packet %d: wrong host snapshot", name, i)
		}
	}
}

// TestParcelRoundTrip: every packet of the lab captures and the public
// corpus (IPv4 and IPv6, tunnels, VLANs, payloads of every length) comes
// out of a batch as it went in, and so do packets with unusual fields.
func TestParcelRoundTrip(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::2")
	odd := []capture.Packet{
		{Frame: 1, Time: time.Unix(5, 7).UTC(), Src: v4, Dst: v6, SrcPort: 9, DstPort: 9, Flags: capture.RST, HeadN: 3, PayloadLen: 3},
		{Frame: 2, Time: time.Unix(5, 8), Src: v6, Dst: v4, SrcPort: 80, DstPort: 1, Encap: capture.EncapGRE,
			OuterSrc: v4, OuterDst: v4, OuterTTL: 9, HeadN: capture.HeadLen, PayloadLen: 1 << 40, Iface: 1 << 40},
		{Frame: 3, Time: time.Now(), Src: v4, Dst: v4, SrcPort: 7, DstPort: 7, HasIPID: true, DF: true, IPID: 3, TTL: 4,
			SrcMAC: [6]byte{1, 2, 3, 4, 5, 6}, Seq: 1, Ack: 2, Window: 3, Options: 4, Iface: -1},
		{Frame: 4, Src: netip.MustParseAddr("::ffff:10.0.0.1"), Dst: v4, SrcPort: 1, DstPort: 2},
		{Frame: 5, Src: netip.MustParseAddr("fe80::1%eth0"), Dst: v6},
		{Frame: 6},
	}
	for i := range odd {
		for j := range odd[i].HeadN {
			odd[i].Head[j] = byte(j + i)
		}
	}
	roundTrip(t, "odd", odd)
	var files []string
	for _, dir := range []string{"../testdata/lab", "../../shared/corpus"} {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") || strings.HasSuffix(path, ".cap")) {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) == 0 {
		t.Fatal("no lab captures")
	}
	for _, f := range files {
		src, err := capture.Open(f, capture.Options{})
		if err != nil {
			continue // not every corpus file is a capture this reader takes
		}
		var ps []capture.Packet
		var p capture.Packet
		for src.Next(&p) == nil {
			ps = append(ps, p)
			if len(ps) == batchSize {
				roundTrip(t, f, ps)
				ps = ps[:0]
			}
		}
		src.Close()
		roundTrip(t, f, ps)
	}
}

// TestShardedPerPacketAllocs: once its batches circulate, the sharded
// pipeline (reader, hand-over and worker) allocates nothing per packet: a
// batch made when none came back in time (three allocations) is all it
// may allocate, at most one per batch sent.
func TestShardedPerPacketAllocs(t *testing.T) {
	const n = 16 * batchSize
	src, err := capture.NewReader(bytes.NewReader(steadyCapture(t, 50, 3*n)), "steady", capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSharded(Config{}, 1, func(*Verdict) { t.Error("no RST in this capture") })
	defer s.Flush()
	var p capture.Packet
	step := func() {
		if err := src.Next(&p); err != nil {
			t.Fatalf("capture ran out: %v", err)
		}
		s.Packet(&p)
	}
	for range n { // the batches made, the tables grown
		step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		step()
	}
	runtime.ReadMemStats(&after)
	if m := after.Mallocs - before.Mallocs; m > 3*n/batchSize {
		t.Errorf("%d allocations in %d packets in steady state, want at most %d", m, n, 3*n/batchSize)
	}
}
