package rstanalysis

import (
	"cmp"
	"fmt"
	"slices"
)

// cause names the likely reason for RST packet g judged jd, base the
// sighting whose judgement it carries.
func (j *joint) cause(g *rstGroup, jd judgement, base sight) Cause {
	switch jd.k {
	case kindSender:
		for _, s := range g.sights { // the sender's own view first
			if kindOf(s.v) == kindSender && j.atHost(g.jc, s.in, g.dir) {
				return s.v.Cause
			}
		}
		if kindOf(base.v) == kindSender {
			return base.v.Cause
		}
		return endpointCause(base.v.Phase, base.v.From == Server, &pending{})
	case kindMiddlebox:
		return j.middleboxCause(g, jd, base)
	}
	return base.v.Cause
}

// middleboxCause: a device that let the receiver's last data through to
// the sender's side and still forged a RST is an injector; one that
// stopped it, a firewall (or a NAT that forgot an idle flow).
func (j *joint) middleboxCause(g *rstGroup, jd judgement, base sight) Cause {
	for _, s := range g.sights {
		if s.v.Phase == PhaseIdle || s.v.Cause == CauseIdleTimeout {
			return CauseIdleTimeout
		}
	}
	if f := jd.cover; f >= 0 && g.jc != nil {
		cf, recv := g.jc.c[f], g.dir.Peer()
		for _, s := range g.sights {
			if s.seg == nil || !s.seg.peerSent || cf == nil || !cf.sent[recv] {
				continue
			}
			c := g.jc.c[s.in]
			data := !c.hasISN[recv] || s.seg.peerTop-c.isn[recv] > 1
			if data && int32(cf.top[recv]-s.seg.peerTop) >= 0 {
				return CauseInjected
			}
			return CauseFirewallReject
		}
	}
	for _, s := range g.sights {
		if s.v.Cause == CauseInjected {
			return CauseInjected
		}
	}
	if kindOf(base.v) == kindMiddlebox {
		return base.v.Cause
	}
	return CauseFirewallReject
}

// events regroups the sightings into events: packets that one input put
// in one event and that have the same origin stay together, across inputs
// through their sightings, so that no event holds two origins. Events are
// numbered 1, 2, … in order of their first sighting on the first input's
// clock; Relation is rewritten where the event's first RST changed.
func (j *joint) events(groups []*rstGroup) {
	parent := make([]int, len(groups))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	type fileEvent struct {
		in     int
		event  uint64
		origin Origin
	}
	byKey := map[fileEvent]int{}
	type frameKey struct {
		in    int
		frame uint64
	}
	groupOf := map[frameKey]int{}
	for gi, g := range groups {
		for _, s := range g.sights {
			groupOf[frameKey{s.in, s.v.Frame}] = gi
			ev := s.v.Event
			if ev == 0 {
				ev = s.v.Frame
			}
			k := fileEvent{s.in, ev, s.v.Origin}
			if o, ok := byKey[k]; ok {
				parent[find(gi)] = find(o)
			} else {
				byKey[k] = gi
			}
		}
	}
	members := map[int][]int{}
	for gi := range groups {
		r := find(gi)
		members[r] = append(members[r], gi)
	}
	order := func(a, b int) int {
		ga, gb := groups[a], groups[b]
		if c := ga.t.Compare(gb.t); c != 0 {
			return c
		}
		if c := cmp.Compare(ga.sights[0].in, gb.sights[0].in); c != 0 {
			return c
		}
		return cmp.Compare(ga.sights[0].v.Frame, gb.sights[0].v.Frame)
	}
	var evs [][]int
	for _, m := range members {
		slices.SortFunc(m, order)
		evs = append(evs, m)
	}
	slices.SortFunc(evs, func(a, b []int) int { return order(a[0], b[0]) })
	for n, m := range evs {
		first := groups[m[0]]
		for k, gi := range m {
			for _, s := range groups[gi].sights {
				j.relate(s, k == 0, first, find(gi), func(in int, frame uint64) (int, bool) {
					o, ok := groupOf[frameKey{in, frame}]
					return find(o), ok
				})
				s.v.Event = uint64(n + 1)
			}
		}
	}
}

// relate sets the Relation of sighting s of an event whose first packet is
// first (lead: s is a sighting of it); ev is the event's root, eventOf
// finds the event of an input's frame.
func (j *joint) relate(s sight, lead bool, first *rstGroup, ev int, eventOf func(int, uint64) (int, bool)) {
	v := s.v
	if lead {
		v.Relation = ""
		return
	}
	if v.Relation != "" && v.Event != 0 {
		if e, ok := eventOf(s.in, v.Event); ok && e == ev {
			return // the input's own account still holds
		}
	}
	f := first.sights[0]
	v.Relation = fmt.Sprintf("follows the event's first RST (%s frame %d)", j.name(f.in), f.v.Frame)
}
