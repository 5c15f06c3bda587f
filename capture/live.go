package capture

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// DefaultSnapLen is the live snap length when LiveOptions.SnapLen is 0. The
// deepest headers decoded are Ethernet + two VLAN tags (22) + IPv6 with a few
// extension headers (~80) + TCP with full options (60), about 160 bytes;
// 512 leaves room for HeadLen (256) payload bytes after them, which is all a
// Packet keeps, while copying a quarter of a full-size frame into the ring.
const DefaultSnapLen = 512

// DefaultReadTimeout is the live read timeout when LiveOptions.ReadTimeout
// is 0: how long Next waits in libpcap before it looks whether Close was
// called (Close also wakes it at once with pcap_breakloop).
const DefaultReadTimeout = 250 * time.Millisecond

// LiveOptions configures OpenLive.
type LiveOptions struct {
	// Interface to capture on; "any" captures on all of them (Linux cooked
	// headers, SLL or SLL2).
	Interface string
	// SnapLen is how many bytes of each frame to keep; 0 means DefaultSnapLen.
	SnapLen int
	// Promisc puts the interface in promiscuous mode.
	Promisc bool
	// Filter is a tcpdump expression, compiled by libpcap and run in the
	// kernel: rejected frames never reach Next (and are not counted).
	Filter string
	// ReadTimeout bounds one wait in libpcap; 0 means DefaultReadTimeout.
	ReadTimeout time.Duration
	// KeepDuplicates returns every copy of a segment recorded twice (on
	// "any", once per interface it crosses); by default the second copy
	// is skipped and counted in Stats.Duplicates.
	KeepDuplicates bool
	// BufferSize is the size in bytes of the kernel buffer that holds the
	// frames not read yet (pcap_set_buffer_size, tcpdump's -B in KiB); a
	// frame that finds it full is dropped. 0 means libpcap's default (2 MiB
	// on Linux).
	BufferSize int
}

// Live captures from a network interface with libpcap. It implements
// Source and FrameSource. Next and Close may be called from different
// goroutines: Close makes a pending Next return io.EOF.
type Live struct {
	iface string
	h     *pcap.Handle
	lt    layers.LinkType
	fr    frames // and the counters, owned by Next

	mu     sync.Mutex // guards h against use after Close in Stats
	closed bool
	kstats Stats // Dropped/IfDropped as of Close

	lastData []byte
	lastCI   gopacket.CaptureInfo
}

