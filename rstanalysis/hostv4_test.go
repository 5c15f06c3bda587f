package rstanalysis

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
)

// TestV4TableParts feeds SYNs without IP IDs (a host part alone), ACKs
// with IP IDs (a profile alone) and SYNs with IP IDs (both) from more
// than maxHosts IPv4 addresses, overlapping: each part must start afresh
// past maxHosts on its own count, as if it had a table of its own, and
// the records, their count and the index's dead marks must agree
// throughout, across the index's growth and the records' chunks.
func TestV4TableParts(t *testing.T) {
	h := NewHosts()
	hostRef := map[uint32]uint64{} // address: frame of its latest SYN
	ipidRef := map[uint32]uint16{} // address: packets with an ID
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	dst := netip.MustParseAddr("192.0.2.1")
	span := maxHosts + maxHosts/2 + 7 // prime to 3, so that every address comes
	hostStarts, ipidStarts, starts, deadAtStarts := 0, 0, 0, 0
	for f := 1; f <= 4*span; f++ {
		i := (f * 7919) % span
		if f%3 == 0 {
			i = maxHosts/4 + f%40 // a few busy hosts, with both parts
		}
		p := &capture.Packet{Frame: uint64(f), Time: t0.Add(time.Duration(f) * time.Microsecond), Src: addr(i), Dst: dst,
			SrcPort: uint16(1024 + f%5), DstPort: 443, TTL: 64, IPID: uint16(f * 7), Flags: capture.ACK}
		a := v4Key(p.Src)
		if i < maxHosts+maxHosts/8 { // the last addresses send no SYN
			p.Flags = capture.SYN
			if _, ok := hostRef[a]; !ok && len(hostRef) >= maxHosts {
				clear(hostRef)
				hostStarts++
			}
			hostRef[a] = uint64(f)
		}
		if p.HasIPID = i >= maxHosts/4; p.HasIPID { // the first quarter sends no ID
			if _, ok := ipidRef[a]; !ok && len(ipidRef) >= maxHosts {
				clear(ipidRef)
				ipidStarts++
			}
			ipidRef[a]++
		}
		h.Observe(p)
		if hostStarts+ipidStarts != starts {
			starts = hostStarts + ipidStarts
			h.applyIPIDs()
			deadAtStarts += checkV4Index(t, &h.hosts4)
		}
		if f%1009 != 0 {
			continue
		}
		h.applyIPIDs()
		for _, j := range []int{i, (i + 1) % span, (i + span/2) % span} {
			b := v4Key(addr(j))
			got, ok := h.host(addr(j))
			want, wantOK := hostRef[b]
			if ok != wantOK || got.frame != want {
				t.Fatalf("frame %d, host %d: entry of frame %d (%v), want %d (%v)", f, j, got.frame, ok, want, wantOK)
			}
			in, ok := h.ipidSnapshot(addrOf(addr(j)))
			n, wantOK := ipidRef[b]
			if ok != wantOK || !in.dead() && in.n != n {
				t.Fatalf("frame %d, host %d: profile of %d packets (%v), want %d (%v)", f, j, in.n, ok, n, wantOK)
			}
		}
	}
	if hostStarts == 0 || ipidStarts == 0 || deadAtStarts == 0 {
		t.Fatalf("fresh starts: %d of the hosts, %d of the profiles, %d dead profiles kept; want some of each", hostStarts, ipidStarts, deadAtStarts)
	}
	h.applyIPIDs()
	tab := &h.hosts4
	if tab.hosts != len(hostRef) || tab.ipids != len(ipidRef) {
		t.Errorf("%d host parts and %d profiles, want %d and %d", tab.hosts, tab.ipids, len(hostRef), len(ipidRef))
	}
	union := len(hostRef)
	for a := range ipidRef {
		if _, ok := hostRef[a]; !ok {
			union++
		}
	}
	if tab.n != union {
		t.Errorf("%d records, want %d", tab.n, union)
	}
	checkV4Index(t, tab)
	t.Logf("fresh starts: %d of the hosts, %d of the profiles; %d records in %d chunks", hostStarts, ipidStarts, tab.n, len(tab.recs))
}

// TestHostPartPacks: an entry survives packing into a record's 24 bytes.
func TestHostPartPacks(t *testing.T) {
	for _, in := range []hostInfo{
		{frame: 1<<40 + 3, rtt: 90 * time.Second, ttl: 255, server: true, macs: 2, mac: [6]byte{1, 2, 3, 4, 5, 6}},
		{frame: 7, ttl: 1, macs: 1},
	} {
		hp := packHost(&in)
		if got, ok := hp.info(); !ok || got != in {
			t.Errorf("%+v packed and unpacked: %+v (%v)", in, got, ok)
		}
	}
	if _, ok := (&hostPart{}).info(); ok {
		t.Error("an empty part unpacks to an entry")
	}
}

// checkV4Index wants each record in tab's index, under its address, and
// marked dead if and only if its profile is; it returns the dead ones.
func checkV4Index(t *testing.T, tab *v4Table) int {
	t.Helper()
	slots := 0
	for _, s := range tab.index {
		if s.ref == 0 {
			continue
		}
		slots++
		r := tab.at(s.ref)
		if r.ipid.addr != s.addr || (s.ref&v4Dead != 0) != r.ipid.dead() {
			t.Fatalf("slot of %#x: record of %#x, marked dead %v, dead %v", s.addr, r.ipid.addr, s.ref&v4Dead != 0, r.ipid.dead())
		}
	}
	nd := 0
	for i := range tab.n {
		if tab.at(uint32(i + 1)).ipid.dead() {
			nd++
		}
	}
	if slots != tab.n {
		t.Errorf("%d index slots in use, want %d", slots, tab.n)
	}
	return nd
}
