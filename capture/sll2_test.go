package capture

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestAnySLL2Fixture reads testdata/any-sll2.pcap, real traffic written by
// `tcpdump -i any` (testdata/gen-any-sll2.sh): a SYN to a closed port on
// 127.0.0.1 and on ::1, each answered by the kernel's RST+ACK with seq 0,
// ack = SYN seq + 1 (RFC 9293 §3.10.7.1) and TTL/hop limit 64. The
// checksums in the file are wrong (offloaded on loopback) and must not
// matter.
func TestAnySLL2Fixture(t *testing.T) {
	src, err := Open("testdata/any-sll2.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if lt := src.(*File).LinkType(); lt != layers.LinkTypeLinuxSLL2 {
		t.Fatalf("link type %v, want Linux SLL2", lt)
	}
	pkts, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 4 {
		t.Fatalf("%d packets, want 4", len(pkts))
	}
	for i, host := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")} {
		syn, rst := pkts[2*i], pkts[2*i+1]
		if syn.Frame != uint64(2*i+1) || rst.Frame != uint64(2*i+2) {
			t.Errorf("%v: frames %d, %d", host, syn.Frame, rst.Frame)
		}
		if syn.Flags != SYN || syn.Src != host || syn.DstAddrPort() != netip.AddrPortFrom(host, 9) || syn.TTL != 64 {
			t.Errorf("%v: first packet %v %v -> %v ttl %d, want SYN to port 9", host, syn.Flags, syn.SrcAddrPort(), syn.DstAddrPort(), syn.TTL)
		}
		if syn.Options&(1<<2) == 0 {
			t.Errorf("%v: SYN options %#x lack MSS", host, syn.Options)
		}
		if rst.Flags != RST|ACK || rst.SrcAddrPort() != syn.DstAddrPort() || rst.DstAddrPort() != syn.SrcAddrPort() ||
			rst.Seq != 0 || rst.Ack != syn.Seq+1 || rst.TTL != 64 || rst.Window != 0 {
			t.Errorf("%v: second packet %v %v -> %v seq %d ack %d ttl %d win %d, want the kernel's RST+ACK",
				host, rst.Flags, rst.SrcAddrPort(), rst.DstAddrPort(), rst.Seq, rst.Ack, rst.TTL, rst.Window)
		}
		if host.Is4() != rst.HasIPID {
			t.Errorf("%v: HasIPID %v", host, rst.HasIPID)
		}
	}
}
