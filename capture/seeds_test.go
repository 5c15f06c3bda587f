package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The fuzz targets' seeds are the files under testdata/fuzz/<FuzzName>/,
// in Go's corpus format; the fuzzer adds any crasher it finds there. The
// named seeds below are written by
//
//	go test ./capture -run TestFuzzSeeds -update-seeds
//
// and TestFuzzSeeds checks that the committed files still match them.
// Seeds are meant to cover the input space, so TestSeedsAreWhatTheySay
// checks that each one decodes as its name says.
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// Size limits of the committed corpus, in bytes.
const (
	maxSeedFile  = 4 << 10
	maxSeedTotal = 100 << 10
)

// frameSeed is a seed of FuzzDecode and FuzzFastPath: a frame and its link
// type, and what decode must make of it.
type frameSeed struct {
	name  string
	lt    layers.LinkType
	frame []byte
	want  decodeResult
}

// frameSeeds covers every link type, layer and tunnel the decoder
// follows, and frames that are not TCP or are cut short.
func frameSeeds(t testing.TB) []frameSeed {
	v4, v6 := v4Get(t), v6Syn(t)
	later := bytes.Clone(v4)
	later[7] = 1 // fragment offset 8 bytes: no TCP header
	outer := ip4(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 51000, DstPort: 4789}
	udp.SetNetworkLayerForChecksum(outer)
	vxlan := serialize(t, eth(layers.EthernetTypeIPv4), outer, udp,
		&layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(cat(ethHdr(layers.EthernetTypeIPv4), v4)))
	v6ext := func(fragOffset uint16) []byte {
		ip := ip6(layers.IPProtocolIPv6HopByHop)
		return serialize(t, ip, gopacket.Payload(ipv6Ext(fragOffset)), tcpSeg(ip, true, false, false, synOpts))
	}
	fddi := func(ip []byte) []byte {
		return cat([]byte{0x50}, macB, macA, []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, ip)
	}
	seeds := []frameSeed{
		{"eth-ipv4-tcp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv4), v4), resultTCP},
		{"eth-ipv6-tcp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv6), v6), resultTCP},
		{"eth-dot1q-ipv4-tcp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(7, layers.EthernetTypeIPv4), v4), resultTCP},
		{"eth-qinq-ipv6-tcp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeQinQ), vlanTag(1, layers.EthernetTypeDot1Q), vlanTag(2, layers.EthernetTypeIPv6), v6), resultTCP},
		{"eth-mpls-ipv4-tcp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeMPLSUnicast), []byte{0, 1, 1, 64}, v4), resultTCP},
		{"eth-vxlan-ipv4-tcp", layers.LinkTypeEthernet, vxlan, resultTCP},
		{"eth-arp", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeARP), make([]byte, 28)), resultNotTCP},
		{"eth-ipv4-tcp-truncated", layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv4), v4[:30]), resultUndecodable},
		{"sll-ipv4-tcp", layers.LinkTypeLinuxSLL, cat(sllHeader(layers.EthernetTypeIPv4), v4), resultTCP},
		{"sll2-ipv6-tcp", layers.LinkTypeLinuxSLL2, cat(sll2Header(layers.EthernetTypeIPv6, 1), v6), resultTCP},
		{"null-ipv4-tcp", layers.LinkTypeNull, cat([]byte{2, 0, 0, 0}, v4), resultTCP},
		{"loop-ipv6-tcp", layers.LinkTypeLoop, cat([]byte{0, 0, 0, 30}, v6), resultTCP},
		{"fddi-ipv4-tcp", layers.LinkTypeFDDI, fddi(v4), resultTCP},
		{"fddi-truncated", layers.LinkTypeFDDI, fddi(nil)[:18], resultUndecodable},
		{"raw101-ipv6-ext-tcp", layers.LinkTypeRaw, v6ext(0), resultTCP},
		{"raw101-ipv6-later-fragment", layers.LinkTypeRaw, v6ext(185), resultNotTCP},
		// Hop-by-hop header, payload length left at the bare segment's.
		{"raw101-ipv6-hopbyhop-short-plen", layers.LinkTypeRaw, cat(v6[:6], []byte{0, 64}, v6[8:40], []byte{6, 0, 1, 4, 0, 0, 0, 0}, v6[40:]), resultUndecodable},
		{"raw101-ipv4-later-fragment", layers.LinkTypeRaw, later, resultNotTCP},
		{"raw101-ipv4-udp", layers.LinkTypeRaw, rawSeg(t, false, layers.IPProtocolUDP, 5353, 53), resultNotTCP},
		{"raw101-ipv4-tcp-truncated", layers.LinkTypeRaw, v4[:30], resultUndecodable},
		{"raw12-ipv4-tcp", linkTypeDLTRaw, v4, resultTCP},
		{"raw14-ipv6-tcp", linkTypeDLTRawOpenBSD, v6, resultTCP},
		{"ipv4-tcp", layers.LinkTypeIPv4, v4, resultTCP},
		{"ipv6-tcp", layers.LinkTypeIPv6, v6, resultTCP},
		{"ipv6-on-ipv4-link", layers.LinkTypeIPv4, v6, resultUndecodable},
	}
	for _, tf := range tunnelFrames(t) {
		if seededTunnels[tf.name] {
			seeds = append(seeds, frameSeed{"tunnel-" + tf.name, tf.lt, tf.frame, tf.res})
		}
	}
	return seeds
}

// seededTunnels are the tunnel frames (tunnel_test.go) in the seed corpus:
// one per encapsulation, and the ways they end.
var seededTunnels = map[string]bool{
	"gre-csum-key-seq-ipv6": true, "gre-teb-ethernet": true, "gre-pptp-ppp": true,
	"erspan1": true, "erspan2": true, "erspan3-subheader": true, "erspan3-ip-frame": true,
	"geneve-ethernet": true, "vxlan-8472": true, "6in4": true, "ipip-4-deep": true, "ipip-5-deep": true,
	"pppoe-ipv4": true, "pppoe-discovery": true, "llc-snap-ipv4": true, "ppp-link-ipv6-compressed": true,
}

// fileSeed is a seed of FuzzOpen: a whole capture file, the TCP segments
// it holds and whether reading it ends in a *DamageError.
type fileSeed struct {
	name    string
	data    []byte
	tcp     uint64
	damaged bool
}

// fileSeeds covers both containers, both byte orders and timestamp
// resolutions, gzip, mixed and unsupported link types, raw IP, a record
// longer than its packet, a duplicate, and damaged files.
func fileSeeds(t testing.TB) []fileSeed {
	t0 := time.Unix(1.7e9, 0)
	recs := threeRecs(t, t0)
	le, be := binary.LittleEndian, binary.BigEndian
	pc := classicPcap(le, false, layers.LinkTypeEthernet, 65535, recs)
	ng := pcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw},
		append(recs, rec{data: v4Get(t), ts: t0, iface: 1}))
	raw := []rec{{data: v4Get(t), ts: t0}, {data: v6Syn(t), ts: t0.Add(time.Millisecond)}}
	sll2 := []rec{{data: cat(sll2Header(layers.EthernetTypeIPv6, 3), v6Syn(t)), ts: t0}}
	lying := bytes.Clone(pc)
	le.PutUint32(lying[24+8:], 1<<30) // first record's captured length
	return []fileSeed{
		{"pcap-le-usec-ethernet", pc, 2, false},
		{"pcap-be-nsec-sll", classicPcap(be, true, layers.LinkTypeLinuxSLL, 96,
			[]rec{{data: cat(sllHeader(layers.EthernetTypeIPv4), v4Get(t)), ts: t0}}), 1, false},
		{"pcap-raw12", classicPcap(le, false, linkTypeDLTRaw, 65535, raw), 2, false},
		{"pcap-raw14", classicPcap(be, false, linkTypeDLTRawOpenBSD, 65535, raw), 2, false},
		{"pcapng-ethernet-raw101", ng, 3, false},
		{"pcapng-sll2", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, sll2), 1, false},
		{"pcap-gzip", gzipped(t, pc), 2, false},
		{"pcap-truncated", pc[:len(pc)-5], 1, true},
		{"pcap-lying-length", lying, 0, true},
		{"pcapng-truncated", ng[:len(ng)-5], 2, true},
		{"gzip-truncated", gzipped(t, pc)[:40], 0, true},
		{"pcapng-unsupported-link-types", pcapng(t, []layers.LinkType{layers.LinkTypeIEEE802_11, layers.LinkTypeEthernet, 147},
			[]rec{{data: unsupportedFrame, ts: t0}, {data: cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t)), ts: t0, iface: 1},
				{data: unsupportedFrame, ts: t0, iface: 2}}), 1, false},
		{"pcap-over-length", classicPcap(le, false, layers.LinkTypeRaw, 65535,
			[]rec{{data: v4Get(t), ts: t0, orig: 40}, {data: v6Syn(t), ts: t0}}), 2, false},
		{"pcapng-sll2-duplicate", pcapng(t, []layers.LinkType{layers.LinkTypeLinuxSLL2}, []rec{
			{data: cat(sll2Header(layers.EthernetTypeIPv6, 2), v6Syn(t)), ts: t0},
			{data: cat(sll2Header(layers.EthernetTypeIPv6, 3), v6Syn(t)), ts: t0.Add(time.Microsecond)}}), 1, false},
	}
}

