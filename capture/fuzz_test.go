package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// addFrameSeeds seeds f with frames of every link type and layer the decoder follows.
func addFrameSeeds(f *testing.F) {
	v4, v6 := v4Get(f), v6Syn(f)
	for _, s := range []struct {
		lt    layers.LinkType
		frame []byte
	}{
		{layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeIPv4), v4)},
		{layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeQinQ), vlanTag(1, layers.EthernetTypeDot1Q), vlanTag(2, layers.EthernetTypeIPv6), v6)},
		{layers.LinkTypeEthernet, cat(ethHdr(layers.EthernetTypeMPLSUnicast), []byte{0, 1, 1, 64}, v4)},
		{layers.LinkTypeLinuxSLL, cat(sllHeader(layers.EthernetTypeIPv4), v4)},
		{layers.LinkTypeLinuxSLL2, cat(sll2Header(layers.EthernetTypeIPv6, 1), v6)},
		{layers.LinkTypeNull, cat([]byte{2, 0, 0, 0}, v4)},
		{layers.LinkTypeFDDI, cat([]byte{0x50}, macB, macA, []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, v4)},
		{layers.LinkTypeRaw, cat(v6[:6], []byte{0, 64}, v6[8:40], []byte{6, 0, 1, 4, 0, 0, 0, 0}, v6[40:])},
		{layers.LinkTypeRaw, v4[:30]},
	} {
		f.Add(s.frame, uint16(s.lt))
	}
	f.Add(cat(ethHdr(layers.EthernetTypeDot1Q), vlanTag(7, layers.EthernetTypeIPv4), v4), uint16(layers.LinkTypeEthernet))
	f.Add(v4, uint16(layers.LinkTypeIPv4))
	f.Add(v6, uint16(layers.LinkTypeIPv6))
}

// FuzzDecode feeds raw frames of any link type to the decoder: it must not
// panic, and a returned packet keeps HeadN within PayloadLen and HeadLen.
func FuzzDecode(f *testing.F) {
	addFrameSeeds(f)
	d := newDecoder()
	f.Fuzz(func(t *testing.T, frame []byte, lt uint16) {
		var p Packet
		res, _ := d.decode(frame, layers.LinkType(lt), &p)
		if res != resultTCP {
			return
		}
		if p.HeadN < 0 || p.HeadN > p.PayloadLen || p.HeadN > HeadLen {
			t.Fatalf("HeadN %d, PayloadLen %d", p.HeadN, p.PayloadLen)
		}
		if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
			t.Fatalf("addresses %v %v", p.Src, p.Dst)
		}
	})
}

// FuzzFastPath checks that the fast path only ever agrees with gopacket's
// DecodingLayerParser: for any frame, decode (fast path first) and the
// parser alone give the same result, error and Packet.
func FuzzFastPath(f *testing.F) {
	addFrameSeeds(f)
	fast, slow := newDecoder(), newDecoder()
	f.Fuzz(func(t *testing.T, frame []byte, lt uint16) {
		if err := agree(fast, slow, frame, layers.LinkType(lt)); err != nil {
			t.Fatal(err)
		}
	})
}

// agree decodes frame with fast (fast path first) and with slow's parser
// alone, and returns an error saying how they differ, if they do.
func agree(fast, slow *decoder, frame []byte, lt layers.LinkType) error {
	var got, want Packet
	res, err := fast.decode(frame, lt, &got)
	slow.st = ipState{}
	wantRes, wantErr := resultUndecodable, slow.slow(frame, lt)
	if wantErr == nil {
		wantRes, wantErr = slow.fill(&want)
	}
	if res != wantRes || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		return fmt.Errorf("link type %v: decode = %v, %v; the parser alone: %v, %v", lt, res, err, wantRes, wantErr)
	}
	if got != want {
		return fmt.Errorf("link type %v: decode gives\n%+v\nthe parser alone\n%+v", lt, got, want)
	}
	return nil
}

// FuzzOpen reads whole files: no panic, the counters add up, frames are
// numbered in order, and Next ends in io.EOF or a *DamageError.
func FuzzOpen(f *testing.F) {
	t0 := time.Unix(1.7e9, 0)
	recs := threeRecs(f, t0)
	pc := classicPcap(binary.LittleEndian, false, layers.LinkTypeEthernet, 65535, recs)
	ng := pcapng(f, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw}, append(recs, rec{data: v4Get(f), ts: t0, iface: 1}))
	f.Add(pc)
	f.Add(classicPcap(binary.BigEndian, true, layers.LinkTypeLinuxSLL, 96, []rec{{data: cat(sllHeader(layers.EthernetTypeIPv4), v4Get(f)), ts: t0}}))
	f.Add(ng)
	f.Add(gzipped(f, pc))
	f.Add(pc[:len(pc)-5])
	f.Add(ng[:len(ng)-5])
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewReader(bytes.NewReader(data), "fuzz", Options{})
		if err != nil {
			return
		}
		var p Packet
		var last uint64
		for i := 0; ; i++ {
			err := src.Next(&p)
			if err != nil {
				var de *DamageError
				if !errors.Is(err, io.EOF) && !errors.As(err, &de) {
					t.Fatalf("Next: %v (%T), want io.EOF or *DamageError", err, err)
				}
				if strings.Contains(err.Error(), "reader failed") {
					t.Fatalf("pcapgo panicked (recovered): %v", err)
				}
				break
			}
			if p.Frame <= last {
				t.Fatalf("frame %d after %d", p.Frame, last)
			}
			last = p.Frame
			if p.HeadN > p.PayloadLen || p.HeadN > HeadLen {
				t.Fatalf("HeadN %d, PayloadLen %d", p.HeadN, p.PayloadLen)
			}
		}
		st := src.Stats()
		if st.TCP+st.NotTCP+st.Undecodable+st.Filtered != st.Frames {
			t.Fatalf("stats do not add up: %+v", st)
		}
	})
}

// TestFastPathCorpus runs every frame of the shared public captures through
// the decoder and through gopacket's parser alone: real frames of every link
// type there must decode the same both ways.
func TestFastPathCorpus(t *testing.T) {
	fast, slow := newDecoder(), newDecoder()
	frames, fastTaken := 0, 0
	for _, e := range loadCorpus(t) {
		src, err := Open(filepath.Join(corpusDir, e.file), Options{})
		if err != nil {
			continue // the corpus tests report files that do not open
		}
		f := src.(*File)
		for {
			data, lt, err := f.record()
			if err != nil {
				break
			}
			frames++
			if err := agree(fast, slow, data, lt); err != nil {
				t.Fatalf("%s, frame %d of the corpus: %v", e.file, frames, err)
			}
			fast.st = ipState{}
			if fast.fast(data, lt) {
				fastTaken++
			}
		}
		f.Close()
	}
	t.Logf("%d frames agree, %d of them on the fast path", frames, fastTaken)
	if fastTaken == 0 {
		t.Error("no corpus frame took the fast path")
	}
}
