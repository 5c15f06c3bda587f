package capture

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// ErrNotCapture is wrapped by Open's error for input that is neither a pcap
// nor a pcapng capture (compressed with gzip or not).
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// ErrPermission is wrapped by OpenLive's error when the process may not open
// a packet socket.
var ErrPermission = errors.New("permission denied: run as root or grant CAP_NET_RAW " +
	"(setcap cap_net_raw,cap_net_admin=eip $(which rstscope))")

// DamageError is returned by Next for a capture that is truncated or corrupt
// after some good frames: a record header cut short, an absurd record
// length, a pcapng block that does not parse, a gzip stream cut short. The
// frames before it were returned normally; the Source cannot go on.
type DamageError struct {
	File string // the name given to Open
	// Frame is the number of frames read successfully before the damage.
	Frame uint64
	// Offset is the byte offset just past the last good frame's record,
	// where the damaged part begins, in the capture stream (decompressed
	// for gzip, see Compressed); -1 if unknown.
	Offset int64
	// Compressed tells that Offset counts decompressed bytes.
	Compressed bool
	Err        error
}

func (e *DamageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: damaged after frame %d", e.File, e.Frame)
	if e.Offset >= 0 {
		if e.Compressed {
			fmt.Fprintf(&b, " (decompressed byte offset %d)", e.Offset)
		} else {
			fmt.Fprintf(&b, " (byte offset %d)", e.Offset)
		}
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *DamageError) Unwrap() error { return e.Err }

// FilterError reports a BPF filter expression that libpcap cannot compile
// for a link type.
type FilterError struct {
	Expr     string
	LinkType layers.LinkType
	Err      error // libpcap's message
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("bad filter %q for link type %s: %v", e.Expr, e.LinkType, e.Err)
}

func (e *FilterError) Unwrap() error { return e.Err }

// InterfaceError reports a capture interface that does not exist.
type InterfaceError struct {
	Name      string
	Available []string // the interfaces libpcap can open (pcap_findalldevs)
}

func (e *InterfaceError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("no such interface %q (libpcap lists none)", e.Name)
	}
	return fmt.Sprintf("no such interface %q (have: %s)", e.Name, strings.Join(e.Available, ", "))
}
