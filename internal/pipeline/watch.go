package pipeline

import (
	"net"
	"time"
)

// ifaceCheckEvery is how often the loop looks whether the watched
// interface is still up (an RTM_GETLINK request).
const ifaceCheckEvery = 2 * time.Second

// ifaceWatch tells when an interface that was up goes down.
type ifaceWatch struct {
	name  string
	wasUp bool
	next  time.Time
}

// newIfaceWatch watches name; "any" and interfaces the process cannot see
// are never reported down.
func newIfaceWatch(name string) *ifaceWatch {
	w := &ifaceWatch{name: name}
	if name != "any" {
		w.wasUp = isUp(name)
	}
	return w
}

// down reports, at most every ifaceCheckEvery, whether the interface was
// up when the capture started and is no longer. A nil *ifaceWatch watches
// nothing.
func (w *ifaceWatch) down(now time.Time) bool {
	if w == nil || !w.wasUp || now.Before(w.next) {
		return false
	}
	w.next = now.Add(ifaceCheckEvery)
	ifi, err := net.InterfaceByName(w.name)
	if err != nil {
		return false // gone: libpcap reports that itself
	}
	return ifi.Flags&net.FlagUp == 0
}

func isUp(name string) bool {
	ifi, err := net.InterfaceByName(name)
	return err == nil && ifi.Flags&net.FlagUp != 0
}
