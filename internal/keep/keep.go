package keep

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// Defaults for the zero values of Config.
const (
	DefaultFrames = 16
	DefaultConns  = 4096
	DefaultAfter  = 64
)

// Config bounds a Keeper.
type Config struct {
	// Frames is the ring length: how many of a connection's latest frames
	// are kept before its first RST. 0 means DefaultFrames.
	Frames int
	// Conns is how many connections hold a ring at once; the least recently
	// active one loses its ring first. 0 means DefaultConns.
	Conns int
	// After is how many frames of a reset connection are written after each
	// of its RSTs (the RSTs themselves are always written). 0 means
	// DefaultAfter.
	After int
}

func (c *Config) defaults() {
	if c.Frames <= 0 {
		c.Frames = DefaultFrames
	}
	if c.Conns <= 0 {
		c.Conns = DefaultConns
	}
	if c.After <= 0 {
		c.After = DefaultAfter
	}
}

// Stats counts what a Keeper has done.
type Stats struct {
	Conns   int    // connections holding a ring now
	Reset   uint64 // connections written because they saw a RST
	Frames  uint64 // frames written whole to the underlying writer
	Evicted uint64 // rings dropped because Config.Conns were in use
	// Bytes is how many bytes the underlying writer took that end on a
	// record boundary: the file header and Frames whole records. After a
	// write error the writer may hold more, the start of a cut record; a
	// file truncated to Bytes is a valid capture of Frames frames.
	Bytes int64
}

// ErrWrite wraps the error of the underlying writer; after it the Keeper
// writes nothing more.
var ErrWrite = errors.New("writing the evidence capture")

// Keeper keeps the latest frames of each connection and writes those of
// reset connections to a classic pcap (nanosecond timestamps). The records
// of each Add go to the underlying writer in one Write; the frames and
// bytes counted (Stats) are those of the records it took whole, so that
// after a short write (a full disk) the file can be cut back to the last
// whole record. It is not safe for concurrent use.
type Keeper struct {
	cfg    Config
	w      io.Writer
	buf    bytes.Buffer   // records not yet written to w
	ends   []int          // where each record in buf ends
	header bool           // buf begins with the file header (ends[0])
	pw     *pcapgo.Writer // writes into buf
	conns  map[flows.Key]*entry
	lru    list // head = most recently active
	free   []*entry
	stats  Stats
	err    error
}

// entry is one connection's ring.
type entry struct {
	key        flows.Key
	slots      []slot // ring storage, len Config.Frames
	start, n   int    // oldest slot and count
	reset      bool   // a RST was seen: frames are written as they come
	after      int    // frames still to write after the latest RST
	prev, next *entry
}

type slot struct {
	data []byte // a copy of the frame, reused for later frames
	ci   gopacket.CaptureInfo
}

// New returns a Keeper writing to w, after writing the pcap file header for
// link type lt (the live handle's: Ethernet, or Linux cooked v2 for the
// "any" interface) and snaplen bytes per frame.
func New(w io.Writer, lt layers.LinkType, snaplen int, cfg Config) (*Keeper, error) {
	cfg.defaults()
	if snaplen <= 0 {
		snaplen = 262144
	}
	k := &Keeper{cfg: cfg, w: w, conns: make(map[flows.Key]*entry)}
	k.pw = pcapgo.NewWriterNanos(&k.buf)
	if err := k.pw.WriteFileHeader(uint32(snaplen), lt); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	k.ends, k.header = append(k.ends, k.buf.Len()), true
	if err := k.Flush(); err != nil {
		return nil, err
	}
	return k, nil
}

