package capture

// Stats counts what a Source has read so far.
type Stats struct {
	Frames      uint64 // frames read, of every kind
	TCP         uint64 // frames decoded to a TCP segment and returned
	NotTCP      uint64 // frames that hold no TCP segment (ARP, UDP, ...)
	Undecodable uint64 // frames whose headers could not be decoded (truncated, unknown link type)
	Filtered    uint64 // frames the BPF filter rejected (it runs before decoding)
	Bytes       int64  // bytes of the underlying file consumed, when known (for progress)
	Dropped     uint64 // frames the kernel dropped (live capture only)
	IfDropped   uint64 // frames the interface dropped (live capture only)
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

// count records the outcome of decoding one frame and reports whether it
// gave a TCP segment.
func (s *Stats) count(res decodeResult) bool {
	switch res {
	case resultNotTCP:
		s.NotTCP++
		return false
	case resultUndecodable:
		s.Undecodable++
		return false
	}
	s.TCP++
	return true
}
