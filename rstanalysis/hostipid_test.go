package rstanalysis

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

// TestIPIDHost: a refused SYN's RST against the server's IPv4 IDs on its
// earlier connections: one counter for all of them (a global counter), all
// zero, or a counter per connection (nothing to say).
func TestIPIDHost(t *testing.T) {
	// build makes five answered connections, one after another, whose
	// server IDs continue one counter (perConn: start afresh on each; zero:
	// all 0), then a refused SYN whose RST has ID rstID(the counter's last).
	build := func(zero bool, perConn bool, rstID func(last uint16) uint16) []capture.Packet {
		var cs []*conv
		id := uint16(5000)
		for i := range 5 {
			c := newConv(uint16(40000 + i))
			c.t0 = t0.Add(time.Duration(i) * 100 * time.Millisecond)
			c.sID = id
			if perConn {
				c.sID = uint16(9000 * (i + 1))
			}
			c.handshake().request()
			id = c.sID
			cs = append(cs, c)
		}
		last := id - 1
		r := newConv(40009)
		r.t0 = t0.Add(600 * time.Millisecond)
		syn := r.cli(capture.SYN, "")
		rst := r.after(20*time.Millisecond).srv(capture.RST|capture.ACK, "")
		rst.Seq, rst.Ack, rst.IPID = 0, syn.Seq+1, rstID(last)
		all := merge(append(cs, r)...)
		if zero {
			for i := range all {
				if all[i].Src == r.server.Addr() && all[i].Flags&capture.RST == 0 {
					all[i].IPID = 0
				}
			}
		}
		return all
	}
	tests := []struct {
		name    string
		zero    bool
		perConn bool
		rstID   func(last uint16) uint16
		rule    RuleID
	}{
		{"global counter, the next ID", false, false, func(l uint16) uint16 { return l + 1 }, RuleIPIDHostFits},
		{"global counter, far behind", false, false, func(l uint16) uint16 { return l - 1000 }, RuleIPIDHostOdd},
		{"global counter, far ahead: the host may have sent unseen", false, false, func(l uint16) uint16 { return l + 5000 }, ""},
		{"all zero, a RST with an ID", true, false, func(uint16) uint16 { return 4242 }, RuleIPIDHostOdd},
		{"all zero, a RST with ID 0", true, false, func(uint16) uint16 { return 0 }, ""},
		{"a counter per connection", false, true, func(l uint16) uint16 { return 777 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := analyze(build(tt.zero, tt.perConn, tt.rstID))
			if len(vs) != 1 {
				t.Fatalf("%d verdicts, want 1", len(vs))
			}
			var got []RuleID
			for _, f := range vs[0].Findings {
				if strings.HasPrefix(string(f.Rule), "ipid.host") {
					got = append(got, f.Rule)
				}
			}
			if tt.rule == "" && len(got) > 0 || tt.rule != "" && (len(got) != 1 || got[0] != tt.rule) {
				t.Errorf("findings %v, want %q:\n  %s", got, tt.rule, strings.Join(vs[0].Texts(), "\n  "))
			}
		})
	}
}

// TestIPIDTable: the profiles' table and the observations waiting to be
// applied give, at every RST's snapshot, the profile a plain map fed packet
// by packet gives, across the table's growth and its fresh start past
// maxHosts hosts; except a dead profile (ipidInfo.dead), which the table
// stops updating: it must be dead there too, and say nothing.
func TestIPIDTable(t *testing.T) {
	h := NewHosts()
	ref := map[hostAddr]ipidInfo{}
	observe := func(p *capture.Packet) { // the profile, without a table
		a := addrOf(p.Src)
		if _, ok := ref[a]; !ok && len(ref) >= maxHosts {
			clear(ref)
		}
		in := ref[a]
		dst := p.Dst.As4()
		conn := p.SrcPort ^ p.DstPort<<3 ^ uint16(dst[2])<<8 ^ uint16(dst[3])
		if in.n > 0 && in.conn != conn && in.cross < ipidSaturate {
			in.cross++
			if step := p.IPID - in.last; step >= 1 && step <= ipidHostStep {
				in.small++
			}
		}
		if in.n < ipidSaturate {
			in.n++
			if p.IPID == 0 {
				in.zeros++
			}
		}
		in.at, in.frame, in.last, in.conn = flows.NanosOf(p.Time), p.Frame, p.IPID, conn
		ref[a] = in
	}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	dst := netip.MustParseAddr("192.0.2.1")
	hosts := maxHosts + 5000
	checked, dead := 0, 0
	for f := 1; f <= 3*hosts; f++ {
		i := (f * 7919) % hosts
		if f%3 == 0 {
			i = f % 40 // a few busy hosts
		}
		p := &capture.Packet{Frame: uint64(f), Time: t0.Add(time.Duration(f) * time.Microsecond),
			Src: addr(i), Dst: dst, SrcPort: uint16(1024 + f%5), DstPort: 443, HasIPID: true, IPID: uint16(f % 7 * 3), Flags: capture.ACK}
		h.Observe(p)
		observe(p)
		if f%997 != 0 {
			continue
		}
		for _, j := range []int{i, f % 40, (i + 1) % hosts} {
			got, gotOK := h.ipidSnapshot(addrOf(addr(j)))
			want, wantOK := ref[addrOf(addr(j))]
			got.addr, want.addr = 0, 0
			if wantOK && want.dead() {
				if !gotOK || !got.dead() || got.zero() || got.global() {
					t.Fatalf("frame %d, host %d: profile %+v (%v), want a dead one like %+v", f, j, got, gotOK, want)
				}
				dead++
				continue
			}
			if gotOK != wantOK || got != want {
				t.Fatalf("frame %d, host %d: profile %+v (%v), want %+v (%v)", f, j, got, gotOK, want, wantOK)
			}
			checked++
		}
	}
	if got, _ := h.ipidSnapshot(addrOf(netip.MustParseAddr("2001:db8::1"))); got.n != 0 {
		t.Errorf("an IPv6 address has a profile: %+v", got)
	}
	if dead == 0 || checked == 0 {
		t.Errorf("%d snapshots of live profiles and %d of dead ones checked, want some of each", checked, dead)
	}
	t.Logf("%d snapshots of live profiles and %d of dead ones checked", checked, dead)
}
