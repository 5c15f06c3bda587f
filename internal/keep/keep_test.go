package keep

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/capture"
)

// step is one frame fed to a Keeper: the connection it belongs to (its
// client port), its flags, and a tag that is the whole frame's content, so
// the records of the output can be told apart.
type step struct {
	conn  uint16
	flags capture.Flags
	tag   string
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func packet(s step, i int) (*capture.Packet, gopacket.CaptureInfo) {
	p := &capture.Packet{Frame: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond),
		Src: netip.MustParseAddr("10.0.0.1"), SrcPort: s.conn,
		Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 80, Flags: s.flags}
	if i%2 == 1 { // either direction belongs to the same connection
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return p, gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(s.tag), Length: len(s.tag) + 100}
}

// run feeds steps to a Keeper with cfg and returns the tags written, in
// file order, and the Keeper's stats.
func run(t *testing.T, cfg Config, steps []step) ([]string, Stats) {
	t.Helper()
	var buf bytes.Buffer
	k, err := New(&buf, layers.LinkTypeEthernet, 512, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		p, ci := packet(s, i)
		data := []byte(s.tag)
		if err := k.Add(p, data, ci); err != nil {
			t.Fatalf("Add(%v): %v", s, err)
		}
		copy(data, "XXXXXXXX") // the source reuses its buffer
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	st := k.Stats()
	if st.Bytes != int64(buf.Len()) {
		t.Errorf("Stats.Bytes %d, want the %d bytes written", st.Bytes, buf.Len())
	}
	st.Bytes = 0 // checked
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", r.LinkType())
	}
	var tags []string
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.Length != len(data)+100 {
			t.Errorf("record %q: original length %d, want %d", data, ci.Length, len(data)+100)
		}
		tags = append(tags, string(data))
	}
	return tags, st
}

const (
	syn    = capture.SYN
	synack = capture.SYN | capture.ACK
	ack    = capture.ACK
	rst    = capture.RST
	rstack = capture.RST | capture.ACK
)

func TestKeeper(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		want  []string
		stats Stats
	}{
		{
			name: "no reset writes nothing",
			steps: []step{
				{1, syn, "a1"}, {1, synack, "a2"}, {1, ack, "a3"}, {1, capture.FIN | ack, "a4"},
			},
			stats: Stats{Conns: 1},
		},
		{
			name: "only the reset connection is written",
			steps: []step{
				{1, syn, "a1"}, {2, syn, "b1"}, {1, synack, "a2"}, {2, rstack, "b2"}, {1, ack, "a3"},
			},
			want:  []string{"b1", "b2"},
			stats: Stats{Conns: 2, Reset: 1, Frames: 2},
		},
		{
			name: "the ring keeps the latest frames",
			cfg:  Config{Frames: 3},
			steps: []step{
				{1, syn, "a1"}, {1, synack, "a2"}, {1, ack, "a3"}, {1, ack, "a4"}, {1, ack, "a5"}, {1, rst, "a6"},
			},
			want:  []string{"a3", "a4", "a5", "a6"},
			stats: Stats{Conns: 1, Reset: 1, Frames: 4},
		},
		{
			name: "frames after the RST up to the bound, RSTs always",
			cfg:  Config{After: 2},
			steps: []step{
				{1, ack, "a1"}, {1, rst, "a2"}, {1, ack, "a3"}, {1, ack, "a4"}, {1, ack, "a5"},
				{1, rst, "a6"}, {1, ack, "a7"}, {1, ack, "a8"}, {1, ack, "a9"}, {1, rst, "a10"},
			},
			want:  []string{"a1", "a2", "a3", "a4", "a6", "a7", "a8", "a10"},
			stats: Stats{Conns: 1, Reset: 1, Frames: 8},
		},
		{
			name: "the least recently active ring is evicted",
			cfg:  Config{Conns: 2},
			steps: []step{
				{1, syn, "a1"}, {2, syn, "b1"}, {1, ack, "a2"}, // a is now more recent than b
				{3, syn, "c1"}, // evicts b
				{2, rst, "b2"}, // b lost its ring: only the RST; evicts a
				{3, rst, "c2"},
			},
			want:  []string{"b2", "c1", "c2"},
			stats: Stats{Conns: 2, Reset: 2, Frames: 3, Evicted: 2},
		},
		{
			name: "a new SYN on a reset 5-tuple starts a new ring",
			cfg:  Config{After: 1},
			steps: []step{
				{1, syn, "a1"}, {1, rstack, "a2"},
				{1, syn, "n1"}, {1, synack, "n2"}, {1, ack, "n3"}, // new incarnation: kept, not written
			},
			want:  []string{"a1", "a2"},
			stats: Stats{Conns: 1, Reset: 1, Frames: 2},
		},
		{
			name: "a reincarnated connection reset again is written again",
			steps: []step{
				{1, syn, "a1"}, {1, rstack, "a2"},
				{1, syn, "n1"}, {1, rstack, "n2"},
			},
			want:  []string{"a1", "a2", "n1", "n2"},
			stats: Stats{Conns: 1, Reset: 2, Frames: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := run(t, tt.cfg, tt.steps)
			if !slices.Equal(got, tt.want) {
				t.Errorf("written %q, want %q", got, tt.want)
			}
			if st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
		})
	}
}

