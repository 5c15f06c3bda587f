package kernel

import (
	"bytes"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Kind is what a line of the trace said.
type Kind uint8

// The kinds of line.
const (
	KindNone    Kind = iota // a line this package does not read
	KindSend                // tcp:tcp_send_reset: the TCP stack sent a RST
	KindReceive             // tcp:tcp_receive_reset: a RST reset a local socket
	KindLost                // the ring buffer overwrote events before they were read
	KindMarker              // a line this package wrote to trace_marker
)

// Event is one line of the trace, parsed.
type Event struct {
	Kind Kind
	// Mono is the event's timestamp on the trace clock, CLOCK_MONOTONIC
	// (the instance's trace_clock is "mono"), in microseconds' precision.
	Mono time.Duration
	// Src and Dst are the RST's addresses and ports. For KindSend, as the
	// kernel built it: from the socket, or reversed from the segment it
	// answers; a listener's gives Dst as 0.0.0.0:0 (or [::]:0). For
	// KindReceive, Src is the peer that sent the RST and Dst the local
	// socket it reset. IPv4-mapped IPv6 addresses are unmapped.
	Src, Dst netip.AddrPort
	// State is the socket's state when the RST was sent ("TCP_CLOSE",
	// "UNKNOWN" without a socket); "" for KindReceive.
	State string
	// Reason is the kernel's reason for a RST it sent (enum sk_rst_reason
	// as the kernel names it, "TCP_ABORT_ON_CLOSE"); "" for KindReceive.
	Reason string
	// Comm and PID are the task the event fired in; meaningful only when
	// Process is true (in softirq context they name whatever task ran).
	Comm    string
	PID     int
	Process bool
	// Cookie is the local socket's cookie (KindReceive), 0 when unknown.
	Cookie uint64
	// Lost is the number of events lost (KindLost).
	Lost uint64
	// Marker is the text written to trace_marker (KindMarker).
	Marker string
}

// The event names as they appear in a trace_pipe line.
var (
	sendTag   = []byte(": tcp_send_reset: ")
	recvTag   = []byte(": tcp_receive_reset: ")
	markTag   = []byte(": tracing_mark_write: ")
	lostStart = []byte("CPU:")
	lostTag   = []byte("[LOST ")
)

// ParseLine reads one line of a tracefs trace_pipe with the default
// trace_options (context-info, irq-info), without its newline:
//
//	python3-15447 [000] ..... 8629.225913: tcp_send_reset: skbaddr=0000000000000000 skaddr=0000000039258951 src=10.250.77.2:7002 dest=10.250.77.1:54766 state=TCP_CLOSE reason=TCP_ABORT_ON_CLOSE
//
// The format is the tracepoint's print fmt (events/tcp/*/format) as of
// Linux 6.10. A line it does not recognise, or cannot read, gives
// KindNone and ok false; it never panics.
func ParseLine(line []byte, ev *Event) (ok bool) {
	*ev = Event{}
	if bytes.HasPrefix(bytes.TrimLeft(line, " "), lostStart) {
		return parseLost(line, ev)
	}
	var tag []byte
	switch {
	case bytes.Contains(line, sendTag):
		tag, ev.Kind = sendTag, KindSend
	case bytes.Contains(line, recvTag):
		tag, ev.Kind = recvTag, KindReceive
	case bytes.Contains(line, markTag):
		tag, ev.Kind = markTag, KindMarker
	default:
		return false
	}
	i := bytes.Index(line, tag)
	if !parseHeader(line[:i], ev) {
		ev.Kind = KindNone
		return false
	}
	body := line[i+len(tag):]
	switch ev.Kind {
	case KindMarker:
		ev.Marker = string(bytes.TrimSpace(body))
		return true
	case KindSend:
		ok = parseSend(body, ev)
	default:
		ok = parseReceive(body, ev)
	}
	if !ok {
		ev.Kind = KindNone
	}
	return ok
}

// parseHeader reads "COMM-PID [CPU] FLAGS SECONDS.MICROS", the context
// before the event's name.
func parseHeader(h []byte, ev *Event) bool {
	sp := bytes.LastIndexByte(h, ' ')
	if sp < 0 {
		return false
	}
	mono, ok := parseStamp(h[sp+1:])
	if !ok {
		return false
	}
	ev.Mono = mono
	h = h[:sp]
	br := bytes.LastIndex(h, []byte(" ["))
	if br < 0 {
		return true // no task context: trace_options without context-info
	}
	if end := bytes.IndexByte(h[br:], ']'); end > 0 {
		flags := bytes.TrimSpace(h[br+end+1:])
		// irq-info flags: irqs-off, need-resched, hardirq/softirq,
		// preempt depth, migrate-disable; '.' in the third means task
		// context.
		ev.Process = len(flags) >= 3 && flags[2] == '.'
	}
	task := bytes.TrimSpace(h[:br])
	if dash := bytes.LastIndexByte(task, '-'); dash > 0 {
		if pid, err := strconv.Atoi(string(task[dash+1:])); err == nil {
			ev.PID = pid
			ev.Comm = string(task[:dash])
		}
	}
	if ev.Comm == "" || ev.Comm == "<...>" || ev.Comm == "<idle>" {
		ev.Process = false
	}
	return true
}

// parseStamp reads "8629.225913" (seconds and microseconds).
func parseStamp(b []byte) (time.Duration, bool) {
	dot := bytes.IndexByte(b, '.')
	if dot <= 0 || dot == len(b)-1 {
		return 0, false
	}
	sec, err1 := strconv.ParseUint(string(b[:dot]), 10, 32)
	frac := b[dot+1:]
	if len(frac) > 9 {
		return 0, false
	}
	f, err2 := strconv.ParseUint(string(frac), 10, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	for range 9 - len(frac) {
		f *= 10
	}
	return time.Duration(sec)*time.Second + time.Duration(f), true
}

// parseSend reads tcp_send_reset's fields: src, dest, state, reason.
func parseSend(body []byte, ev *Event) bool {
	var haveSrc, haveDst bool
	for f := range bytes.FieldsSeq(body) {
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			continue
		}
		switch string(k) {
		case "src":
			ev.Src, haveSrc = addrPort(v)
		case "dest":
			ev.Dst, haveDst = addrPort(v)
		case "state":
			ev.State = intern(v)
		case "reason":
			ev.Reason = intern(v)
		}
	}
	return haveSrc && haveDst && ev.Reason != ""
}

// parseReceive reads tcp_receive_reset's fields: the local socket's
// sport, saddr (or saddrv6), the peer's dport, daddr (or daddrv6), family
// and sock_cookie.
func parseReceive(body []byte, ev *Event) bool {
	var sport, dport uint64
	var s4, d4, s6, d6 netip.Addr
	var v6, havePorts bool
	nPorts := 0
	for f := range bytes.FieldsSeq(body) {
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			continue
		}
		var err error
		switch string(k) {
		case "family":
			v6 = string(v) == "AF_INET6"
		case "sport":
			sport, err = strconv.ParseUint(string(v), 10, 16)
			nPorts++
		case "dport":
			dport, err = strconv.ParseUint(string(v), 10, 16)
			nPorts++
		case "saddr":
			s4, _ = netip.ParseAddr(string(v))
		case "daddr":
			d4, _ = netip.ParseAddr(string(v))
		case "saddrv6":
			s6, _ = netip.ParseAddr(string(v))
		case "daddrv6":
			d6, _ = netip.ParseAddr(string(v))
		case "sock_cookie":
			ev.Cookie, _ = strconv.ParseUint(string(v), 16, 64)
		}
		if err != nil {
			return false
		}
	}
	havePorts = nPorts == 2
	local, peer := s4, d4
	if v6 {
		local, peer = s6.Unmap(), d6.Unmap()
	}
	if !havePorts || !local.IsValid() || !peer.IsValid() {
		return false
	}
	ev.Src = netip.AddrPortFrom(peer, uint16(dport))
	ev.Dst = netip.AddrPortFrom(local, uint16(sport))
	return true
}

// parseLost reads "CPU:1 [LOST 123 EVENTS]".
func parseLost(line []byte, ev *Event) bool {
	i := bytes.Index(line, lostTag)
	if i < 0 {
		return false
	}
	rest := line[i+len(lostTag):]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return false
	}
	n, err := strconv.ParseUint(string(rest[:sp]), 10, 64)
	if err != nil {
		return false
	}
	ev.Kind, ev.Lost = KindLost, n
	return true
}

// addrPort reads "10.0.0.1:80" or "[2001:db8::1]:443", unmapping an
// IPv4-mapped address.
func addrPort(b []byte) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(string(b))
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// names holds the state and reason names seen, so that each event does not
// allocate them again: the kernel's enums are small.
var (
	namesMu sync.Mutex
	names   = make(map[string]string)
)

// intern returns b as a string, shared with every earlier equal one (at
// most maxNames distinct names are kept).
func intern(b []byte) string {
	namesMu.Lock()
	defer namesMu.Unlock()
	if s, ok := names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(names) < maxNames {
		names[s] = s
	}
	return s
}

const maxNames = 256
