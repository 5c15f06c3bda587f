package gen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TruthHeader is the first line of the ground-truth TSV. Each following line
// describes one RST frame: its 1-based frame number, the connection's serial
// number, the scenario, the side whose address the RST carries, and the true
// origin, phase and cause (the values of rstanalysis.Origin, Phase and
// Cause; docs/json.md).
const TruthHeader = "frame\tconn\tkind\tfrom\torigin\tphase\tcause"

// packetWriter is what pcapgo's two writers have in common.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// generator holds the state of one Generate call.
type generator struct {
	cfg    Config
	rng    *rand.Rand
	start  int64 // Unix µs of the first possible packet
	heap   connHeap
	free   []*conn
	nextID int
	srv    []server
	bld    builder // reused for every connection's script

	// resetCum is the cumulative weight of each reset kind, for picking one.
	resetCum [numKinds]float64
	// think is the mean think time between requests, in µs.
	think float64
	// maxGap caps the long idle gaps, in µs.
	maxGap int64

	out     packetWriter
	truth   *bufio.Writer
	line    []byte
	frame   [frameMax]byte
	written int
	open    int
	stats   Stats
	byKind  [numKinds]int
	firstAt int64
	lastAt  int64
}

// Generate writes cfg.Packets frames of generated TCP traffic to w, and,
// when truth is not nil, one TSV line per RST frame (see TruthHeader). It
// returns what it wrote. Errors are ErrConfig (wrapped) for a bad cfg, the
// writers' errors, or ctx's error when ctx ends first.
func Generate(ctx context.Context, w io.Writer, truth io.Writer, cfg Config) (Stats, error) {
	if err := cfg.validate(); err != nil {
		return Stats{}, err
	}
	g := newGenerator(cfg)
	bw := bufio.NewWriterSize(w, 1<<20)
	snap := uint32(maxSnaplen)
	if cfg.Snaplen > 0 {
		snap = uint32(cfg.Snaplen)
	}
	switch cfg.Format {
	case FormatPcapNG:
		intf := pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: snap, TimestampResolution: 6}
		nw, err := pcapgo.NewNgWriterInterface(bw, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "rstgen"}})
		if err != nil {
			return Stats{}, fmt.Errorf("write pcapng header: %w", err)
		}
		defer nw.Flush()
		g.out = nw
	default:
		pw := pcapgo.NewWriter(bw)
		if err := pw.WriteFileHeader(snap, layers.LinkTypeEthernet); err != nil {
			return Stats{}, fmt.Errorf("write pcap header: %w", err)
		}
		g.out = pw
	}
	if truth != nil {
		g.truth = bufio.NewWriterSize(truth, 64<<10)
		g.truth.WriteString(TruthHeader + "\n")
	}
	err := g.run(ctx)
	if ng, ok := g.out.(*pcapgo.NgWriter); ok && err == nil {
		err = ng.Flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if g.truth != nil && err == nil {
		err = g.truth.Flush()
	}
	g.stats.Packets = g.written
	g.stats.RSTsByKind = make(map[Kind]int)
	for k, n := range g.byKind {
		if n > 0 {
			g.stats.RSTsByKind[Kind(k)] = n
		}
	}
	g.stats.Duration = time.Duration(g.lastAt-g.firstAt) * time.Microsecond
	return g.stats, err
}

func newGenerator(cfg Config) *generator {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	g := &generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		start: cfg.Start.UnixMicro(),
	}
	g.srv = newServers(g.rng)
	weights := [numKinds]float64{}
	for k := KindNormal + 1; k < numKinds; k++ {
		weights[k] = 1
		if len(cfg.Mix) > 0 {
			weights[k] = cfg.Mix[k]
		}
	}
	sum := 0.0
	for k := range weights {
		sum += weights[k]
		g.resetCum[k] = sum
	}
	// Think time: a connection should live Span / (turns of its slot), where
	// a slot turns over (Packets / packetsPerConn) / Concurrency times.
	conns := float64(cfg.Packets) / packetsPerConn
	turns := max(conns/float64(cfg.Concurrency), 1)
	life := float64(cfg.Span.Microseconds()) / turns
	g.think = max(life/meanRequests, 1000)
	g.maxGap = cfg.Span.Microseconds() / 2
	return g
}

