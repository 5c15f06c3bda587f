package rstanalysis

import (
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Sharded spreads connections over several Analyzers, one goroutine each,
// by a hash of the connection's canonical 5-tuple, so both directions of a
// connection meet in one worker. The caller's goroutine keeps the host
// table (it must see packets in capture order) and merges the workers'
// verdicts back into capture order, so the output is the same as one
// Analyzer's, whatever the number of workers.
//
// Feed it like an Analyzer: Packet for each segment, then Flush. It is not
// safe for concurrent use; emit is called from the caller's goroutine.
type Sharded struct {
	hosts   *Hosts
	seed    maphash.Seed
	batch   [][]item // the batch being filled, per worker
	work    []chan []item
	free    chan []item
	results chan result
	wg      sync.WaitGroup
	workers []*Analyzer

	// merge state: per worker, verdicts not yet emitted and the frame
	// below which it will emit nothing more.
	queued    [][]Verdict
	watermark []uint64
	emit      func(*Verdict)
}

type item struct {
	p    capture.Packet
	snap HostSnapshot
	rst  bool
}

type result struct {
	worker    int
	verdicts  []Verdict
	watermark uint64
}

// batchSize is how many packets go to a worker at once: large enough to
// make channel costs vanish, small enough to keep verdicts flowing.
const batchSize = 512

// NewSharded returns a pipeline of n analysis workers (n ≥ 1; with one, the
// caller's goroutine decodes while the worker analyses) with configuration
// cfg; Flows.MaxConns is divided among them.
func NewSharded(cfg Config, n int, emit func(*Verdict)) *Sharded {
	s := &Sharded{hosts: NewHosts(), seed: maphash.MakeSeed(), emit: emit,
		batch: make([][]item, n), work: make([]chan []item, n), free: make(chan []item, 4*n),
		results: make(chan result, 4*n), queued: make([][]Verdict, n), watermark: make([]uint64, n)}
	if cfg.Flows.MaxConns > 0 {
		cfg.Flows.MaxConns = max(1, cfg.Flows.MaxConns/n)
	}
	for i := range n {
		s.work[i] = make(chan []item, 2)
		s.batch[i] = make([]item, 0, batchSize)
		var out []Verdict
		a := New(cfg, func(v *Verdict) { out = append(out, *v) })
		s.workers = append(s.workers, a)
		s.wg.Add(1)
		go func(i int) {
			defer s.wg.Done()
			var last uint64
			for b := range s.work[i] {
				for j := range b {
					it := &b[j]
					if it.rst {
						a.packet(&it.p, &it.snap)
					} else {
						a.packet(&it.p, nil)
					}
				}
				last = b[len(b)-1].p.Frame
				select { // recycle the batch; never block on it
				case s.free <- b[:0]:
				default:
				}
				s.results <- result{worker: i, verdicts: out, watermark: a.watermark(last)}
				out = nil
			}
			a.Flush()
			s.results <- result{worker: i, verdicts: out, watermark: ^uint64(0)}
		}(i)
	}
	return s
}

// watermark is the lowest frame the analyzer may still emit a verdict for,
// having processed every packet up to frame last.
func (a *Analyzer) watermark(last uint64) uint64 {
	if a.head < len(a.queue) {
		return a.queue[a.head].v.Frame
	}
	return last + 1
}

// Packet feeds the next TCP segment. p may be reused as soon as it returns.
func (s *Sharded) Packet(p *capture.Packet) {
	s.hosts.Observe(p)
	w := 0
	if len(s.work) > 1 {
		w = s.shard(p)
	}

	s.batch[w] = append(s.batch[w], item{})
	it := &s.batch[w][len(s.batch[w])-1]
	// Copy the fields and only the payload bytes captured: most segments
	// carry none, and the rest of Head is never read.
	head := p.Head[:p.HeadN]
	it.p = capture.Packet{Frame: p.Frame, Time: p.Time, Iface: p.Iface, Src: p.Src, Dst: p.Dst,
		SrcPort: p.SrcPort, DstPort: p.DstPort, TTL: p.TTL, IPID: p.IPID, HasIPID: p.HasIPID, DF: p.DF,
		Flags: p.Flags, Seq: p.Seq, Ack: p.Ack, Window: p.Window, Options: p.Options,
		PayloadLen: p.PayloadLen, HeadN: p.HeadN}
	copy(it.p.Head[:], head)
	if p.Flags&capture.RST != 0 {
		it.rst, it.snap = true, s.hosts.Snapshot(p)
	}
	if len(s.batch[w]) == batchSize {
		s.send(w)
	}
}

// shard picks p's worker from a hash of its canonical 5-tuple, the same
// for both directions.
func (s *Sharded) shard(p *capture.Packet) int {
	k := flows.KeyOf(p)
	var h maphash.Hash
	h.SetSeed(s.seed)
	var b [4]byte
	binary.LittleEndian.PutUint16(b[:], k.LoPort)
	binary.LittleEndian.PutUint16(b[2:], k.HiPort)
	h.Write(k.LoAddr[:])
	h.Write(k.HiAddr[:])
	h.Write(b[:])
	return int(h.Sum64() % uint64(len(s.work)))
}

func (s *Sharded) send(w int) {
	for {
		select {
		case s.work[w] <- s.batch[w]:
			select {
			case b := <-s.free:
				s.batch[w] = b
			default:
				s.batch[w] = make([]item, 0, batchSize)
			}
			return
		case r := <-s.results:
			s.merge(r)
		}
	}
}

// merge takes a worker's result and emits, in capture order, every verdict
// below the lowest watermark.
func (s *Sharded) merge(r result) {
	s.queued[r.worker] = append(s.queued[r.worker], r.verdicts...)
	s.watermark[r.worker] = r.watermark
	low := s.watermark[0]
	for _, w := range s.watermark[1:] {
		low = min(low, w)
	}
	for {
		best := -1
		for i, q := range s.queued {
			if len(q) > 0 && q[0].Frame < low && (best < 0 || q[0].Frame < s.queued[best][0].Frame) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		s.emit(&s.queued[best][0])
		s.queued[best] = s.queued[best][1:]
	}
}

// Flush sends what is left to the workers, lets them decide every pending
// verdict, and emits the rest in capture order.
func (s *Sharded) Flush() {
	for w := range s.work {
		if len(s.batch[w]) > 0 {
			s.send(w)
		}
		close(s.work[w])
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	for {
		select {
		case r := <-s.results:
			s.merge(r)
		case <-done:
			for {
				select {
				case r := <-s.results:
					s.merge(r)
				default:
					return
				}
			}
		}
	}
}

// Stats adds up the workers' connection tables. Call it after Flush.
func (s *Sharded) Stats() flows.TableStats {
	var t flows.TableStats
	for _, a := range s.workers {
		st := a.Stats()
		t.Conns += st.Conns
		t.Open += st.Open
		t.MaxOpen += st.MaxOpen
		t.Expired += st.Expired
		t.Evicted += st.Evicted
		t.Midstream += st.Midstream
	}
	return t
}

// Resets is the number of RST segments the workers saw. Call it after Flush.
func (s *Sharded) Resets() uint64 {
	var n uint64
	for _, a := range s.workers {
		n += a.Resets()
	}
	return n
}
