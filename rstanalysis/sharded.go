package rstanalysis

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
// With a single worker, the caller's goroutine analyses a tenth of the
// connections itself (local) instead of waiting for the worker, which has
// more to do (a fifth, a twentieth or none was slower: docs/performance.md).
//
// Feed it like an Analyzer: Packet for each segment, then Flush. It is not
// safe for concurrent use; emit is called from the caller's goroutine,
// with a Verdict lent until it returns, as an Analyzer's.
type Sharded struct {
	hosts   *Hosts
	hasher  flows.Hasher
	batch   []*batch // the batch being filled, per worker
	work    []chan *batch
	free    chan *batch
	results chan result
	wg      sync.WaitGroup
	workers []*Analyzer
	spins   int // how many times to poll a channel before blocking on it

	// merge state: per worker, the chunks of verdicts it sent that are not
	// yet emitted (the first from offset next) and the frame below which it
	// will emit nothing more. Emptied chunks go back to the workers through
	// spare, so that verdicts are not copied into fresh slices over and over.
	queued    [][][]Verdict
	next      []int
	spare     chan []Verdict
	watermark []uint64
	emit      func(*Verdict)
	hs        *hindsight // nil: merged verdicts go straight to emit
	rv        *reviser   // Config.Revise; nil: none

	local    *Analyzer // the caller's goroutine's share, nil for none; its results go as worker len(work)
	localOut []Verdict // local's verdicts not yet merged
	lastRead uint64    // the frame of the latest packet

	expired func() bool // FlushBy's deadline, nil for Flush
	cut     Cut         // what FlushBy left out so far
	stopped bool        // the merge passed FlushBy's deadline
}

// localShare: the caller's goroutine analyses the connections whose hash
// is 0 modulo localShare, when there is a single worker.
const localShare = 10

// item is one packet an Analyzer holds back (Analyzer.ahead) to look its
// connection up ahead of stepping it. Its size is a multiple of 64
// (TestItemLines), so that the fields every packet fills (three 64-byte
// lines) are whole lines of every item of the array.
type item struct {
	key  flows.Key
	rst  bool
	hash uint64 // of key, by the Hasher the workers' tables share
	p    capture.Packet
	snap HostSnapshot
	_    [48]byte
}

type result struct {
	worker    int
	verdicts  []Verdict
	watermark uint64
	cut       Cut // the worker's last result: what its FlushBy left out
}

// touchAhead is how many packets of a batch a worker looks up ahead
// (flows.Table.Prefetch) before stepping them, so that their connections'
// cache misses overlap. touchSink keeps what it reads.
const touchAhead = 32

var touchSink atomic.Uint64

// batchSize is how many packets go to a worker at once: large enough to
// make channel costs vanish, small enough to keep verdicts flowing.
const batchSize = 512

// queueDepth is how many batches may wait for a worker. A batch takes the
// worker about 0.3 ms, and either side of the hand-over stalls now and then
// for milliseconds (a traced run showed the reader waiting 2-3 ms for room);
// with two batches of slack the reader and the worker waited for each other
// in turn. The results a worker sends back have room for twice as many, so
// that it seldom waits for the reader to take them.
const queueDepth = 8

// NewSharded returns a pipeline of n analysis workers (n ≥ 1; with one, the
// caller's goroutine decodes while the worker analyses, and analyses a
// share of the connections itself) with configuration cfg; MaxConns is
// divided among them.
func NewSharded(cfg Config, n int, emit func(*Verdict)) *Sharded {
	m := n // merged result streams: the workers', and local's
	if n == 1 {
		m++
	}
	s := &Sharded{hosts: NewHosts(), hasher: flows.NewHasher(), emit: emit,
		batch: make([]*batch, n), work: make([]chan *batch, n), free: make(chan *batch, (queueDepth+2)*n),
		results: make(chan result, 2*queueDepth*n), queued: make([][][]Verdict, m), next: make([]int, m),
		spare: make(chan []Verdict, 16*n), watermark: make([]uint64, m)}
	cfg.hasher = &s.hasher
	if cfg.Hindsight > 0 { // the waiting happens here, beside the host table
		cfg.heldOutside = true
		s.hosts.hindsight = true
		s.hs = &hindsight{hosts: s.hosts, window: cfg.Hindsight, emit: emit, lent: cfg.Lend}
		s.emit = s.hs.add
	} else if cfg.Revise > 0 {
		cfg.heldOutside = true
		s.hosts.hindsight = true
		s.rv = &reviser{hosts: s.hosts, window: cfg.Revise, emit: emit}
		s.emit = s.rv.add
	}
	wcfg := cfg
	if n == 1 {
		if cfg.MaxConns > 0 {
			cfg.MaxConns = max(1, cfg.MaxConns/localShare)
			wcfg.MaxConns = max(1, wcfg.MaxConns-cfg.MaxConns)
		}
		s.local = New(cfg, func(v *Verdict) { s.localOut = keep(s.localOut, v, cfg.Lend) })
	} else if cfg.MaxConns > 0 {
		wcfg.MaxConns = max(1, cfg.MaxConns/n)
	}
	if n+1 <= runtime.GOMAXPROCS(0) {
		s.spins = spinPolls
	}
	for i := range n {
		s.work[i] = make(chan *batch, queueDepth)
		s.batch[i] = newBatch()
		out := &shardOut{s: s, worker: i, lend: cfg.Lend}
		a := New(wcfg, out.add)
		s.workers = append(s.workers, a)
		s.wg.Add(1)
		go s.run(i, a, out)
	}
	return s
}

