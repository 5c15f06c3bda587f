package kernel

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// Lines as this machine's kernel (6.18) wrote them to trace_pipe, in
// network namespaces: a closed port, SO_LINGER 0 after reading the
// request, a close with the request unread, the client's socket reset.
const (
	lineNoSocket   = `           <...>-15018   [001] ..s1.  8615.226027: tcp_send_reset: skbaddr=000000005d5f82fa skaddr=0000000000000000 src=10.250.77.2:7001 dest=10.250.77.1:40714 state=UNKNOWN reason=NO_SOCKET`
	lineLinger     = `         python3-15331   [000] .N...  8625.060718: tcp_send_reset: skbaddr=0000000000000000 skaddr=00000000684f973a src=10.250.77.2:7002 dest=10.250.77.1:54760 state=TCP_CLOSE reason=TCP_STATE`
	lineUnread     = `         python3-15447   [000] .....  8629.225913: tcp_send_reset: skbaddr=0000000000000000 skaddr=0000000039258951 src=10.250.77.2:7002 dest=10.250.77.1:54766 state=TCP_CLOSE reason=TCP_ABORT_ON_CLOSE`
	lineReceive    = `         python3-15447   [000] ..s2.  8629.225852: tcp_receive_reset: family=AF_INET sport=54766 dport=7002 saddr=10.250.77.1 daddr=10.250.77.2 saddrv6=::ffff:10.250.77.1 daddrv6=::ffff:10.250.77.2 sock_cookie=5`
	lineMarker     = `            bash-15012   [000] ...1.  8615.242042: tracing_mark_write: rstscope-sync`
	lineLost       = `CPU:1 [LOST 123 EVENTS]`
	lineV6         = ` kworker/u8:2-events-99 [003] ..s1. 12.000001: tcp_send_reset: skbaddr=0 skaddr=0 src=[2001:db8::2]:443 dest=[2001:db8::1]:50000 state=UNKNOWN reason=NO_SOCKET`
	lineListener   = `          <idle>-0       [001] ..s2.   99.5: tcp_send_reset: skbaddr=0 skaddr=1 src=0.0.0.0:80 dest=0.0.0.0:0 state=TCP_LISTEN reason=INVALID_SYN`
	lineReceive6   = `  curl-7 [000] ..s2. 1.000000: tcp_receive_reset: family=AF_INET6 sport=50000 dport=443 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=2001:db8::1 daddrv6=2001:db8::2 sock_cookie=ff`
	lineOtherEvent = `          <idle>-0       [001] ..s2.  8615.0: tcp_retransmit_skb: skbaddr=0`
)

