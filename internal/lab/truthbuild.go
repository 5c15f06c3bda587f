package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
)

// truthRun is the state of deriving one run's truth.
type truthRun struct {
	res  *Result
	segs map[Vantage][]segment
	// forged are the injector's logged RSTs; seenForged those captured.
	forged, seenForged map[segKey]bool
	// sentBy are the distinct RSTs by true origin.
	sentBy   map[Origin]map[segKey]bool
	designed map[Origin]bool
}

func (tr *truthRun) problem(format string, a ...any) {
	tr.res.Problems = append(tr.res.Problems, fmt.Sprintf(format, a...))
}

// buildTruth labels every RST of every capture of res and records in
// res.Problems every way the run differs from the scenario's design.
func buildTruth(res *Result) error {
	tr := &truthRun{res: res, segs: map[Vantage][]segment{}, forged: map[segKey]bool{},
		seenForged: map[segKey]bool{}, designed: map[Origin]bool{},
		sentBy: map[Origin]map[segKey]bool{OriginClient: {}, OriginServer: {}, OriginMiddlebox: {}}}
	s := res.Scenario
	for _, v := range Vantages {
		var err error
		if tr.segs[v], err = readSegments(filepath.Join(res.Dir, s.CaptureFile(v))); err != nil {
			return err
		}
	}
	if s.NAT != "" {
		nat := natMap(tr.segs[AtRouterIn], tr.segs[AtRouterOut])
		if len(nat) == 0 {
			tr.problem("NAT %s: no connection of router-in found translated at router-out", s.NAT)
		}
		for _, v := range Vantages {
			if s.natted(v) {
				untranslate(tr.segs[v], nat)
			}
		}
	}
	for _, f := range res.Forged {
		src, err1 := netip.ParseAddrPort(f.Src)
		dst, err2 := netip.ParseAddrPort(f.Dst)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("injector log: %w", err)
		}
		tr.forged[segKey{src, dst, f.Seq, f.Ack, f.Flags}] = true
	}
	res.Truth = map[Vantage][]TruthRow{}
	for _, v := range Vantages {
		tr.label(v)
	}
	tr.crossCheck()
	return nil
}

// synKey identifies a client's SYN on both sides of a source NAT: the
// destination, the ISN and the IPv4 ID survive the translation.
type synKey struct {
	dst  netip.AddrPort
	seq  uint32
	ipid uint16
}

// natMap pairs each SYN captured outside the router's NAT with the same SYN
// captured inside it, and returns translated source → client's own source.
// Translations that change nothing are left out.
func natMap(inside, outside []segment) map[netip.AddrPort]netip.AddrPort {
	orig := map[synKey]netip.AddrPort{}
	for _, s := range inside {
		if s.flags == "S" {
			orig[synKey{s.dst, s.seq, s.ipid}] = s.src
		}
	}
	m := map[netip.AddrPort]netip.AddrPort{}
	for _, s := range outside {
		if o, ok := orig[synKey{s.dst, s.seq, s.ipid}]; ok && s.flags == "S" && o != s.src {
			m[s.src] = o
		}
	}
	return m
}

// untranslate rewrites the translated addresses of segs (src and dst, not
// the captured wsrc and wdst) back to the client's own, so that segments
// compare across the NAT.
func untranslate(segs []segment, nat map[netip.AddrPort]netip.AddrPort) {
	for i := range segs {
		if o, ok := nat[segs[i].src]; ok {
			segs[i].src = o
		}
		if o, ok := nat[segs[i].dst]; ok {
			segs[i].dst = o
		}
	}
}