// OpenLive starts a capture. Its errors: *InterfaceError when the interface
// does not exist (listing those that do), ErrPermission (wrapped) without
// root or CAP_NET_RAW, *FilterError for a bad filter, *LinkTypeError for
// an interface whose link type the decoder does not support (802.11 in
// monitor mode: radiotap).
func OpenLive(opts LiveOptions) (*Live, error) {
	if opts.Interface == "" {
		return nil, errors.New("no capture interface given")
	}
	if opts.SnapLen <= 0 {
		opts.SnapLen = DefaultSnapLen
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if err := checkInterface(opts.Interface); err != nil {
		return nil, err
	}
	in, err := pcap.NewInactiveHandle(opts.Interface)
	if err != nil {
		return nil, liveOpenError(opts.Interface, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(opts.SnapLen) },
		func() error { return in.SetPromisc(opts.Promisc) },
		func() error { return in.SetTimeout(opts.ReadTimeout) },
		// Deliver each frame at once rather than when a ring block fills:
		// a reset connection shows up when it happens.
		func() error { return in.SetImmediateMode(true) },
		func() error {
			if opts.BufferSize > 0 {
				return in.SetBufferSize(opts.BufferSize)
			}
			return nil
		},
	} {
		if err := set(); err != nil {
			return nil, liveOpenError(opts.Interface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, liveOpenError(opts.Interface, err)
	}
	if opts.Interface == "any" {
		// libpcap opens "any" as Linux cooked v1; ask for v2, which also
		// carries the interface index, as tcpdump does (best effort: an
		// older libpcap keeps v1, which decodes as well).
		_ = h.SetLinkType(layers.LinkTypeLinuxSLL2)
	}
	if lt := h.LinkType(); !SupportedLinkType(lt) {
		h.Close()
		return nil, &LinkTypeError{Input: "capture on " + opts.Interface, LinkType: lt}
	}
	if opts.Filter != "" {
		if err := h.SetBPFFilter(opts.Filter); err != nil {
			lt := h.LinkType() // before Close: the handle is gone after it
			h.Close()
			return nil, &FilterError{Expr: opts.Filter, LinkType: lt, Err: err}
		}
	}
	return &Live{iface: opts.Interface, h: h, lt: h.LinkType(), fr: newFrames(opts.KeepDuplicates)}, nil
}

// checkInterface returns an *InterfaceError when name is not among the
// interfaces libpcap lists (listing needs no privilege).
func checkInterface(name string) error {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil // let activation say what is wrong
	}
	names := make([]string, 0, len(devs))
	for _, d := range devs {
		if d.Name == name {
			return nil
		}
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return &InterfaceError{Name: name, Available: names}
}

// liveOpenError explains a libpcap activation error.
func liveOpenError(iface string, err error) error {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "permission") || strings.Contains(msg, "not permitted") {
		return fmt.Errorf("capture on %s: %w", iface, ErrPermission)
	}
	if strings.Contains(msg, "no such device") {
		if ierr := checkInterface(iface); ierr != nil {
			return ierr
		}
	}
	return fmt.Errorf("capture on %s: %w", iface, err)
}

// LinkType returns the link type of the capture.
func (l *Live) LinkType() layers.LinkType { return l.lt }

// Next implements Source: it waits for the next TCP segment. It returns
// io.EOF after Close, and an error naming the interface when libpcap fails
// (the interface went down or disappeared).
func (l *Live) Next(p *Packet) error {
	for {
		data, ci, err := l.h.ZeroCopyReadPacketData()
		switch {
		case err == nil:
		case errors.Is(err, pcap.NextErrorTimeoutExpired):
			if l.isClosed() {
				return io.EOF
			}
			continue
		case errors.Is(err, io.EOF), l.isClosed():
			return io.EOF
		default:
			if errors.Is(err, pcap.NextErrorReadError) {
				// NextError says only "Read Error"; libpcap's message
				// ("The interface went down") is in pcap_geterr.
				if msg := l.h.Error(); msg != nil {
					err = fmt.Errorf("%w: %v", err, msg)
				}
			}
			return fmt.Errorf("capture on %s: %w", l.iface, err)
		}
		l.fr.stats.Frames++
		l.lastData, l.lastCI = data, ci
		if !l.fr.decode(data, l.lt, ci.CaptureLength < ci.Length, p) {
			continue
		}
		p.Time, p.Iface = ci.Timestamp.UTC(), 0
		if !l.fr.keep(p, l.lt, false) {
			continue
		}
		p.Frame = l.fr.stats.Frames
		return nil
	}
}

func (l *Live) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Stats implements Source; Dropped and IfDropped come from pcap_stats (the
// kernel's counters for this socket), frozen at Close.
func (l *Live) Stats() Stats {
	s := l.fr.stats
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		s.Dropped, s.IfDropped = l.kstats.Dropped, l.kstats.IfDropped
		return s
	}
	if ks, err := l.h.Stats(); err == nil {
		s.Dropped, s.IfDropped = uint64(ks.PacketsDropped), uint64(ks.PacketsIfDropped)
	}
	return s
}

// LastFrame implements FrameSource. data is libpcap's buffer: valid until
// the next call to Next.
func (l *Live) LastFrame() ([]byte, gopacket.CaptureInfo, layers.LinkType) {
	return l.lastData, l.lastCI, l.lt
}

// Close stops the capture; a Next blocked in another goroutine returns
// io.EOF. It is safe to call more than once.
func (l *Live) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	if ks, err := l.h.Stats(); err == nil {
		l.kstats.Dropped, l.kstats.IfDropped = uint64(ks.PacketsDropped), uint64(ks.PacketsIfDropped)
	}
	l.closed = true
	l.mu.Unlock()
	l.h.Close() // breaks the loop of a pending read, then waits for it
	return nil
}
