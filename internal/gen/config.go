package gen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrConfig is wrapped by every error about an invalid Config or mix string.
var ErrConfig = errors.New("invalid generator config")

// Kind is the scenario a generated connection plays. Every kind but
// KindNormal ends in at least one RST; the comment after each names the
// truth it records for its first RST (origin, phase, cause) as values of
// rstanalysis.Origin, Phase and Cause (docs/json.md). RSTs that a stack
// sends afterwards in answer to late segments are recorded as after_reset,
// late_segment.
type Kind uint8

const (
	KindNormal           Kind = iota // no reset: request, response, FIN close
	KindRefused                      // server stack, syn, refused: RST+ACK to the SYN, ack = ISN+1
	KindFirewallReject               // middlebox, syn, firewall_reject: netfilter REJECT shape, nearer hops
	KindServerAbort                  // server, request, server_abort: RST+ACK at snd.nxt after the request
	KindAbortMidResponse             // server, response, server_abort: RST+ACK after part of the response
	KindClientAbort                  // client, response, client_abort; then the client stack answers late segments
	KindUnreadData                   // server, response, server_abort: close with an unread request body
	KindKeepaliveReuse               // server, closing, keepalive_reuse: request after the server's FIN
	KindIdleTimeout                  // middlebox, idle, idle_timeout: a load balancer forgot the idle flow
	KindInjected                     // middlebox, request or tls_handshake, injected: one forged RST+ACK, the real reply follows
	KindGFW                          // middlebox, request or tls_handshake, injected: RST, then RST+ACKs at X, X+1460, X+4380
	KindTLSReject                    // server, tls_handshake, tls_reject: RST+ACK answering the ClientHello
	KindBacklogOverflow              // server, request or tls_handshake, backlog_overflow: RST answering the ACK
	KindStaleConnection              // server, idle, stale_connection: restarted server answers with RST
	numKinds
)

var kindNames = [numKinds]string{"normal", "refused", "firewall_reject", "server_abort",
	"abort_mid_response", "client_abort", "unread_data", "keepalive_reuse", "idle_timeout",
	"injected", "gfw", "tls_reject", "backlog_overflow", "stale_connection"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ResetKinds returns every kind that ends in a reset, in declaration order.
func ResetKinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindNormal + 1; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// ParseKind returns the kind named s (as Kind.String spells it).
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown reset kind %q (known: %s)", ErrConfig, s, strings.Join(kindNames[1:], ", "))
}

// Mix is the relative weight of each reset kind among the connections that
// end in a reset. A nil or empty Mix weighs every reset kind equally.
type Mix map[Kind]float64

// ParseMix reads a mix written as "kind=weight,kind=weight" (for example
// "refused=2,gfw=1"); kinds left out get weight 0. An empty string is a nil
// Mix (every kind equally).
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: mix entry %q is not kind=weight", ErrConfig, part)
		}
		k, err := ParseKind(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		if k == KindNormal {
			return nil, fmt.Errorf("%w: mix names kinds that reset; %q does not", ErrConfig, name)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		if err != nil || w < 0 {
			return nil, fmt.Errorf("%w: mix weight %q for %s is not a number >= 0", ErrConfig, weight, k)
		}
		m[k] = w
	}
	return m, nil
}

// Format is the capture file format written.
type Format uint8

const (
	FormatPcap   Format = iota // classic pcap, microsecond timestamps, Ethernet
	FormatPcapNG               // pcapng with one Ethernet interface
)

// Config says what to generate. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Packets is the exact number of frames written (the capture ends
	// there, cutting connections mid-way like a real capture).
	Packets int
	// Concurrency is the number of connections open at once in steady
	// state; a connection is open from its first to its last packet.
	Concurrency int
	// Seed selects the capture; the same Config gives byte-identical output.
	Seed uint64
	// IPv6 is the fraction of connections over IPv6, in [0, 1].
	IPv6 float64
	// Resets is the fraction of connections that end in a reset, in [0, 1].
	Resets float64
	// Mix weighs the reset kinds among those connections; nil = equal weights.
	Mix Mix
	// Span is the capture's approximate duration: think times between
	// requests are scaled so that Packets and Concurrency fill it. Idle
	// gaps before an idle_timeout or stale_connection reset are the
	// devices' real timeouts (65 s, 245 s, 355 s), capped at Span/2.
	Span time.Duration
	// Format is the file format; classic pcap by default.
	Format Format
	// Start is the first packet's time; the zero value means DefaultStart.
	Start time.Time
	// Snaplen is the number of bytes of each frame written, like tcpdump
	// -s: a frame longer than Snaplen bytes is cut to its first Snaplen
	// bytes (the record's captured length), while the record's original
	// length stays the frame's full length, and the file header's snap
	// length says Snaplen. 0 means whole frames (the header then says
	// 262144, libpcap's maximum). Otherwise it must be at least MinSnaplen,
	// so that every frame keeps its Ethernet, IP and TCP headers whole, and
	// at most 262144.
	// Only the written bytes change: the same Config with another Snaplen
	// generates the same frames.
	Snaplen int
}

