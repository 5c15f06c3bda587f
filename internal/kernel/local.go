package kernel

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// localAddrs is the set of this host's addresses (of the network namespace
// rstscope runs in): a RST from one of them left this host, a RST to one of
// them reached a socket here. It is read again at most every
// localRefresh, and on a miss at most every localRetry, so that an
// address added while rstscope runs is seen.
type localAddrs struct {
	mu     sync.Mutex
	set    map[netip.Addr]bool
	read   time.Time
	fixed  bool // a set given by the caller, never read again
	lister func() ([]netip.Addr, error)
}

const (
	localRefresh = 10 * time.Second
	localRetry   = time.Second
)

func newLocalAddrs(fixed []netip.Addr) *localAddrs {
	l := &localAddrs{lister: interfaceAddrs}
	if fixed != nil {
		l.fixed = true
		l.set = make(map[netip.Addr]bool, len(fixed))
		for _, a := range fixed {
			l.set[a.Unmap()] = true
		}
	}
	return l
}

// has reports whether a is one of this host's addresses.
func (l *localAddrs) has(a netip.Addr) bool {
	a = a.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fixed {
		return l.set[a]
	}
	now := time.Now()
	age := now.Sub(l.read)
	if l.set == nil || age >= localRefresh || (!l.set[a] && age >= localRetry) {
		l.reload(now)
	}
	return l.set[a]
}

func (l *localAddrs) reload(now time.Time) {
	addrs, err := l.lister()
	l.read = now
	if err != nil && l.set != nil {
		return // keep what was known
	}
	set := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		set[a.Unmap()] = true
	}
	l.set = set
}

// interfaceAddrs lists the addresses of every interface of this network
// namespace, without zones.
func interfaceAddrs() ([]netip.Addr, error) {
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ifas))
	for _, ifa := range ifas {
		if p, err := netip.ParsePrefix(ifa.String()); err == nil {
			out = append(out, p.Addr().WithZone(""))
		}
	}
	return out, nil
}

// The offset of CLOCK_REALTIME from CLOCK_MONOTONIC, read again at most
// every offsetEvery: time.Now reads the wall clock through the vDSO, but
// golang.org/x/sys reads CLOCK_MONOTONIC with a system call, too dear for
// every reset. NTP slews the wall clock by at most 0.5 ms a second, far
// inside the join's window.
var (
	offsetMu   sync.Mutex
	offsetNs   int64
	offsetRead time.Time // with Go's monotonic reading
)

const offsetEvery = time.Second

// offset returns CLOCK_REALTIME - CLOCK_MONOTONIC, in nanoseconds.
func offset() int64 {
	offsetMu.Lock()
	defer offsetMu.Unlock()
	if now := time.Now(); offsetRead.IsZero() || now.Sub(offsetRead) >= offsetEvery {
		var r, m unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		offsetNs, offsetRead = r.Nano()-m.Nano(), now
	}
	return offsetNs
}

// monoNow is CLOCK_MONOTONIC, the trace clock "mono".
func monoNow() time.Duration { return toMono(time.Now()) }

// toMono converts t, a wall-clock time (a live capture's timestamp), to
// CLOCK_MONOTONIC, with the clocks' offset as it is now.
func toMono(t time.Time) time.Duration { return time.Duration(t.UnixNano() - offset()) }
