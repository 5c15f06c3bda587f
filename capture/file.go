package capture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Options configures Open and NewReader.
type Options struct {
	// Filter is a tcpdump expression (pcap-filter(7)) matched against each
	// raw frame before decoding; frames it rejects count in
	// Stats.Filtered. Empty matches everything.
	Filter string
	// KeepDuplicates returns every copy of a segment recorded twice, as
	// `tcpdump -i any` records a packet crossing two interfaces; by
	// default the second copy is skipped and counted in Stats.Duplicates
	// (see the heuristic in dedup.go and docs/captures.md).
	KeepDuplicates bool
}

// FrameSource is a Source that can hand out the raw bytes of the frame it
// decoded last, to save it to a capture file.
type FrameSource interface {
	Source
	// LastFrame returns the raw frame Next read last (whatever it held),
	// its capture info and its link type. data is borrowed: it is valid
	// until the next call to Next. Before the first frame data is nil.
	LastFrame() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType)
}

// File reads a capture file: classic pcap (microsecond or nanosecond
// timestamps, either byte order) or pcapng, optionally gzip-compressed.
// Open returns one as a Source; it also implements FrameSource and Size.
type File struct {
	name   string
	closer io.Closer // nil for a reader the caller owns
	size   int64

	raw    *counter // bytes read from the input
	stream *counter // bytes read from the capture stream (raw unless gzip)
	gz     bool
	br     *bufio.Reader

	pc *pcapReader // classic pcap
	ng *pcapgo.NgReader
	lt layers.LinkType // classic pcap: the file's link type

	fr   frames
	flt  filter
	good int64 // stream offset after the last good record
	err  error // final error, returned by every later Next

	lastData []byte
	lastCI   gopacket.CaptureInfo // pcapng; for pcap, built from lastHdr on demand
	lastHdr  pcapHeader
	lastLT   layers.LinkType
}

var (
	_ FrameSource = (*File)(nil)
	_ FrameSource = (*Live)(nil)
)

// readBufSize is the buffer between the file and the pcap readers.
const readBufSize = 64 << 10

// Open opens the capture file at path for reading; "-" reads standard
// input. Compression with gzip is detected by its magic bytes whatever the
// name. The Source is a *File. Errors name the file: ErrNotCapture for other
// content, *FilterError for a bad Options.Filter, and the os errors of
// opening.
func Open(path string, opts Options) (Source, error) {
	if path == "-" {
		return NewReader(os.Stdin, "stdin", opts)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	f, err := NewReader(fh, path, opts)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
		f.size = fi.Size()
	}
	return f, nil
}