// MinSnaplen is the smallest non-zero Config.Snaplen, in bytes: the longest
// Ethernet + IP + TCP header the generator writes, an IPv6 SYN or SYN-ACK
// with 20 bytes of options (14 Ethernet + 40 IPv6 + 20 TCP + 20 options:
// MSS, SACK_PERM, TS, NOP, WS). IPv4 headers carry no options and IPv6 no
// extension headers, so any Snaplen of at least MinSnaplen keeps every
// frame's headers intact and cuts payload only.
const MinSnaplen = 14 + 40 + 20 + 20

// maxSnaplen is the snap length written in the file header when
// Config.Snaplen is 0: libpcap's MAXIMUM_SNAPLEN, as tcpdump writes.
const maxSnaplen = 262144

// DefaultStart is the timestamp of the first packet when Config.Start is zero.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// DefaultConfig returns the benchmark capture's shape: 5 M packets, 50 k
// connections open at once, 12% IPv6, 12% of connections reset with every
// kind equally likely, over about ten minutes.
func DefaultConfig() Config {
	return Config{
		Packets:     5_000_000,
		Concurrency: 50_000,
		Seed:        1,
		IPv6:        0.12,
		Resets:      0.12,
		Span:        10 * time.Minute,
	}
}

// maxConcurrency is how many connections can be open at once without two
// sharing a 5-tuple: client addresses times ephemeral ports.
const maxConcurrency = numClients * ephemeralPorts

func (c Config) validate() error {
	switch {
	case c.Packets < 1:
		return fmt.Errorf("%w: packets %d must be at least 1", ErrConfig, c.Packets)
	case c.Concurrency < 1 || c.Concurrency > maxConcurrency:
		return fmt.Errorf("%w: concurrency %d must be in [1, %d]", ErrConfig, c.Concurrency, maxConcurrency)
	case !(c.IPv6 >= 0 && c.IPv6 <= 1):
		return fmt.Errorf("%w: ipv6 fraction %v must be in [0, 1]", ErrConfig, c.IPv6)
	case !(c.Resets >= 0 && c.Resets <= 1):
		return fmt.Errorf("%w: reset fraction %v must be in [0, 1]", ErrConfig, c.Resets)
	case c.Span < time.Second:
		return fmt.Errorf("%w: span %v must be at least 1s", ErrConfig, c.Span)
	case c.Format > FormatPcapNG:
		return fmt.Errorf("%w: unknown format %d", ErrConfig, c.Format)
	case c.Snaplen != 0 && (c.Snaplen < MinSnaplen || c.Snaplen > maxSnaplen):
		return fmt.Errorf("%w: snaplen %d must be 0 (whole frames) or at least %d bytes (the longest Ethernet+IP+TCP header generated) and at most %d",
			ErrConfig, c.Snaplen, MinSnaplen, maxSnaplen)
	}
	if c.Resets > 0 && len(c.Mix) > 0 {
		total := 0.0
		for _, w := range c.Mix {
			total += w
		}
		if total <= 0 {
			return fmt.Errorf("%w: reset mix has no positive weight", ErrConfig)
		}
	}
	return nil
}

// Stats describes what Generate wrote.
type Stats struct {
	// Packets is the number of frames written.
	Packets int
	// Connections is the number of connections that wrote at least one packet.
	Connections int
	// MaxOpen is the largest number of connections open at once; a
	// connection cut by the end of the capture counts as open to the end.
	MaxOpen int
	// RSTs is the number of frames with the RST flag.
	RSTs int
	// RSTsByKind counts RST frames by the scenario of their connection
	// (late-segment RSTs count under their connection's kind).
	RSTsByKind map[Kind]int
	// Duration is the time from the first to the last packet.
	Duration time.Duration
	// Bytes is the sum of the frames' captured lengths, in bytes: the
	// packet data written to the file, without file, block or record
	// headers. With Config.Snaplen set it counts the cut frames (at most
	// Snaplen bytes each), not the original lengths, as tcpdump -s would
	// write them; with Snaplen 0 it is the sum of whole frame lengths.
	Bytes int64
}