// run is worker i's goroutine: it analyses its batches with a, whose
// verdicts go to out, and sends them back with its watermark.
func (s *Sharded) run(i int, a *Analyzer, o *shardOut) {
	out := &o.v
	defer s.wg.Done()
	var last, touched uint64
	defer func() { touchSink.Add(touched) }()
	var p capture.Packet // each packet of the batches, in turn
	for {
		b, ok := s.receive(i)
		if !ok {
			break
		}
		items := b.items
		var u unpacker
		for j := range items {
			if j%touchAhead == 0 {
				for k := j; k < min(j+touchAhead, len(items)); k++ {
					touched ^= a.table.Prefetch(&items[k].key, items[k].hash)
				}
			}
			it := &items[j]
			a.packetHashed(&p, u.unpack(&p, b, it), &it.key, it.hash)
		}
		last = items[len(items)-1].frame
		b.reset()
		select { // recycle the batch; never block on it
		case s.free <- b:
		default:
		}
		s.results <- result{worker: i, verdicts: *out, watermark: a.watermark(last)}
		if len(*out) > 0 { // else the merge keeps nothing of it: it stays
			*out = s.spareChunk() // a chunk the merge is done with, if any
		}
	}
	o.flushing = true
	cut := s.flushWorker(a)
	s.results <- result{worker: i, verdicts: *out, watermark: ^uint64(0), cut: cut}
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
	if s.rv != nil {
		s.rv.advance(p.Time)
	}
	// The key and its hash pick the worker and spare it the hashing.
	k := flows.KeyOf(p)
	h := s.hasher.Hash(&k)
	s.lastRead = p.Frame
	if s.local != nil && (h>>40)%localShare == 0 {
		if p.Flags&capture.RST != 0 {
			snap := s.hosts.Snapshot(p)
			s.local.packetHashed(p, &snap, &k, h)
		} else {
			s.local.packetHashed(p, nil, &k, h)
		}
		return
	}
	w := 0
	if len(s.work) > 1 {
		// High bits: the index uses the low ones, which would otherwise
		// be the same for every connection of a worker.
		w = int((h >> 40) % uint64(len(s.work)))
	}

	b := s.batch[w]
	if p.Flags&capture.RST != 0 {
		snap := s.hosts.Snapshot(p)
		b.add(p, &k, h, &snap)
	} else {
		b.add(p, &k, h, nil)
	}
	if b.full() {
		s.send(w)
	}
}

// send hands worker w its batch, merging the workers' results while it
// waits for room, and then those that came meanwhile (drain). A worker
// whose results channel is full stops until the reader takes one; when
// the reader took results only while it waited for room, a worker stopped
// so about 290 times in a traced --workers 2 read of a 5 M-packet capture.
func (s *Sharded) send(w int) {
	s.mergeLocal(false, Cut{})
	defer s.drain()
	for spin := 0; ; spin++ {
		if spin < s.spins {
			select {
			case s.work[w] <- s.batch[w]:
				s.refill(w)
				return
			case r := <-s.results:
				s.merge(r)
			default:
				pause(spin)
			}
			continue
		}
		select {
		case s.work[w] <- s.batch[w]:
			s.refill(w)
			return
		case r := <-s.results:
			s.merge(r)
		}
	}
}

// drain merges the results the workers have sent, without waiting for more.
func (s *Sharded) drain() {
	for len(s.results) > 0 {
		s.merge(<-s.results)
	}
}

// refill gives worker w's batch an empty slice, a recycled one if any.
func (s *Sharded) refill(w int) {
	select {
	case b := <-s.free:
		s.batch[w] = b
	default:
		s.batch[w] = newBatch()
	}
}