// TestKeeperBounded: a flood of connections never holds more than
// Config.Conns rings, and the rings never grow past Config.Frames.
func TestKeeperBounded(t *testing.T) {
	k, err := New(io.Discard, layers.LinkTypeEthernet, 512, Config{Conns: 100, Frames: 4})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 200)
	for i := range 10_000 {
		p, ci := packet(step{uint16(1024 + i%5000), ack, ""}, i)
		if err := k.Add(p, frame, ci); err != nil {
			t.Fatal(err)
		}
		if n := len(k.conns); n > 100 {
			t.Fatalf("after %d frames %d rings, want at most 100", i+1, n)
		}
	}
	if st := k.Stats(); st.Evicted != 10_000-100 || st.Conns != 100 {
		t.Errorf("stats %+v, want 9900 evicted and 100 rings", st)
	}
	for _, e := range k.conns {
		if len(e.slots) != 4 || e.n > 4 {
			t.Fatalf("ring of %d slots holding %d, want 4 slots", len(e.slots), e.n)
		}
	}
	if len(k.free) > 1 {
		t.Errorf("free list holds %d entries, want at most 1", len(k.free))
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(b), nil
}

func TestKeeperWriteError(t *testing.T) {
	k, err := New(&failWriter{n: 1}, layers.LinkTypeEthernet, 512, Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, ci := packet(step{1, rst, "r"}, 0)
	if err := k.Add(p, []byte("r"), ci); !errors.Is(err, ErrWrite) {
		t.Fatalf("Add on a failing writer: %v, want ErrWrite", err)
	}
	if err := k.Add(p, []byte("r"), ci); !errors.Is(err, ErrWrite) {
		t.Errorf("second Add: %v, want the error again", err)
	}
	if _, err := New(&failWriter{}, layers.LinkTypeEthernet, 512, Config{}); !errors.Is(err, ErrWrite) {
		t.Errorf("New on a failing writer: %v, want ErrWrite", err)
	}
}

// limitWriter takes the first n bytes written to it, then fails as a full
// disk does: a write that does not fit is taken in part.
type limitWriter struct {
	buf bytes.Buffer
	n   int
}

func (w *limitWriter) Write(b []byte) (int, error) {
	m := min(len(b), w.n-w.buf.Len())
	w.buf.Write(b[:m])
	if m < len(b) {
		return m, syscall.ENOSPC
	}
	return m, nil
}

// records counts the whole records of a pcap file and returns the error
// that ended them: io.EOF at a record boundary.
func records(b []byte) (uint64, error) {
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	for n := uint64(0); ; n++ {
		if _, _, err := r.ReadPacketData(); err != nil {
			return n, err
		}
	}
}

// TestKeeperShortWrite: whatever byte a full disk cuts the output at, the
// frames counted are the records written whole, and the output up to
// Stats.Bytes is a capture of exactly those frames: what is past it, the
// start of a cut record, is what KeepFile truncates.
func TestKeeperShortWrite(t *testing.T) {
	steps := []step{{1, syn, "s1"}, {1, synack, "s2-longer"}, {1, rstack, "r3"}, {1, ack, "a4"}, {2, rst, "r5-five"}, {1, rst, "r6"}}
	for limit := 0; limit < 300; limit++ {
		w := &limitWriter{n: limit}
		k, err := New(w, layers.LinkTypeEthernet, 512, Config{})
		if limit < 24 {
			if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("limit %d: New: %v, want ErrWrite for the cut header", limit, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("limit %d: New: %v", limit, err)
		}
		failed := false
		for i, s := range steps {
			p, ci := packet(s, i)
			if err := k.Add(p, []byte(s.tag), ci); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("limit %d: %v", limit, err)
				}
				failed = true
			}
		}
		st := k.Stats()
		if failed != (int64(w.buf.Len()) > st.Bytes || st.Frames < 6) || st.Bytes > int64(w.buf.Len()) {
			t.Fatalf("limit %d: failed %v, %d bytes taken, stats %+v", limit, failed, w.buf.Len(), st)
		}
		n, err := records(w.buf.Bytes()[:st.Bytes])
		if err != io.EOF || n != st.Frames {
			t.Fatalf("limit %d: %d whole records up to Stats.Bytes %d (%v), Stats.Frames %d", limit, n, st.Bytes, err, st.Frames)
		}
		if all, _ := records(w.buf.Bytes()); all != n { // what is past Bytes holds no whole record
			t.Fatalf("limit %d: %d whole records written, %d counted", limit, all, n)
		}
		if limit == 299 && (failed || n != 6) {
			t.Errorf("room for everything: failed %v, %d frames", failed, n)
		}
	}
}

