package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/report"
	"github.com/rstscope/rstscope/rstanalysis"
)

// memSource is a Source over packets held in memory, as a capture file's
// would be decoded: it counts them in Stats, hands out a fake raw frame for
// each (FrameSource), and ends with err (io.EOF when nil). With block set,
// it waits after its last packet until Close, like a quiet interface.
type memSource struct {
	pkts   []capture.Packet
	i      int
	err    error
	st     capture.Stats
	block  bool
	closed chan struct{}
	once   sync.Once
	onNext func(i int) // called before packet i is returned
}

func newMemSource(pkts []capture.Packet) *memSource {
	return &memSource{pkts: pkts, closed: make(chan struct{})}
}

func (s *memSource) Next(p *capture.Packet) error {
	if s.i == len(s.pkts) {
		if s.block {
			<-s.closed
			return io.EOF
		}
		if s.err != nil {
			return s.err
		}
		return io.EOF
	}
	if s.onNext != nil {
		s.onNext(s.i)
	}
	*p = s.pkts[s.i]
	s.i++
	s.st.Frames++
	s.st.TCP++
	return nil
}

func (s *memSource) Stats() capture.Stats { return s.st }

func (s *memSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *memSource) LastFrame() ([]byte, gopacket.CaptureInfo, layers.LinkType) {
	return []byte{byte(s.i)}, gopacket.CaptureInfo{}, layers.LinkTypeEthernet
}

func (s *memSource) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// memSink is a Sink that keeps what it receives; it fails the write after
// failAfter verdicts when failAfter > 0.
type memSink struct {
	mu        sync.Mutex
	verdicts  []rstanalysis.Verdict
	summary   *report.Summary
	failAfter int
}

var errSinkFull = errors.New("disk full")

func (s *memSink) Write(v *rstanalysis.Verdict) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAfter > 0 && len(s.verdicts) == s.failAfter {
		return errSinkFull
	}
	c := *v // v, its Findings and its Ladder are lent (Sink)
	c.Findings = slices.Clone(v.Findings)
	if v.Ladder != nil {
		l := *v.Ladder
		l.Segments = slices.Clone(l.Segments)
		c.Ladder = &l
	}
	s.verdicts = append(s.verdicts, c)
	return nil
}

func (s *memSink) Close(sum report.Summary) error {
	if s.summary != nil {
		return errors.New("closed twice")
	}
	s.summary = &sum
	return nil
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.verdicts)
}

// exchange builds, from t0 on, as captured on the client host: a
// connection from client port cport whose server aborts it after the
// request (server's TTL 57), then, 1 s later, a SYN from port cport+1
// refused by the same server. Its 2 RSTs: server/request/server_abort and
// server/syn/refused.
func exchange(t0 time.Time, cport uint16, frame uint64) []capture.Packet {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.80")
	var pkts []capture.Packet
	at := t0
	add := func(d time.Duration, fromServer bool, port uint16, flags capture.Flags, seq, ack uint32, payload string) {
		at = at.Add(d)
		frame++
		p := capture.Packet{Frame: frame, Time: at, Flags: flags, Seq: seq, Ack: ack, Window: 64240,
			HasIPID: true, DF: true, PayloadLen: len(payload)}
		p.HeadN = copy(p.Head[:], payload)
		if fromServer {
			p.Src, p.SrcPort, p.Dst, p.DstPort, p.TTL, p.IPID = srv, 80, cli, port, 57, uint16(5000+len(pkts))
		} else {
			p.Src, p.SrcPort, p.Dst, p.DstPort, p.TTL, p.IPID = cli, port, srv, 80, 64, uint16(100+len(pkts))
		}
		pkts = append(pkts, p)
	}
	const req = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
	rtt := 20 * time.Millisecond
	add(0, false, cport, capture.SYN, 1000, 0, "")
	add(rtt, true, cport, capture.SYN|capture.ACK, 9000, 1001, "")
	add(50*time.Microsecond, false, cport, capture.ACK, 1001, 9001, "")
	add(time.Millisecond, false, cport, capture.PSH|capture.ACK, 1001, 9001, req)
	add(rtt, true, cport, capture.ACK, 9001, 1001+uint32(len(req)), "")
	add(5*time.Millisecond, true, cport, capture.RST|capture.ACK, 9001, 1001+uint32(len(req)), "")
	add(time.Second, false, cport+1, capture.SYN, 2000, 0, "")
	add(rtt, true, cport+1, capture.RST|capture.ACK, 0, 2001, "")
	return pkts
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

type wantVerdict struct {
	frame  uint64
	file   string
	from   rstanalysis.Side
	origin rstanalysis.Origin
	phase  rstanalysis.Phase
	cause  rstanalysis.Cause
}

// checkVerdicts compares got with want, in order.
func checkVerdicts(t *testing.T, got []rstanalysis.Verdict, want []wantVerdict) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d verdicts, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Frame != w.frame || g.File != w.file || g.From != w.from || g.Origin != w.origin ||
			g.Phase != w.phase || g.Cause != w.cause {
			t.Errorf("verdict %d: frame %d file %q from %v origin %v phase %v cause %v; want %+v (evidence %q)",
				i, g.Frame, g.File, g.From, g.Origin, g.Phase, g.Cause, w, g.Texts())
		}
	}
}