// receive takes worker w's next batch; ok is false once the channel is
// closed and empty.
func (s *Sharded) receive(w int) (b *batch, ok bool) {
	for spin := 0; spin < s.spins; spin++ {
		select {
		case b, ok = <-s.work[w]:
			return b, ok
		default:
			pause(spin)
		}
	}
	b, ok = <-s.work[w]
	return b, ok
}

// Polling before blocking. A goroutine blocked on a channel parks its
// thread (a futex wait) and the other side must wake it (a futex wake), and
// in a pipeline of two goroutines on two cores the reader and a worker wait
// on each other about once a batch. Polling the channel for about a batch's
// worth of time first (spinPolls non-blocking attempts, yielding the
// processor every spinYield of them so the garbage collector's workers
// still run) keeps both threads awake. On the 5M-packet benchmark capture
// with --workers 2 it cut the voluntary context switches from about 4,000 to
// 1,300 and the median wall time from 1.38 to 1.33 s. It is done only when
// every goroutine of the pipeline has a processor of its own (GOMAXPROCS),
// otherwise polling would take time from a goroutine with work to do.
const spinPolls, spinYield = 4096, 32

func pause(spin int) {
	if spin%spinYield == spinYield-1 {
		runtime.Gosched()
	}
}

// mergeLocal merges local's verdicts so far; done says local is flushed.
func (s *Sharded) mergeLocal(done bool, cut Cut) {
	if s.local == nil {
		return
	}
	wm := s.local.watermark(s.lastRead)
	if done {
		wm = ^uint64(0)
	}
	out := s.localOut
	if len(out) > 0 { // else the merge keeps nothing of it: it stays
		s.localOut = s.spareChunk()
	}
	s.merge(result{worker: len(s.work), verdicts: out, watermark: wm, cut: cut})
}

// merge takes a worker's result and emits, in capture order, every verdict
// below the lowest watermark.
func (s *Sharded) merge(r result) {
	if len(r.verdicts) > 0 {
		s.queued[r.worker] = append(s.queued[r.worker], r.verdicts)
	}
	s.watermark[r.worker] = r.watermark
	s.cut.add(r.cut)
	low := s.watermark[0]
	for _, w := range s.watermark[1:] {
		low = min(low, w)
	}
	for {
		best, bestFrame := -1, uint64(0)
		for i, q := range s.queued {
			if len(q) > 0 {
				if f := q[0][s.next[i]].Frame; f < low && (best < 0 || f < bestFrame) {
					best, bestFrame = i, f
				}
			}
		}
		if best < 0 || s.stopMerge(bestFrame) {
			return
		}
		q := s.queued[best]
		s.emit(&q[0][s.next[best]])
		if s.next[best]++; s.next[best] == len(q[0]) {
			select { // recycle the chunk; never block on it
			case s.spare <- q[0][:0]:
			default:
			}
			q[0] = nil
			s.queued[best], s.next[best] = q[1:], 0
		}
	}
}

// Flush sends what is left to the workers, lets them decide every pending
// verdict, and emits the rest in capture order.
func (s *Sharded) Flush() {
	for w := range s.work {
		if len(s.batch[w].items) > 0 {
			s.send(w)
		}
		close(s.work[w])
	}
	if s.local != nil {
		s.mergeLocal(true, s.flushLocal())
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
					if s.hs != nil {
						s.hs.advance(time.Time{}, 0)
					}
					return
				}
			}
		}
	}
}

// Stats adds up the workers' connection tables. Call it after Flush.
// MaxOpen is the sum of their peaks: what memory follows, at least the most
// open at once; it varies with the spreading, keyed at random per run.
func (s *Sharded) Stats() Stats {
	var t Stats
	for _, a := range s.analyzers() {
		st := a.Stats()
		t.Conns += st.Conns
		t.Open += st.Open
		t.MaxOpen += st.MaxOpen
		t.Expired += st.Expired
		t.Evicted += st.Evicted
		t.Midstream += st.Midstream
		t.HalfOpen += st.HalfOpen
		t.Compacted += st.Compacted
		t.EvictedHalfOpen += st.EvictedHalfOpen
	}
	return t
}

// Resets is the number of RST segments the workers saw. Call it after Flush.
func (s *Sharded) Resets() uint64 {
	var n uint64
	for _, a := range s.analyzers() {
		n += a.Resets()
	}
	return n
}

// analyzers returns the workers' Analyzers and local.
func (s *Sharded) analyzers() []*Analyzer {
	if s.local != nil {
		return append(s.workers[:len(s.workers):len(s.workers)], s.local)
	}
	return s.workers
}