// label appends the truth of every RST captured at v.
func (tr *truthRun) label(v Vantage) {
	s := tr.res.Scenario
	server := s.ServerAddr()
	own := map[string]Vantage{"client": AtClient, "server": AtServer}
	mine := map[int]int{} // frame at v → index in the claimed sender's own capture
	for side, at := range own {
		addr := s.ClientAddr()
		if side == "server" {
			addr = server.Addr()
		}
		for f, i := range matchOwn(tr.segs[v], tr.segs[at], addr) {
			mine[f] = i
		}
	}
	for _, r := range tr.segs[v] {
		if !r.rst {
			continue
		}
		row := TruthRow{Frame: r.frame, From: "client", Flags: r.flags, Seq: r.seq, Ack: r.ack, TTL: r.ttl, Src: r.wsrc, Dst: r.wdst}
		if r.src == server {
			row.From = "server"
		} else if r.dst != server {
			tr.problem("%s frame %d: RST %s → %s is not of the scenario's connection", v, r.frame, r.wsrc, r.wdst)
			continue
		}
		row.Origin = OriginMiddlebox
		if at, ok := mine[r.frame]; ok {
			row.Origin = Origin(row.From)
			row.Secondary = resetBefore(tr.segs[own[row.From]], at, r.conn())
		}
		tr.sentBy[row.Origin][r.key()] = true
		lbl := secondaryLabel(row.Origin)
		if !row.Secondary {
			var ok bool
			if lbl, ok = s.Expect[row.Origin]; !ok {
				tr.problem("%s frame %d: undesigned RST from %s (%s seq %d ack %d)", v, r.frame, row.Origin, r.flags, r.seq, r.ack)
				lbl = Label{Phase: "unknown", Cause: "unknown", Sender: "undesigned"}
			}
			tr.designed[row.Origin] = true
		}
		if row.Origin == OriginMiddlebox && s.Injector != nil {
			if tr.forged[r.key()] {
				tr.seenForged[r.key()] = true
			} else {
				tr.problem("%s frame %d: middlebox RST not in the injector's log", v, r.frame)
			}
		}
		row.Sender, row.Phase, row.Cause = lbl.Sender, lbl.Phase, lbl.Cause
		tr.res.Truth[v] = append(tr.res.Truth[v], row)
	}
}

// crossCheck compares the truth with the scenario's design, the kernels'
// counters, the iptables counters and the injector's log.
func (tr *truthRun) crossCheck() {
	res, s := tr.res, tr.res.Scenario
	for o := range s.Expect {
		if !tr.designed[o] {
			tr.problem("no designed RST from %s was captured", o)
		}
	}
	// Every forged RST must be on the wire where it was sent.
	for k := range tr.forged {
		if !tr.seenForged[k] {
			tr.problem("injector's RST %s → %s seq %d was captured nowhere", k.src, k.dst, k.seq)
		}
	}
	// The kernels' own counts must match the RSTs their own captures show.
	own := map[string]Vantage{"client": AtClient, "server": AtServer}
	for side, role := range map[string]Role{"client": Client, "server": s.Far} {
		addr := s.ClientAddr()
		if side == "server" {
			addr = s.ServerAddr().Addr()
		}
		n := 0
		for _, r := range tr.segs[own[side]] {
			if r.rst && r.src.Addr() == addr {
				n++
			}
		}
		want := n + s.ExtraOutRsts[role]
		if got := res.Counters[role]["TcpOutRsts"]; got != want {
			tr.problem("%s kernel counted %d OutRsts, its capture shows %d RSTs (%d expected unseen)",
				role, got, n, s.ExtraOutRsts[role])
		}
	}
	for _, r := range s.counted() {
		if r != Client && r != s.Far && res.Counters[r]["TcpOutRsts"] != 0 {
			tr.problem("%s kernel sent %d RSTs of its own", r, res.Counters[r]["TcpOutRsts"])
		}
	}
	if s.Injector == nil && len(tr.sentBy[OriginMiddlebox]) != res.RejectPackets {
		tr.problem("iptables REJECT rules counted %d packets, the captures show %d middlebox RSTs",
			res.RejectPackets, len(tr.sentBy[OriginMiddlebox]))
	}
	for _, c := range s.Counters {
		if got := res.Counters[c.Role][c.Name]; got < c.Min {
			tr.problem("%s %s grew by %d, want at least %d", c.Role, c.Name, got, c.Min)
		}
	}
}
