package rstanalysis

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/flows"
)

// reviser is hindsight for a live capture, where a verdict is wanted as
// its RST happens: it emits every verdict at once, and keeps for
// Config.Revise of capture time those that lacked a reference for their
// sender (pending.held: no packet of it to compare the RST's TTL with, no
// RTT to time a refusal against). When the host table learns that sender
// from a later connection, the verdict is decided again (pending.rejudge)
// and, if its origin, cause or confidence changed, emitted again with the
// next Verdict.Revision. What the table learnt before the verdict went
// out counts in its first issue. At most maxRevisable verdicts are kept:
// past it the oldest is no longer revised. It runs where the host table
// lives: the Analyzer's goroutine, or the reading goroutine of Sharded.
type reviser struct {
	hosts  *Hosts
	window time.Duration
	kept   []revisable // in capture order, from head
	head   int
	seen   uint64    // hosts.learned when the kept verdicts were last looked at
	now    time.Time // the latest capture time seen
	emit   func(*Verdict)
}

// revisable is a verdict emitted that may still be revised.
type revisable struct {
	pd       *pending
	sender   netip.Addr
	ttl, rtt bool // the TTL and the RTT learnt of sender are in the verdict
}

// maxRevisable bounds the verdicts kept for a revision.
const maxRevisable = 1024

// add emits the next verdict, and keeps it if a later connection may
// settle it.
func (r *reviser) add(v *Verdict) {
	pd := v.held
	if pd == nil {
		r.emit(v)
		return
	}
	pd.v.held = nil
	k := revisable{pd: pd, sender: v.Server.Addr()}
	if v.From == Client {
		k.sender = v.Client.Addr()
	}
	r.settle(&k)
	r.emit(&pd.v)
	if k.done() {
		return
	}
	if len(r.kept)-r.head >= maxRevisable {
		r.kept[r.head] = revisable{}
		r.head++
	}
	if r.head > 0 && r.head >= len(r.kept)/2 { // reuse the front
		n := copy(r.kept, r.kept[r.head:])
		clear(r.kept[n:])
		r.kept, r.head = r.kept[:n], 0
	}
	r.kept = append(r.kept, k)
}

// advance moves capture time to now: it forgets the verdicts older than the
// window and, when the host table learnt something since it last looked,
// revises those it settles.
func (r *reviser) advance(now time.Time) {
	if now.After(r.now) {
		r.now = now
	}
	for r.head < len(r.kept) && (r.kept[r.head].pd == nil || r.now.Sub(r.kept[r.head].pd.v.Time) >= r.window) {
		r.kept[r.head] = revisable{}
		r.head++
	}
	if r.head == len(r.kept) {
		r.kept, r.head = r.kept[:0], 0
	}
	if r.hosts.learned == r.seen {
		return
	}
	r.seen = r.hosts.learned
	for i := r.head; i < len(r.kept); i++ {
		k := &r.kept[i]
		if k.pd == nil {
			continue
		}
		was := Was{Origin: k.pd.v.Origin, Cause: k.pd.v.Cause, Confidence: k.pd.v.Confidence}
		if !r.settle(k) {
			continue
		}
		v := &k.pd.v
		if now := (Was{Origin: v.Origin, Cause: v.Cause, Confidence: v.Confidence}); now != was {
			v.Revision++
			v.Was = was
			r.emit(v)
		}
		if k.done() {
			k.pd = nil
		}
	}
}

// settle decides k's verdict again if the host table learnt, up to the
// latest capture time within the window, a reference for its sender that the verdict lacks;
// it reports whether it did.
func (r *reviser) settle(k *revisable) bool {
	until := r.now
	if end := k.pd.v.Time.Add(r.window); end.Before(until) {
		until = end
	}
	_, _, ttlOK, rttOK := r.hosts.since(k.sender, flows.NanosOf(until), 0)
	if ttlOK == k.ttl && rttOK == k.rtt {
		return false
	}
	k.ttl, k.rtt = ttlOK, rttOK
	k.pd.rejudge(r.hosts, k.sender, until, 0)
	return true
}

// done reports whether nothing more can settle k's verdict.
func (k *revisable) done() bool {
	return !k.pd.noTTLRef && !k.pd.waitsForClock() || k.ttl && k.rtt
}
