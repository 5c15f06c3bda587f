package rstanalysis

import (
	"fmt"
	"path/filepath"
	"time"
)

// Sighting is one capture's record of a RST packet: the input and the
// packet's frame in it.
type Sighting struct {
	File  string
	Frame uint64
}

// The roles an input can have, for JointConfig.Roles and
// InputAlignment.Role: where the capture was taken.
const (
	RoleClient = "client" // on the client host
	RoleRouter = "router" // on the path
	RoleServer = "server" // on the server host
)

// JointConfig tunes Joint.
type JointConfig struct {
	// Roles gives, per input in the order of the traces, where it was
	// captured (RoleClient, RoleRouter, RoleServer), overriding what the
	// hop counts suggest; "" or a missing entry infers it.
	Roles []string
}

// InputAlignment is what Joint found of one input: its clock and the
// connections it shares with the other inputs.
type InputAlignment struct {
	File string
	// Role is where the input was captured: given (JointConfig.Roles) or
	// inferred from the hop counts of its connections; "" when unknown.
	Role string
	// Offset is the input's clock minus the first input's, estimated from
	// the packets both captured (NTP-style: a packet that travels from
	// vantage X to Y bounds the offset of Y from above, one from Y to X
	// from below); the estimate is the middle of the bounds. Zero for the
	// first input.
	Offset time.Duration
	// Uncertainty is half the width of the bounds on Offset: at most the
	// one-way delay between the two vantage points.
	Uncertainty time.Duration
	// Aligned is false when the matched packets did not bound Offset from
	// both sides (Offset is then a one-sided bound, or 0 when nothing was
	// matched): times of this input are compared as recorded.
	Aligned bool
	// Matched and Unmatched count the input's connections found, or not
	// found, in at least one other input.
	Matched, Unmatched int
}

// PairMatch counts the connections of inputs A and B (indices) found in
// both, and in only one of them.
type PairMatch struct {
	A, B                  int
	Matched, OnlyA, OnlyB int
}

// JointResult is what Joint reports besides the verdicts it rewrote.
type JointResult struct {
	Inputs []InputAlignment
	Pairs  []PairMatch
	// Connections is the number of distinct connections the inputs traced:
	// one seen in several inputs counts once.
	Connections int
	// Warnings are one-line notes for the summary.
	Warnings []string
}

// joint is one Joint run.
type joint struct {
	traces     []*Trace
	roles      []string // per input, given or inferred
	given      []bool
	jconns     []*jconn
	paths      map[pathKey]*pathStat
	order      map[pathKey]int           // nearer, by jc and inputs a < b
	anyD       map[pathKey]time.Duration // a timestamp difference of a packet inputs a < b both saw
	pairs      map[[2]int]pairPath       // fastest, by inputs from and to
	inputOrder map[[2]int]int            // inputNearer, by inputs a < b
	off        []time.Duration           // per input, its clock minus the first input's
	unc        []time.Duration
	align      []bool
	byFile     []map[uint64]*Verdict // per input, its verdicts by frame
	res        JointResult
}

// jconn is one connection as the inputs saw it: its traced connection in
// each input, nil where it was not seen.
type jconn struct {
	c  []*traceConn
	id int // 1, 2, … in the order the inputs first show it: Verdict.Conn
}

// ref is the first input's view of jc.
func (jc *jconn) ref() *traceConn {
	for _, c := range jc.c {
		if c != nil {
			return c
		}
	}
	return nil
}

// inputs is the number of inputs that saw jc.
func (jc *jconn) inputs() int {
	n := 0
	for _, c := range jc.c {
		if c != nil {
			n++
		}
	}
	return n
}

// Joint judges the RSTs of several captures of one incident together.
// traces[i] and verdicts[i] are the Trace and the verdicts of input i, the
// first input's clock the reference. It matches each connection across the
// inputs (the same 5-tuple and initial sequence numbers, or through NAT the
// same ISN pair and payload), estimates each input's clock offset from the
// packets both of two inputs captured, finds the sightings of each RST
// packet in every input, and judges each packet once with every vantage
// point's evidence (the rules joint.*): every verdict of a packet gets the
// same Origin, Confidence, Cause and Findings, and Sightings lists them
// all. Event becomes a number shared by the sightings of one event in every
// input (1, 2, … in order of first sighting on the aligned clock), and no
// event holds RSTs of two origins. The verdicts are rewritten in place.
func Joint(traces []*Trace, verdicts [][]*Verdict, cfg JointConfig) JointResult {
	j := &joint{traces: traces, paths: map[pathKey]*pathStat{}, order: map[pathKey]int{}, anyD: map[pathKey]time.Duration{}}
	n := len(traces)
	j.roles, j.given = make([]string, n), make([]bool, n)
	for i := range n {
		if i < len(cfg.Roles) && cfg.Roles[i] != "" {
			j.roles[i], j.given[i] = cfg.Roles[i], true
		} else {
			j.roles[i] = inferRole(traces[i])
		}
	}
	j.byFile = make([]map[uint64]*Verdict, n)
	for i := range n {
		j.byFile[i] = map[uint64]*Verdict{}
		if i < len(verdicts) {
			for _, v := range verdicts[i] {
				j.byFile[i][v.Frame] = v
			}
		}
	}
	j.match()
	j.res.Connections = len(j.jconns)
	j.clocks()
	groups := j.sightings(verdicts)
	for _, g := range groups {
		j.judge(g)
	}
	j.events(groups)
	j.report()
	return j.res
}