// packetsPerConn and meanRequests are the measured averages of the
// scenarios below with the default mix; they only scale think times.
const (
	packetsPerConn = 20
	meanRequests   = 1.54
)

func (g *generator) run(ctx context.Context) error {
	n := g.cfg.Concurrency
	// Ramp up over one mean lifetime so that slots do not turn in step.
	ramp := g.think * meanRequests
	for i := range n {
		at := int64(float64(i) * ramp / float64(n))
		g.heap.push(g.newConn(at))
	}
	for g.written < g.cfg.Packets {
		if g.written&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := g.heap.min()
		s := &c.steps[c.next]
		if c.next == 0 {
			g.open++
			g.stats.Connections++
			g.stats.MaxOpen = max(g.stats.MaxOpen, g.open)
		}
		if err := g.emit(c, s); err != nil {
			return err
		}
		c.next++
		if c.next < len(c.steps) {
			g.heap.fix(0)
			continue
		}
		g.open--
		end := s.at
		g.heap.pop()
		g.free = append(g.free, c)
		g.heap.push(g.newConn(end + 1 + g.rng.Int64N(2000)))
	}
	return nil
}

// emit writes one step as a frame, and its truth line when it is a reset.
// With cfg.Snaplen set, a longer frame is written cut to its first Snaplen
// bytes, its record keeping the whole length as the original length (as
// tcpdump -s does).
func (g *generator) emit(c *conn, s *step) error {
	n := g.build(c, s)
	capLen := n
	if g.cfg.Snaplen > 0 {
		capLen = min(n, g.cfg.Snaplen)
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.UnixMicro(g.start + s.at).UTC(),
		CaptureLength: capLen,
		Length:        n,
	}
	if err := g.out.WritePacket(ci, g.frame[:capLen]); err != nil {
		return fmt.Errorf("write frame %d: %w", g.written+1, err)
	}
	g.written++
	g.stats.Bytes += int64(capLen)
	if g.written == 1 {
		g.firstAt = s.at
	}
	g.lastAt = s.at
	if s.flags&flagRST == 0 {
		return nil
	}
	g.stats.RSTs++
	g.byKind[c.kind]++
	if g.truth == nil {
		return nil
	}
	l := unpackLabel(s.label)
	from := rstanalysis.Client
	if !s.snd.fromClient() {
		from = rstanalysis.Server
	}
	b := g.line[:0]
	b = strconv.AppendInt(b, int64(g.written), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(c.id), 10)
	b = append(b, '\t')
	b = append(b, c.kind.String()...)
	b = append(b, '\t')
	b = append(b, from.String()...)
	b = append(b, '\t')
	b = append(b, l.origin.String()...)
	b = append(b, '\t')
	b = append(b, l.phase.String()...)
	b = append(b, '\t')
	b = append(b, l.cause.String()...)
	b = append(b, '\n')
	g.line = b
	if _, err := g.truth.Write(b); err != nil {
		return fmt.Errorf("write truth line: %w", err)
	}
	return nil
}

// connHeap is a min-heap of connections by the time of their next step,
// ties broken by connection serial so that the order is deterministic.
type connHeap []*conn

func (h connHeap) less(i, j int) bool {
	a, b := h[i].steps[h[i].next].at, h[j].steps[h[j].next].at
	if a != b {
		return a < b
	}
	return h[i].id < h[j].id
}

func (h connHeap) min() *conn { return h[0] }

func (h *connHeap) push(c *conn) {
	*h = append(*h, c)
	h.up(len(*h) - 1)
}

func (h *connHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
}

func (h connHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h connHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (h connHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}