func input(name string, src Source) Input {
	return Input{Name: name, Open: func(context.Context) (Source, error) { return src, nil }}
}

func TestRunOneInput(t *testing.T) {
	for _, shards := range []int{0, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			src := newMemSource(exchange(t0, 40000, 0))
			sink := &memSink{}
			var log bytes.Buffer
			err := Run(context.Background(), []Input{input("a.pcap", src)},
				NewAnalysis(rstanalysis.Config{}, shards), sink, Options{Log: &log})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkVerdicts(t, sink.verdicts, []wantVerdict{
				{6, "", rstanalysis.Server, rstanalysis.OriginServer, rstanalysis.PhaseRequest, rstanalysis.CauseServerAbort},
				{8, "", rstanalysis.Server, rstanalysis.OriginServer, rstanalysis.PhaseSYN, rstanalysis.CauseRefused},
			})
			s := sink.summary
			if s == nil {
				t.Fatal("the sink was not closed")
			}
			if s.Frames != 8 || s.TCPPackets != 8 || s.Connections != 2 || s.RSTs != 2 || s.MaxOpen != 2 ||
				len(s.Inputs) != 1 || s.Inputs[0] != "a.pcap" || len(s.Warnings) != 0 || s.Elapsed <= 0 {
				t.Errorf("summary %+v", *s)
			}
			if !src.isClosed() || log.Len() != 0 {
				t.Errorf("source closed %v; log %q, want nothing", src.isClosed(), log.String())
			}
		})
	}
}

// TestRunInputs: several inputs make one report, each verdict names its
// file, the summary adds them up; an input that cannot be opened is
// reported and skipped, and makes the run incomplete.
func TestRunInputs(t *testing.T) {
	a, b := newMemSource(exchange(t0, 40000, 0)), newMemSource(exchange(t0, 41000, 0))
	b.st.Undecodable = 3
	missing := Input{Name: "gone.pcap", Open: func(context.Context) (Source, error) { return nil, notExist("gone.pcap") }}
	sink := &memSink{}
	var log bytes.Buffer
	err := Run(context.Background(), []Input{input("a.pcap", a), missing, input("b.pcap", b)},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Log: &log})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Run: %v, want ErrIncomplete", err)
	}
	s := sink.summary
	if s == nil || len(sink.verdicts) != 4 {
		t.Fatalf("%d verdicts, summary %+v", len(sink.verdicts), s)
	}
	if sink.verdicts[0].File != "a.pcap" || sink.verdicts[3].File != "b.pcap" {
		t.Errorf("verdict files %q, %q", sink.verdicts[0].File, sink.verdicts[3].File)
	}
	if s.Frames != 16 || s.Connections != 4 || s.RSTs != 4 || strings.Join(s.Inputs, ",") != "a.pcap,gone.pcap,b.pcap" {
		t.Errorf("summary %+v", *s)
	}
	wantWarn := []string{"gone.pcap: no such file or directory", "b.pcap: 3 frames could not be decoded"}
	if len(s.Warnings) != 2 || s.Warnings[0] != wantWarn[0] || !strings.HasPrefix(s.Warnings[1], wantWarn[1]) {
		t.Errorf("warnings %q, want %q", s.Warnings, wantWarn)
	}
	// Every warning is also on the log, once: CSV and JSON carry no summary.
	if want := "rstscope: gone.pcap: no such file or directory\nrstscope: warning: " + s.Warnings[1] + "\n"; log.String() != want {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}