// NewReader reads a capture from r, which the caller keeps and closes;
// name is used in error messages. Size reports -1.
func NewReader(r io.Reader, name string, opts Options) (*File, error) {
	f := &File{name: name, size: -1, fr: newFrames(opts.KeepDuplicates)}
	f.raw = &counter{r: r}
	f.stream = f.raw
	f.br = bufio.NewReaderSize(f.raw, readBufSize)

	if m, _ := f.br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(f.br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip-compressed but unreadable: %w", name, err)
		}
		f.gz = true
		f.stream = &counter{r: zr}
		f.br = bufio.NewReaderSize(f.stream, readBufSize)
	}

	head, err := f.br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	kind := ""
	if f.gz {
		kind = "gzip-compressed, "
	}
	var magic uint32
	if len(head) >= 4 {
		magic = uint32(head[0])<<24 | uint32(head[1])<<16 | uint32(head[2])<<8 | uint32(head[3])
	}
	// pcapgo's NgReader wraps f.br in bufio.NewReader, which returns f.br
	// itself: every byte it consumes is counted by f.stream - Buffered.
	switch magic {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pc, err := newPcapReader(f.br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pcap file header: %w", name, err)
		}
		// Records up to libpcap's maximum snap length are taken even when
		// the header declares less, as tcpdump does (dpkt writes such).
		f.pc, f.lt = pc, layers.LinkType(pc.link)
		if !SupportedLinkType(f.lt) {
			return nil, &LinkTypeError{Input: name, LinkType: f.lt}
		}
	case 0x0a0d0d0a:
		ng, err := pcapgo.NewNgReader(f.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: bad pcapng section header: %w", name, err)
		}
		f.ng = ng
	default:
		if len(head) == 0 {
			return nil, fmt.Errorf("%s: %w (%sempty)", name, ErrNotCapture, kind)
		}
		return nil, fmt.Errorf("%s: %w (%sstarts with %q)", name, ErrNotCapture, kind, head)
	}
	f.good = f.consumed()

	if opts.Filter != "" {
		f.flt.expr = opts.Filter
		lt := f.lt
		if f.ng != nil {
			lt = layers.LinkTypeEthernet // interfaces are not known yet
		}
		if _, err := f.flt.prog(lt); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Next implements Source. It returns io.EOF at the clean end of the file,
// a *DamageError when the file is truncated or corrupt, and a
// *LinkTypeError at the end of a pcapng file none of whose frames had a
// supported link type.
func (f *File) Next(p *Packet) error {
	if f.err != nil {
		return f.err
	}
	st := &f.fr.stats
	for {
		data, lt, err := f.record()
		if err != nil {
			f.err = f.fail(err)
			if f.err == io.EOF && st.Unsupported > 0 && st.Unsupported == st.Frames {
				f.err = &LinkTypeError{Input: f.name, LinkType: st.UnsupportedLinkType}
			}
			return f.err
		}
		st.Frames++
		cut := f.check()
		if f.flt.expr != "" {
			if f.fr.dec.parser(lt, data) == nil {
				// Not filtered: the link type may be one libpcap
				// cannot compile for, and the frame is skipped anyway.
				st.undecodable(errLinkUnknown, cut, lt)
				continue
			}
			_, ci, _ := f.LastFrame()
			ok, err := f.flt.match(lt, ci, data)
			if err != nil {
				f.err = err
				return err
			}
			if !ok {
				st.Filtered++
				continue
			}
		}
		if !f.fr.decode(data, lt, cut, p) {
			continue
		}
		multi := false
		if f.pc != nil {
			p.Time, p.Iface = f.pcapTime(f.lastHdr), 0
		} else {
			p.Time, p.Iface = f.lastCI.Timestamp.UTC(), f.lastCI.InterfaceIndex
			multi = f.ng.NInterfaces() > 1
		}
		if f.fr.keep(p, lt, multi) {
			p.Frame = st.Frames
			return nil
		}
	}
}

// check looks at the lengths of the record read last: it counts a record
// longer than its packet (and makes its capture info consistent, as
// LastFrame promises) and reports whether the record was cut short of the
// packet, by the snap length.
func (f *File) check() (cut bool) {
	caplen, wirel := int(f.lastHdr.caplen), int(f.lastHdr.wirel)
	if f.pc == nil {
		caplen, wirel = f.lastCI.CaptureLength, f.lastCI.Length
		if caplen > wirel {
			f.lastCI.Length = caplen
		}
	}
	if caplen > wirel {
		f.fr.stats.OverLength++
	}
	return caplen < wirel
}

// record reads the next record, keeps it for LastFrame and returns its
// bytes and link type. Classic pcap, the hot path of a big capture, builds
// no gopacket.CaptureInfo unless LastFrame or the filter asks for one.
func (f *File) record() ([]byte, layers.LinkType, error) {
	if f.pc != nil {
		h, data, err := f.pc.record()
		if err != nil {
			return nil, 0, err
		}
		f.lastData, f.lastHdr, f.lastLT = data, h, f.lt
		return data, f.lt, nil
	}
	data, ci, err := f.read()
	if err != nil {
		return nil, 0, err
	}
	f.good = f.consumed()
	lt := f.lt
	if len(ci.AncillaryData) > 0 {
		lt, _ = ci.AncillaryData[0].(layers.LinkType)
	}
	f.lastData, f.lastCI, f.lastLT = data, ci, lt
	return data, lt, nil
}

// pcapTime is a record's timestamp, in UTC.
func (f *File) pcapTime(h pcapHeader) time.Time {
	ns := int64(h.frac)
	if !f.pc.nano {
		ns *= 1000
	}
	return time.Unix(int64(h.sec), ns).UTC()
}

// pcapCI is a record's capture info in gopacket's terms; Length is at
// least CaptureLength, whatever the record says.
func (f *File) pcapCI(h pcapHeader) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: f.pcapTime(h), CaptureLength: int(h.caplen), Length: int(max(h.wirel, h.caplen))}
}

// read returns the next pcapng record, turning a panic in the third-party
// reader into an error: no input may crash the caller.
func (f *File) read() (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reader failed: %v", r)
		}
	}()
	return f.ng.ZeroCopyReadPacketData()
}

// fail turns a read error into the final error: io.EOF at a record
// boundary, a *DamageError otherwise.
func (f *File) fail(err error) error {
	if f.pc != nil {
		// pcapReader gives back the damaged record's header: what it has
		// consumed ends with the last good record.
		f.good = f.consumed()
	}
	if err == io.EOF {
		// pcapgo's pcapng reader says io.EOF only at a block boundary; its
		// pcap reader also when a record header came without its data.
		if f.ng != nil || f.consumed() == f.good {
			return io.EOF
		}
		err = io.ErrUnexpectedEOF
	}
	return &DamageError{File: f.name, Frame: f.fr.stats.Frames, Offset: f.good, Compressed: f.gz, Err: err}
}

// consumed is how many bytes of the capture stream the pcap reader took.
func (f *File) consumed() int64 {
	n := f.stream.n - int64(f.br.Buffered())
	if f.pc != nil {
		n -= int64(f.pc.buffered())
	}
	return n
}

// Stats implements Source. Bytes counts bytes of the file: compressed bytes
// for gzip (including read-ahead), exact consumption otherwise.
func (f *File) Stats() Stats {
	s := f.fr.stats
	if f.gz {
		s.Bytes = f.raw.n
	} else {
		s.Bytes = f.consumed()
	}
	return s
}

// Size returns the size of the file in bytes, comparable with
// Stats().Bytes, or -1 when unknown (standard input, a pipe, NewReader).
func (f *File) Size() int64 { return f.size }

// LinkType returns the link type of a classic pcap file, or of the first
// interface of a pcapng file once a frame has been read.
func (f *File) LinkType() layers.LinkType {
	if f.ng != nil {
		if i, err := f.ng.Interface(0); err == nil {
			return i.LinkType
		}
	}
	return f.lt
}

// LastFrame implements FrameSource. The capture info's Length is at least
// its CaptureLength, even for a record that says less (Stats.OverLength).
func (f *File) LastFrame() ([]byte, gopacket.CaptureInfo, layers.LinkType) {
	if f.pc != nil && f.lastData != nil {
		return f.lastData, f.pcapCI(f.lastHdr), f.lastLT
	}
	return f.lastData, f.lastCI, f.lastLT
}

// Close closes the file opened by Open; it does not close a reader passed
// to NewReader.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
