package capture

import "github.com/gopacket/gopacket/layers"

// Stats counts what a Source has read so far. Every frame is counted once
// in TCP, NotTCP, Undecodable, Filtered or Duplicates: their sum is Frames.
type Stats struct {
	Frames uint64 // frames read, of every kind
	TCP    uint64 // frames decoded to a TCP segment and returned
	NotTCP uint64 // frames that hold no TCP segment (ARP, UDP, ...)
	// Undecodable counts frames whose headers could not be decoded; it is
	// the sum of the three reasons below.
	Undecodable uint64
	// Truncated: cut by the snap length (the record is shorter than the
	// frame on the wire) before the end of the fixed TCP header.
	Truncated uint64
	// Malformed: a header field out of range (an IPv4 header length, a
	// TCP data offset, a tunnel header's version), a frame shorter than
	// its own headers say though it was captured whole, or tunnels nested
	// more than 4 deep.
	Malformed uint64
	// Unsupported: frames of a link type the decoder does not know;
	// UnsupportedLinkType is the first such link type.
	Unsupported         uint64
	UnsupportedLinkType layers.LinkType
	Filtered            uint64 // frames the BPF filter rejected (it runs before decoding)
	// Duplicates counts TCP segments skipped as a second copy of a segment
	// just read (see Options.KeepDuplicates).
	Duplicates uint64
	// OverLength counts records whose captured length exceeds the frame's
	// length on the wire: read as captured, as tcpdump and tshark do.
	OverLength uint64
	Bytes      int64  // bytes of the underlying file consumed, when known (for progress)
	Dropped    uint64 // frames the kernel dropped (live capture only)
	IfDropped  uint64 // frames the interface dropped (live capture only)
}

// Source yields the TCP segments of a capture in capture order.
//
// Next fills p with the next TCP segment and returns nil, io.EOF at the clean
// end of the input, or an error. Non-TCP and undecodable frames are skipped
// and counted in Stats. An error other than io.EOF is final: the Source
// cannot continue past it (a *DamageError for a truncated or corrupt file).
type Source interface {
	Next(p *Packet) error
	Stats() Stats
	Close() error
}

// frames decodes frames into Packets and counts what each became: the
// part of reading that File and Live share.
type frames struct {
	dec   *decoder
	dup   *dedup // nil: duplicates are returned
	stats Stats
}

func newFrames(keepDuplicates bool) frames {
	f := frames{dec: newDecoder()}
	if !keepDuplicates {
		f.dup = newDedup()
	}
	return f
}

// decode decodes one frame of link type lt into p and reports whether it
// holds a TCP segment; it counts the frames that do not. cut tells that
// the record is shorter than the frame was on the wire.
func (f *frames) decode(data []byte, lt layers.LinkType, cut bool, p *Packet) bool {
	res, err := f.dec.decode(data, lt, p)
	switch res {
	case resultNotTCP:
		f.stats.NotTCP++
		return false
	case resultUndecodable:
		f.stats.undecodable(err, cut, lt)
		return false
	}
	return true
}

// keep reports whether the segment decode just put in p, with its Time and
// Iface set, is to be returned, and counts it: not when it is a duplicate.
// multi tells that the source records several interfaces by index (a
// pcapng file with more than one); only then, or on a link type that
// tells interfaces apart, can a copy be recognised (see dedup.go), so that
// a capture of one link pays nothing for it.
func (f *frames) keep(p *Packet, lt layers.LinkType, multi bool) bool {
	if f.dup != nil {
		if path, coarse := f.dec.path(lt); (multi || path != 0) && f.dup.seen(p, path, coarse) {
			f.stats.Duplicates++
			return false
		}
	}
	f.stats.TCP++
	return true
}

// undecodable counts an undecodable frame of link type lt by the reason
// err gives: the link type, a field out of range, or else a header cut
// short, by the snap length when the record was cut, by itself otherwise.
func (s *Stats) undecodable(err error, cut bool, lt layers.LinkType) {
	s.Undecodable++
	switch err {
	case errLinkUnknown:
		if s.Unsupported == 0 {
			s.UnsupportedLinkType = lt
		}
		s.Unsupported++
		return
	case errBadIPv4, errBadTCP, errBadTunnel, errTooDeep:
		s.Malformed++
		return
	}
	if cut {
		s.Truncated++
	} else {
		s.Malformed++
	}
}