// TestRunNothingOpened: when no input opens, Run writes nothing anywhere
// and returns every input's error.
func TestRunNothingOpened(t *testing.T) {
	bad := errors.New("not a pcap or pcapng capture")
	inputs := []Input{
		{Name: "x.pcap", Open: func(context.Context) (Source, error) { return nil, bad }},
		{Name: "y.pcap", Open: func(context.Context) (Source, error) { return nil, notExist("y.pcap") }},
	}
	sink := &memSink{}
	var log bytes.Buffer
	err := Run(context.Background(), inputs, NewAnalysis(rstanalysis.Config{}, 0), sink, Options{Log: &log})
	if err == nil || !errors.Is(err, bad) {
		t.Fatalf("Run: %v, want the inputs' errors", err)
	}
	want := "x.pcap: not a pcap or pcapng capture\ny.pcap: no such file or directory"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if sink.summary != nil || log.Len() != 0 {
		t.Errorf("summary %+v, log %q; want neither", sink.summary, log.String())
	}
}

// TestRunDamage: a Source that fails part-way ends its input; the verdicts
// before the failure and the summary are still written, with a warning.
func TestRunDamage(t *testing.T) {
	src := newMemSource(exchange(t0, 40000, 0)[:6])
	src.err = errors.New("cut.pcap: damaged after frame 6: unexpected EOF")
	sink := &memSink{}
	var log bytes.Buffer
	err := Run(context.Background(), []Input{input("cut.pcap", src)}, NewAnalysis(rstanalysis.Config{}, 0), sink,
		Options{Log: &log})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Run: %v, want ErrIncomplete", err)
	}
	if len(sink.verdicts) != 1 || sink.summary == nil || sink.summary.RSTs != 1 {
		t.Fatalf("%d verdicts, summary %+v; want the 1 RST before the damage", len(sink.verdicts), sink.summary)
	}
	if w := sink.summary.Warnings; len(w) != 1 || w[0] != src.err.Error()+": results cover the packets read so far" {
		t.Errorf("warnings %q", w)
	}
	if log.String() != "rstscope: warning: "+src.err.Error()+"\n" {
		t.Errorf("log %q", log.String())
	}
}

// TestRunSinkFails: when the report cannot be written the run stops and
// says so.
func TestRunSinkFails(t *testing.T) {
	src := newMemSource(exchange(t0, 40000, 0))
	sink := &memSink{failAfter: 1}
	err := Run(context.Background(), []Input{input("a.pcap", src), input("b.pcap", newMemSource(nil))},
		NewAnalysis(rstanalysis.Config{}, 0), sink, Options{})
	if !errors.Is(err, errSinkFull) || !strings.Contains(err.Error(), "writing the report") {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
	if sink.summary == nil || len(sink.summary.Inputs) != 1 {
		t.Errorf("summary %+v: want one input, the run stopped after it", sink.summary)
	}
}

// notExist is os.Open's error for a missing file.
func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
}