// TestKeeperRoundTrip: real frames written by a Keeper decode, through
// capture, to the same segments, with Linux cooked v2 headers as "-i any"
// captures them.
func TestKeeperRoundTrip(t *testing.T) {
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2} {
		t.Run(lt.String(), func(t *testing.T) {
			flags := []capture.Flags{syn, synack, ack, capture.PSH | ack, rstack}
			var buf bytes.Buffer
			k, err := New(&buf, lt, 512, Config{})
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range flags {
				p, _ := packet(step{40000, f, ""}, i)
				p.TTL, p.Seq = 64, uint32(1000+i)
				data := frame(t, lt, p)
				ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(data), Length: len(data)}
				if err := k.Add(p, data, ci); err != nil {
					t.Fatal(err)
				}
			}
			if err := k.Flush(); err != nil {
				t.Fatal(err)
			}
			src, err := capture.NewReader(&buf, "kept", capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var p capture.Packet
			for i, f := range flags {
				if err := src.Next(&p); err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
				if p.Flags != f || p.Seq != uint32(1000+i) || !p.Time.Equal(t0.Add(time.Duration(i)*time.Millisecond)) {
					t.Errorf("frame %d: flags %v seq %d time %v, want %v %d", i+1, p.Flags, p.Seq, p.Time, f, 1000+i)
				}
			}
			if err := src.Next(&p); !errors.Is(err, io.EOF) {
				t.Errorf("after the last frame: %v, want EOF", err)
			}
		})
	}
}

// frame serializes p with a link header of type lt.
func frame(t *testing.T, lt layers.LinkType, p *capture.Packet) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: p.TTL, Protocol: layers.IPProtocolTCP, SrcIP: p.Src.AsSlice(), DstIP: p.Dst.AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(p.SrcPort), DstPort: layers.TCPPort(p.DstPort), Seq: p.Seq,
		SYN: p.Flags&capture.SYN != 0, ACK: p.Flags&capture.ACK != 0, PSH: p.Flags&capture.PSH != 0,
		RST: p.Flags&capture.RST != 0, Window: 1000}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		t.Fatal(err)
	}
	var link []byte
	switch lt {
	case layers.LinkTypeEthernet:
		link = append(net.HardwareAddr{2, 0, 0, 0, 0, 2}, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address (8)
		link = []byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
	}
	return append(link, sb.Bytes()...)
}

// TestKeeperAllocs: once every ring has its buffers, keeping a frame
// allocates nothing.
func TestKeeperAllocs(t *testing.T) {
	k, err := New(io.Discard, layers.LinkTypeEthernet, 512, Config{Conns: 64, Frames: 8})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 300)
	pkts := make([]*capture.Packet, 1024)
	cis := make([]gopacket.CaptureInfo, len(pkts))
	for i := range pkts {
		pkts[i], cis[i] = packet(step{uint16(1024 + i%32), ack, ""}, i)
	}
	for i := range pkts { // warm up: 32 rings, every slot filled
		_ = k.Add(pkts[i], frame, cis[i])
	}
	n := 0
	if a := testing.AllocsPerRun(1000, func() {
		_ = k.Add(pkts[n%len(pkts)], frame, cis[n%len(pkts)])
		n++
	}); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
}

func BenchmarkKeeperAdd(b *testing.B) {
	k, err := New(io.Discard, layers.LinkTypeEthernet, 512, Config{})
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, 300)
	pkts := make([]*capture.Packet, 4096)
	cis := make([]gopacket.CaptureInfo, len(pkts))
	for i := range pkts {
		pkts[i], cis[i] = packet(step{uint16(1024 + i%1000), ack, ""}, i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; b.Loop(); i++ {
		if err := k.Add(pkts[i%len(pkts)], frame, cis[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
	}
}