// Add takes the next frame of the capture: p is its decoded TCP segment,
// data and ci the raw frame as the source returned it. data is copied when
// kept, so it may be reused as soon as Add returns. The error, if any, is
// the first error of the underlying writer (wrapping ErrWrite); it is
// returned again by every later call.
func (k *Keeper) Add(p *capture.Packet, data []byte, ci gopacket.CaptureInfo) error {
	if k.err != nil {
		return k.err
	}
	key := flows.KeyOf(p)
	e := k.conns[key]
	rst := p.Flags&capture.RST != 0
	switch {
	case e == nil:
		e = k.create(key)
	case e.reset && p.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN:
		// A new connection on the 5-tuple of a reset one: start over.
		e.reset, e.start, e.n, e.after = false, 0, 0, 0
		k.touch(e)
	default:
		k.touch(e)
	}
	ci.CaptureLength = len(data)
	if ci.Length < len(data) {
		ci.Length = len(data)
	}
	switch {
	case rst && !e.reset:
		e.reset = true
		k.stats.Reset++
		for i := 0; i < e.n; i++ {
			s := &e.slots[(e.start+i)%len(e.slots)]
			k.write(s.ci, s.data)
		}
		e.start, e.n = 0, 0
		k.write(ci, data)
		e.after = k.cfg.After
	case rst:
		k.write(ci, data)
		e.after = k.cfg.After
	case e.reset:
		if e.after <= 0 {
			return nil
		}
		e.after--
		k.write(ci, data)
	default:
		i := (e.start + e.n) % len(e.slots)
		if e.n == len(e.slots) {
			e.start = (e.start + 1) % len(e.slots)
		} else {
			e.n++
		}
		s := &e.slots[i]
		s.data = append(s.data[:0], data...)
		s.ci = ci
		return nil
	}
	return k.Flush()
}

// write adds a record to the buffer.
func (k *Keeper) write(ci gopacket.CaptureInfo, data []byte) {
	if k.err != nil {
		return
	}
	if err := k.pw.WritePacket(ci, data); err != nil { // a bytes.Buffer: only a bad ci
		k.err = fmt.Errorf("%w: %w", ErrWrite, err)
		return
	}
	k.ends = append(k.ends, k.buf.Len())
}

// create returns a new entry for key, evicting the least recently active
// one when Config.Conns are in use.
func (k *Keeper) create(key flows.Key) *entry {
	if len(k.conns) >= k.cfg.Conns {
		victim := k.lru.tail
		k.lru.remove(victim)
		delete(k.conns, victim.key)
		k.free = append(k.free, victim)
		k.stats.Evicted++
	}
	var e *entry
	if n := len(k.free); n > 0 {
		e = k.free[n-1]
		k.free = k.free[:n-1]
		slots := e.slots
		*e = entry{slots: slots}
	} else {
		e = &entry{slots: make([]slot, k.cfg.Frames)}
	}
	e.key = key
	k.conns[key] = e
	k.lru.pushFront(e)
	return e
}

func (k *Keeper) touch(e *entry) {
	if k.lru.head != e {
		k.lru.remove(e)
		k.lru.pushFront(e)
	}
}

// Flush writes what is buffered to the underlying writer, in one Write,
// and counts the records it took whole (Stats.Frames, Stats.Bytes). A
// Write that takes fewer bytes without an error fails with
// io.ErrShortWrite.
func (k *Keeper) Flush() error {
	if k.err != nil || k.buf.Len() == 0 {
		return k.err
	}
	n, err := k.w.Write(k.buf.Bytes())
	if err == nil && n < k.buf.Len() {
		err = io.ErrShortWrite
	}
	whole, taken := 0, 0 // bytes and records taken whole
	for _, end := range k.ends {
		if end > n {
			break
		}
		whole, taken = end, taken+1
	}
	if k.header && taken > 0 {
		k.header, taken = false, taken-1
	}
	k.stats.Frames += uint64(taken)
	k.stats.Bytes += int64(whole)
	k.buf.Reset()
	k.ends = k.ends[:0]
	if err != nil {
		k.err = fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return k.err
}

// Stats returns the Keeper's counters.
func (k *Keeper) Stats() Stats {
	s := k.stats
	s.Conns = len(k.conns)
	return s
}

type list struct{ head, tail *entry }

func (l *list) pushFront(e *entry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *list) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