// report fills the per-input part of the result.
func (j *joint) report() {
	for i, t := range j.traces {
		a := InputAlignment{File: t.File, Role: j.roles[i], Offset: j.off[i], Uncertainty: j.unc[i], Aligned: j.align[i]}
		for _, jc := range j.jconns {
			if jc.c[i] == nil {
				continue
			}
			if jc.inputs() > 1 {
				a.Matched++
			} else {
				a.Unmatched++
			}
		}
		j.res.Inputs = append(j.res.Inputs, a)
	}
	for a := range j.traces {
		for b := a + 1; b < len(j.traces); b++ {
			p := PairMatch{A: a, B: b}
			for _, jc := range j.jconns {
				switch ca, cb := jc.c[a] != nil, jc.c[b] != nil; {
				case ca && cb:
					p.Matched++
				case ca:
					p.OnlyA++
				case cb:
					p.OnlyB++
				}
			}
			j.res.Pairs = append(j.res.Pairs, p)
		}
	}
}

// inferRole says where input t was captured, from the hop counts of its
// connections' endpoints: the host whose packets arrive unrouted (0 hops)
// in most connections, else on the path.
func inferRole(t *Trace) string {
	var cl, sv, path int
	for _, c := range t.conns {
		switch ch, sh := c.hops(Client), c.hops(Server); {
		case ch == 0 && sh != 0:
			cl++
		case sh == 0 && ch != 0:
			sv++
		case ch > 0 && sh > 0:
			path++
		}
	}
	switch {
	case cl > sv && cl >= path && cl > 0:
		return RoleClient
	case sv > cl && sv >= path && sv > 0:
		return RoleServer
	case path > 0:
		return RoleRouter
	}
	return ""
}

// roleRank places a role on the path from the client (0) to the server
// (2); -1 when unknown.
func roleRank(role string) int {
	switch role {
	case RoleClient:
		return 0
	case RoleRouter:
		return 1
	case RoleServer:
		return 2
	}
	return -1
}

// name is input i's file name without its directory, for texts.
func (j *joint) name(i int) string {
	if f := j.traces[i].File; f != "" {
		return filepath.Base(f)
	}
	return fmt.Sprintf("input %d", i+1)
}

// atHost reports whether input i was captured on the host of side d of jc.
func (j *joint) atHost(jc *jconn, i int, d Side) bool {
	if j.given[i] {
		return j.roles[i] == RoleClient && d == Client || j.roles[i] == RoleServer && d == Server
	}
	if c := jc.c[i]; c != nil && c.hasTTL[d] {
		return c.hops(d) == 0
	}
	return j.roles[i] == RoleClient && d == Client || j.roles[i] == RoleServer && d == Server
}

// Related reports whether the traces are captures of one incident taken
// at different places: whether some connection shows in two of them with
// packets in common both ways (the same segments: direction, flags, seq,
// ack, length, IP ID; a RST counts as a segment here, so a refusal's SYN
// and RST relate two captures). Files that share no such packets, as the
// files a rotating capture (tcpdump -C, -G) wrote one after another at
// one place (a duplicate ACK on each side of the cut goes one way only) or
// captures of unrelated incidents, are not: read them one by one, without
// Joint.
func Related(traces []*Trace) bool {
	j := &joint{traces: traces}
	j.match()
	for _, jc := range j.jconns {
		for a := range jc.c {
			for b := a + 1; b < len(jc.c); b++ {
				if jc.c[a] != nil && jc.c[b] != nil && sharedBothWays(jc.c[a], jc.c[b]) {
					return true
				}
			}
		}
	}
	return false
}

// sharedBothWays reports whether ca and cb recorded a packet in common
// from each side.
func sharedBothWays(ca, cb *traceConn) bool {
	var way [2]bool
	pairSegs(ca, cb, func(sa, _ *traceSeg) { way[sa.dir] = true })
	for i := range ca.rsts {
		for k := range cb.rsts {
			ra, rb := &ca.rsts[i], &cb.rsts[k]
			if sameRSTFields(ra, rb) {
				way[ra.dir] = true
			}
		}
	}
	return way[Client] && way[Server]
}