func TestParseLine(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		line string
		ok   bool
		want Event
	}{
		{"no socket", lineNoSocket, true, Event{Kind: KindSend, Mono: 8615*time.Second + 226027*time.Microsecond,
			Src: ap("10.250.77.2:7001"), Dst: ap("10.250.77.1:40714"), State: "UNKNOWN", Reason: "NO_SOCKET",
			Comm: "<...>", PID: 15018}},
		{"linger 0", lineLinger, true, Event{Kind: KindSend, Mono: 8625*time.Second + 60718*time.Microsecond,
			Src: ap("10.250.77.2:7002"), Dst: ap("10.250.77.1:54760"), State: "TCP_CLOSE", Reason: "TCP_STATE",
			Comm: "python3", PID: 15331, Process: true}},
		{"unread", lineUnread, true, Event{Kind: KindSend, Mono: 8629*time.Second + 225913*time.Microsecond,
			Src: ap("10.250.77.2:7002"), Dst: ap("10.250.77.1:54766"), State: "TCP_CLOSE", Reason: "TCP_ABORT_ON_CLOSE",
			Comm: "python3", PID: 15447, Process: true}},
		{"receive", lineReceive, true, Event{Kind: KindReceive, Mono: 8629*time.Second + 225852*time.Microsecond,
			Src: ap("10.250.77.2:7002"), Dst: ap("10.250.77.1:54766"), Comm: "python3", PID: 15447, Cookie: 5}},
		{"receive IPv6", lineReceive6, true, Event{Kind: KindReceive, Mono: time.Second,
			Src: ap("[2001:db8::2]:443"), Dst: ap("[2001:db8::1]:50000"), Comm: "curl", PID: 7, Cookie: 255}},
		{"IPv6, comm with dashes", lineV6, true, Event{Kind: KindSend, Mono: 12*time.Second + time.Microsecond,
			Src: ap("[2001:db8::2]:443"), Dst: ap("[2001:db8::1]:50000"), State: "UNKNOWN", Reason: "NO_SOCKET",
			Comm: "kworker/u8:2-events", PID: 99}},
		{"listener", lineListener, true, Event{Kind: KindSend, Mono: 99*time.Second + 500*time.Millisecond,
			Src: ap("0.0.0.0:80"), Dst: ap("0.0.0.0:0"), State: "TCP_LISTEN", Reason: "INVALID_SYN", Comm: "<idle>", PID: 0}},
		{"marker", lineMarker, true, Event{Kind: KindMarker, Mono: 8615*time.Second + 242042*time.Microsecond,
			Marker: "rstscope-sync", Comm: "bash", PID: 15012, Process: true}},
		{"lost", lineLost, true, Event{Kind: KindLost, Lost: 123}},
		{"another event", lineOtherEvent, false, Event{}},
		{"empty", "", false, Event{}},
		{"no timestamp", `x-1 [000] ..... tcp_send_reset: src=1.2.3.4:1 dest=1.2.3.5:2 reason=NO_SOCKET`, false, Event{}},
		{"bad timestamp", `x-1 [000] ..... 12.x: tcp_send_reset: src=1.2.3.4:1 dest=1.2.3.5:2 reason=NO_SOCKET`, false, Event{}},
		{"bad address", `x-1 [000] ..... 1.0: tcp_send_reset: src=1.2.3:1 dest=1.2.3.5:2 reason=NO_SOCKET`, false, Event{}},
		{"no reason (before Linux 6.10)", `x-1 [000] ..... 1.0: tcp_send_reset: src=1.2.3.4:1 dest=1.2.3.5:2 state=TCP_CLOSE`, false, Event{}},
		{"receive without ports", `x-1 [000] ..... 1.0: tcp_receive_reset: family=AF_INET saddr=1.2.3.4 daddr=1.2.3.5`, false, Event{}},
		{"receive bad port", `x-1 [000] ..... 1.0: tcp_receive_reset: family=AF_INET sport=70000 dport=1 saddr=1.2.3.4 daddr=1.2.3.5`, false, Event{}},
		{"lost without count", `CPU:1 [LOST EVENTS]`, false, Event{}},
		{"only a tag", `: tcp_send_reset: `, false, Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			ok := ParseLine([]byte(tt.line), &ev)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v (%+v)", ok, tt.ok, ev)
			}
			if !tt.ok {
				if ev.Kind != KindNone {
					t.Errorf("kind %d for a line not read, want KindNone", ev.Kind)
				}
				return
			}
			if !reflect.DeepEqual(ev, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", ev, tt.want)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, l := range []string{lineNoSocket, lineLinger, lineUnread, lineReceive, lineReceive6, lineMarker,
		lineLost, lineV6, lineListener, lineOtherEvent} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev Event
		ok := ParseLine(line, &ev)
		if ok != (ev.Kind != KindNone) {
			t.Errorf("ok %v with kind %d", ok, ev.Kind)
		}
		if ok && (ev.Kind == KindSend || ev.Kind == KindReceive) && (!ev.Src.IsValid() || !ev.Dst.IsValid()) {
			t.Errorf("an event without its addresses: %+v", ev)
		}
	})
}

// BenchmarkParseLine is the cost of reading one tcp_send_reset line, part
// of the cost per reset of kernel reasons.
func BenchmarkParseLine(b *testing.B) {
	line := []byte(lineUnread)
	var ev Event
	b.ReportAllocs()
	for b.Loop() {
		if !ParseLine(line, &ev) {
			b.Fatal("not parsed")
		}
	}
}
