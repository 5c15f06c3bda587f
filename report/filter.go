package report

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// Filter selects reset events by the verdict of their first RST. Within
// each list any entry matches; an empty list matches everything. An event
// is kept whole: its follow-up RSTs go with their first, whatever their
// own verdicts.
type Filter struct {
	Origins []rstanalysis.Origin
	Causes  []rstanalysis.Cause
	Servers []ServerMatch
}

// ServerMatch matches a server endpoint: its address within Prefix and,
// unless Port is 0, its port.
type ServerMatch struct {
	Prefix netip.Prefix
	Port   uint16
}

// IsZero reports whether f keeps everything.
func (f Filter) IsZero() bool {
	return len(f.Origins) == 0 && len(f.Causes) == 0 && len(f.Servers) == 0
}

// Match reports whether f keeps an event whose first RST is v.
func (f Filter) Match(v *rstanalysis.Verdict) bool {
	if len(f.Origins) > 0 && !slices.Contains(f.Origins, v.Origin) {
		return false
	}
	if len(f.Causes) > 0 && !slices.Contains(f.Causes, v.Cause) {
		return false
	}
	if len(f.Servers) == 0 {
		return true
	}
	for _, m := range f.Servers {
		if m.Prefix.Contains(v.Server.Addr().Unmap()) && (m.Port == 0 || m.Port == v.Server.Port()) {
			return true
		}
	}
	return false
}

// String says what f keeps: "origin middlebox, cause injected or
// idle_timeout, server 10.0.0.0/24".
func (f Filter) String() string {
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, name+" "+strings.Join(vals, " or "))
		}
	}
	var os, cs, ss []string
	for _, o := range f.Origins {
		os = append(os, o.String())
	}
	for _, c := range f.Causes {
		cs = append(cs, c.String())
	}
	for _, s := range f.Servers {
		ss = append(ss, s.String())
	}
	add("origin", os)
	add("cause", cs)
	add("server", ss)
	return strings.Join(parts, ", ")
}

func (m ServerMatch) String() string {
	a := m.Prefix.String()
	if m.Prefix.IsSingleIP() {
		a = m.Prefix.Addr().String()
	}
	if m.Port == 0 {
		return a
	}
	if m.Prefix.Addr().Is6() {
		a = "[" + a + "]"
	}
	return a + ":" + strconv.Itoa(int(m.Port))
}

// ParseOrigin returns the Origin called name ("middlebox").
func ParseOrigin(name string) (rstanalysis.Origin, error) {
	for _, o := range rstanalysis.Origins() {
		if strings.EqualFold(strings.TrimSpace(name), o.String()) {
			return o, nil
		}
	}
	var names []string
	for _, o := range rstanalysis.Origins() {
		names = append(names, o.String())
	}
	return 0, fmt.Errorf("unknown origin %q: use one of %s", name, strings.Join(names, ", "))
}

// ParseCause returns the Cause called name ("idle_timeout").
func ParseCause(name string) (rstanalysis.Cause, error) {
	for _, c := range rstanalysis.Causes() {
		if strings.EqualFold(strings.TrimSpace(name), c.String()) {
			return c, nil
		}
	}
	var names []string
	for _, c := range rstanalysis.Causes() {
		names = append(names, c.String())
	}
	return 0, fmt.Errorf("unknown cause %q: use one of %s", name, strings.Join(names, ", "))
}

// ParseServer reads a server to match: an address ("10.0.0.2",
// "2001:db8::2"), an address and port ("10.0.0.2:443", "[2001:db8::2]:443")
// or a prefix ("10.0.0.0/24").
func ParseServer(s string) (ServerMatch, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return ServerMatch{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return ServerMatch{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
		a := ap.Addr().Unmap()
		return ServerMatch{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: ap.Port()}, nil
	}
	return ServerMatch{}, fmt.Errorf("bad server %q: give an address, address:port or prefix (10.0.0.2, 10.0.0.2:443, [2001:db8::2]:443, 10.0.0.0/24)", s)
}

// filterWriter passes on to w the RSTs of the events f keeps, and tells w
// at Close what was left out.
type filterWriter struct {
	w                  Writer
	f                  Filter
	seed               maphash.Seed
	kept               map[uint64]struct{} // the kept events, by file and first frame
	events, keptEvents int
	rsts, keptRSTs     int
}

func newFilterWriter(w Writer, f Filter) *filterWriter {
	return &filterWriter{w: w, f: f, seed: maphash.MakeSeed(), kept: map[uint64]struct{}{}}
}

func (fw *filterWriter) key(file string, frame uint64) uint64 {
	return maphash.Comparable(fw.seed, struct {
		file  string
		frame uint64
	}{file, frame})
}

func (fw *filterWriter) Write(v *rstanalysis.Verdict) error {
	fw.rsts++
	ev, file := v.Event, v.File
	if isJoint(v) { // events span the inputs
		file = ""
	}
	if !isFollower(v) {
		first := !repeatSighting(v)
		if startsEvent(v) && first {
			fw.events++
		}
		if !isJoint(v) {
			ev = v.Frame
		}
		if !fw.f.Match(v) {
			return nil
		}
		if startsEvent(v) && first {
			fw.keptEvents++
		}
		fw.kept[fw.key(file, ev)] = struct{}{}
	} else if _, ok := fw.kept[fw.key(file, ev)]; !ok {
		return nil
	}
	fw.keptRSTs++
	return fw.w.Write(v)
}

func (fw *filterWriter) Close(s Summary) error {
	s.Filter = fmt.Sprintf("only %s: %s of %s, %s of %s", fw.f, Group(uint64(fw.keptEvents)),
		plural(fw.events, "reset event"), Group(uint64(fw.keptRSTs)), plural(fw.rsts, "RST"))
	return fw.w.Close(s)
}