// seedFiles returns the corpus files the seeds make, by path under
// testdata/fuzz, in Go's corpus format ("go test fuzz v1").
func seedFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for _, s := range frameSeeds(t) {
		enc := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nuint16(%d)\n", s.frame, uint16(s.lt))
		for _, target := range []string{"FuzzDecode", "FuzzFastPath"} {
			files[filepath.Join(target, s.name)] = enc
		}
	}
	for _, s := range fileSeeds(t) {
		files[filepath.Join("FuzzOpen", s.name)] = fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s.data)
	}
	return files
}

// TestSeedsAreWhatTheySay checks that each seed is what its name says: the
// decode result of a frame, the TCP segments and damage of a file.
func TestSeedsAreWhatTheySay(t *testing.T) {
	d := newDecoder()
	for _, s := range frameSeeds(t) {
		var p Packet
		if res, err := d.decode(s.frame, s.lt, &p); res != s.want {
			t.Errorf("frame seed %s decodes as %v (%v), want %v", s.name, res, err, s.want)
		}
	}
	for _, s := range fileSeeds(t) {
		src, err := NewReader(bytes.NewReader(s.data), s.name, Options{})
		if err != nil {
			t.Errorf("file seed %s: %v", s.name, err)
			continue
		}
		var p Packet
		for err == nil {
			err = src.Next(&p)
		}
		var de *DamageError
		if got := src.Stats().TCP; got != s.tcp || errors.As(err, &de) != s.damaged {
			t.Errorf("file seed %s: %d TCP segments, then %v; want %d, damaged %v", s.name, got, err, s.tcp, s.damaged)
		}
	}
}

// TestFuzzSeeds checks that testdata/fuzz holds every named seed as the
// code builds it today (-update-seeds rewrites them), and that the corpus,
// crashers included, stays small.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz")
	files := seedFiles(t)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		want := files[name]
		path := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run with -update-seeds)", err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: the code builds another seed (run with -update-seeds)", path)
		}
	}
	total := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() >= maxSeedFile {
			t.Errorf("%s: %d bytes, want under %d", path, fi.Size(), maxSeedFile)
		}
		total += int(fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total >= maxSeedTotal {
		t.Errorf("testdata/fuzz: %d bytes in all, want under %d", total, maxSeedTotal)
	}
}
