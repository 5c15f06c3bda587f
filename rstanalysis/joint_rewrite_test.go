package rstanalysis_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// rewritePcap copies the Ethernet pcap at in to a new file under dir,
// passing each frame's timestamp and decoded layers through edit, and
// serialises it again with fresh lengths and checksums.
func rewritePcap(t *testing.T, in, dir string, edit func(ci *gopacket.CaptureInfo, ip4 *layers.IPv4, ip6 *layers.IPv6, tcp *layers.TCP)) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, filepath.Base(in))
	o, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := pcapgo.NewWriter(o)
	if err := w.WriteFileHeader(65535, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip4, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ip6, _ := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if eth == nil || tcp == nil || (ip4 == nil) == (ip6 == nil) {
			if err := w.WritePacket(ci, data); err != nil { // not TCP: as it was, timestamp aside
				t.Fatal(err)
			}
			continue
		}
		edit(&ci, ip4, ip6, tcp)
		var net gopacket.NetworkLayer = ip4
		if ip6 != nil {
			net = ip6
		}
		if err := tcp.SetNetworkLayerForChecksum(net); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, net.(gopacket.SerializableLayer), tcp, gopacket.Payload(tcp.Payload)); err != nil {
			t.Fatal(err)
		}
		ci.CaptureLength, ci.Length = len(buf.Bytes()), len(buf.Bytes())
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return outPath
}

// natServerSide rewrites a server-side capture as if a NAT between the
// client and the server had rewritten the client's address and port.
func natServerSide(t *testing.T, in, dir string, client net.IP) string {
	natIP4, natIP6 := net.IPv4(192, 0, 2, 7).To4(), net.ParseIP("2001:db8::7")
	return rewritePcap(t, in, dir, func(_ *gopacket.CaptureInfo, ip4 *layers.IPv4, ip6 *layers.IPv6, tcp *layers.TCP) {
		switch {
		case ip4 != nil && ip4.SrcIP.Equal(client):
			ip4.SrcIP, tcp.SrcPort = natIP4, 40000
		case ip4 != nil && ip4.DstIP.Equal(client):
			ip4.DstIP, tcp.DstPort = natIP4, 40000
		case ip6 != nil && ip6.SrcIP.Equal(client):
			ip6.SrcIP, tcp.SrcPort = natIP6, 40000
		case ip6 != nil && ip6.DstIP.Equal(client):
			ip6.DstIP, tcp.DstPort = natIP6, 40000
		}
	})
}

// shiftPcap rewrites a capture with every timestamp moved by d.
func shiftPcap(t *testing.T, in, dir string, d time.Duration) string {
	return rewritePcap(t, in, dir, func(ci *gopacket.CaptureInfo, _ *layers.IPv4, _ *layers.IPv6, _ *layers.TCP) {
		ci.Timestamp = ci.Timestamp.Add(d)
	})
}
