package capture

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// withIPID returns a copy of the IPv4 packet ip with IP ID id (the header
// checksum is left stale: the decoder does not check it).
func withIPID(ip []byte, id uint16) []byte {
	ip = bytes.Clone(ip)
	binary.BigEndian.PutUint16(ip[4:], id)
	return ip
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFrames reads data to its end and returns the frame numbers of the
// TCP segments and the final counters.
func readFrames(t *testing.T, data []byte, opts Options) ([]uint64, Stats) {
	t.Helper()
	src, err := NewReader(bytes.NewReader(data), "dup", opts)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var frames []uint64
	for _, p := range pkts {
		frames = append(frames, p.Frame)
	}
	return frames, src.Stats()
}

// TestDuplicates: a packet recorded on two interfaces within a millisecond
// is returned once, and counted; a retransmission (a new IP ID), a copy
// too late, or the same packet twice on one link is returned each time;
// KeepDuplicates returns everything.
func TestDuplicates(t *testing.T) {
	t0 := time.Unix(1.7e9, 0)
	v4, v6 := v4Get(t), v6Syn(t)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	sll2 := func(ifindex uint32, pkttype byte, ip []byte, et layers.EthernetType) []byte {
		h := sll2Header(et, ifindex)
		h[10] = pkttype
		return cat(h, ip)
	}
	sll := func(pkttype uint16, ip []byte) []byte {
		h := sllHeader(layers.EthernetTypeIPv4)
		binary.BigEndian.PutUint16(h, pkttype)
		return cat(h, ip)
	}
	lower := withIPID(v4, 0x1234) // the same packet, one hop later: TTL 60
	lower[8] = 60
	ipid0 := withIPID(v4, 0)
	tests := []struct {
		name  string
		data  []byte
		want  []uint64 // frames returned
		dups  uint64
		notes string
	}{
		{"sll2 -i any: in on eth0, out on eth1, TTL lowered", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, []rec{
			{data: sll2(2, 0, v4, layers.EthernetTypeIPv4), ts: at(0)},
			{data: sll2(3, 4, lower, layers.EthernetTypeIPv4), ts: at(40)},
			{data: sll2(2, 0, v6, layers.EthernetTypeIPv6), ts: at(100)},
			{data: sll2(3, 4, v6, layers.EthernetTypeIPv6), ts: at(130)},
		}), []uint64{1, 3}, 2, "IPv4 and IPv6 copies on another interface"},
		{"sll2: same interface and direction", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, []rec{
			{data: sll2(2, 0, v4, layers.EthernetTypeIPv4), ts: at(0)},
			{data: sll2(2, 0, v4, layers.EthernetTypeIPv4), ts: at(10)},
		}), []uint64{1, 2}, 0, "no proof of two links"},
		{"sll2: retransmission and late copy", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, []rec{
			{data: sll2(2, 0, v4, layers.EthernetTypeIPv4), ts: at(0)},
			{data: sll2(3, 4, withIPID(v4, 0x1235), layers.EthernetTypeIPv4), ts: at(10)},
			{data: sll2(3, 4, v4, layers.EthernetTypeIPv4), ts: at(1500)},
		}), []uint64{1, 2, 3}, 0, "a new IP ID; 1.5 ms later"},
		{"sll2: copy first in the file, 0.5 ms earlier", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, []rec{
			{data: sll2(2, 0, v4, layers.EthernetTypeIPv4), ts: at(500)},
			{data: sll2(3, 4, v4, layers.EthernetTypeIPv4), ts: at(0)},
			{data: sll2(4, 4, v4, layers.EthernetTypeIPv4), ts: at(700)},
		}), []uint64{1}, 2, "either order; a third copy"},
		{"sll v1: same packet type", classicPcap(binary.LittleEndian, true, layers.LinkTypeLinuxSLL, 65535, []rec{
			{data: sll(0, v4), ts: at(0)},
			{data: sll(0, v4), ts: at(20)},
			{data: sll(0, ipid0), ts: at(100)},
			{data: sll(0, ipid0), ts: at(120)},
			{data: sll(4, ipid0), ts: at(140)},
		}), []uint64{1, 3, 4}, 2, "IPv4 IP ID; IP ID 0 only from another packet type"},
		{"pcapng: two Ethernet interfaces", pcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeEthernet}, []rec{
			{data: cat(ethHdr(layers.EthernetTypeIPv6), v6), ts: at(0)},
			{data: cat(ethHdr(layers.EthernetTypeIPv6), v6), ts: at(5), iface: 1},
		}), []uint64{1}, 1, "another interface"},
		{"one Ethernet link", classicPcap(binary.LittleEndian, true, layers.LinkTypeEthernet, 65535, []rec{
			{data: cat(ethHdr(layers.EthernetTypeIPv4), v4), ts: at(0)},
			{data: cat(ethHdr(layers.EthernetTypeIPv4), v4), ts: at(1)},
		}), []uint64{1, 2}, 0, "a mirror's copy or a sender's repeat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames, st := readFrames(t, tc.data, Options{})
			if !slices.Equal(frames, tc.want) || st.Duplicates != tc.dups {
				t.Errorf("%s: frames %v, %d duplicates; want %v, %d", tc.notes, frames, st.Duplicates, tc.want, tc.dups)
			}
			if st.TCP+st.NotTCP+st.Undecodable+st.Filtered+st.Duplicates != st.Frames {
				t.Errorf("stats do not add up: %+v", st)
			}
			all, st := readFrames(t, tc.data, Options{KeepDuplicates: true})
			if len(all) != int(st.Frames) || st.Duplicates != 0 {
				t.Errorf("KeepDuplicates: frames %v, %d duplicates; want every frame", all, st.Duplicates)
			}
		})
	}
}
