package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// The seeds of every fuzz target are the files under testdata/fuzz/<name>/,
// written from the tables in seeds_test.go.

// FuzzDecode feeds raw frames of any link type to the decoder: it must not
// panic, and a returned packet keeps HeadN within PayloadLen and HeadLen
// and has an outer TTL only when tunnelled.
func FuzzDecode(f *testing.F) {
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
		if p.Encap == EncapNone && p.OuterTTL != 0 || p.Encap > EncapGeneve {
			t.Fatalf("encap %d, outer TTL %d", p.Encap, p.OuterTTL)
		}
	})
}

// FuzzFastPath checks that the fast path only ever agrees with gopacket's
// DecodingLayerParser: for any frame, decode (fast path first) and the
// parser alone give the same result, error and Packet.
func FuzzFastPath(f *testing.F) {
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
		wantRes, wantErr = slow.fill(&want, frame, lt)
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
// numbered in order, and Next ends in io.EOF, a *DamageError or a
// *LinkTypeError.
func FuzzOpen(f *testing.F) {
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
				var le *LinkTypeError
				if !errors.Is(err, io.EOF) && !errors.As(err, &de) && !errors.As(err, &le) {
					t.Fatalf("Next: %v (%T), want io.EOF, *DamageError or *LinkTypeError", err, err)
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
		if st.TCP+st.NotTCP+st.Undecodable+st.Filtered+st.Duplicates != st.Frames || st.Truncated+st.Malformed+st.Unsupported != st.Undecodable {
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
