package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapReader reads the records of a classic pcap file (the format of
// pcap-savefile(5); draft-ietf-opsawg-pcap) from a stream, handing out
// each record's bytes as a view of its own buffer: no copy per record and
// no call per header, where pcapgo.Reader copies every record out of a
// bufio.Reader with two io.ReadFull calls. pcapgo still reads pcapng.
//
// The reader's errors follow pcapgo.Reader's, so that a damaged file is
// reported the same way: io.EOF at a record boundary, io.ErrUnexpectedEOF
// for a record cut short, an error for an absurd record length.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
	nano  bool   // timestamps in nanoseconds (magic a1b23c4d)
	max   uint32 // the largest record accepted: the header's snap length, at least maxRecord
	link  uint32 // the header's link type field (FCS bits included)

	buf      []byte
	pos, end int   // buf[pos:end] is read but not parsed
	eof      error // the error the underlying reader returned, once it has
}

// maxRecord is the record length always accepted whatever the header's snap
// length says, as tcpdump and pcapgo do: libpcap's MAXIMUM_SNAPLEN.
const maxRecord = 262144

// pcapBufSize is the reader's buffer: large reads, few system calls.
const pcapBufSize = 256 << 10

// pcapHeader is one record's header, decoded.
type pcapHeader struct {
	sec, frac     uint32 // seconds, and micro- or nanoseconds
	caplen, wirel uint32 // bytes captured, bytes on the wire
}

// newPcapReader reads the 24-byte file header from r.
func newPcapReader(r io.Reader) (*pcapReader, error) {
	pr := &pcapReader{r: r, buf: make([]byte, pcapBufSize)}
	hdr, err := pr.next(24)
	if err != nil {
		return nil, err
	}
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4:
		pr.order = binary.LittleEndian
	case 0xa1b23c4d:
		pr.order, pr.nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		pr.order = binary.BigEndian
	case 0x4d3cb2a1:
		pr.order, pr.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("unknown magic %x", hdr[:4])
	}
	if v := pr.order.Uint16(hdr[4:]); v != 2 {
		return nil, fmt.Errorf("unknown major version %d", v)
	}
	if v := pr.order.Uint16(hdr[6:]); v != 4 {
		return nil, fmt.Errorf("unknown minor version %d", v)
	}
	pr.max = max(pr.order.Uint32(hdr[16:]), maxRecord)
	pr.link = pr.order.Uint32(hdr[20:])
	return pr, nil
}

// buffered is how many bytes have been read from r but not handed out.
func (pr *pcapReader) buffered() int { return pr.end - pr.pos }

// record returns the next record's header and data; data is valid until the
// next call.
func (pr *pcapReader) record() (pcapHeader, []byte, error) {
	var h pcapHeader
	b, err := pr.next(16)
	if err != nil {
		return h, nil, err
	}
	h = pcapHeader{sec: pr.order.Uint32(b), frac: pr.order.Uint32(b[4:]),
		caplen: pr.order.Uint32(b[8:]), wirel: pr.order.Uint32(b[12:])}
	if h.caplen > pr.max {
		pr.pos -= 16 // the damage starts at this header
		return h, nil, fmt.Errorf("capture length exceeds snap length: %d > %d", h.caplen, pr.max)
	}
	// A captured length above the original length is taken as it is, as
	// tcpdump and tshark do; File counts it (Stats.OverLength).
	data, err := pr.next(int(h.caplen))
	if err != nil {
		pr.pos -= 16
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a header without its data
		}
		return h, nil, err
	}
	return h, data, nil
}

// next returns the next n bytes, reading more when buf holds fewer. It
// returns io.EOF when the stream ends exactly here and io.ErrUnexpectedEOF
// when it ends within the n bytes; either way nothing is consumed.
func (pr *pcapReader) next(n int) ([]byte, error) {
	for pr.end-pr.pos < n {
		if pr.eof != nil {
			if pr.end == pr.pos {
				return nil, pr.eof
			}
			if pr.eof == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, pr.eof
		}
		if pr.pos > 0 { // move the partial record to the front
			pr.end = copy(pr.buf, pr.buf[pr.pos:pr.end])
			pr.pos = 0
		}
		if n > len(pr.buf) && pr.end == len(pr.buf) {
			// A record larger than the buffer: grow it by doubling as its
			// bytes arrive, so that a lying length field cannot make the
			// reader allocate more than the input holds.
			pr.buf = append(pr.buf, make([]byte, min(n, 2*len(pr.buf))-len(pr.buf))...)
		}
		m, err := pr.r.Read(pr.buf[pr.end:])
		pr.end += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.EOF
			}
			pr.eof = err
		}
	}
	b := pr.buf[pr.pos : pr.pos+n : pr.pos+n]
	pr.pos += n
	return b, nil
}
