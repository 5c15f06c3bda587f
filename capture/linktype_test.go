package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// TestLinkTypeTable: the table of supported link types and the decoder's
// parsers agree for every link type number, and libpcap compiles a filter
// for the DLT each supported one is translated to.
func TestLinkTypeTable(t *testing.T) {
	d := newDecoder()
	for lt := range layers.LinkType(1024) {
		if has := d.parser(lt, []byte{0x45}) != nil; has != SupportedLinkType(lt) {
			t.Errorf("link type %d: parser %v, SupportedLinkType %v", lt, has, SupportedLinkType(lt))
		}
	}
	for _, li := range linkTypes {
		if _, err := pcap.NewBPF(dltOf(li.lt), filterSnaplen, "tcp port 80"); err != nil {
			t.Errorf("link type %d (DLT %d): %v", li.lt, dltOf(li.lt), err)
		}
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeNull, layers.LinkTypeEthernet, layers.LinkTypePPP,
		layers.LinkTypeFDDI, layers.LinkTypeLoop, layers.LinkTypeLinuxSLL2, layers.LinkTypeIEEE802_11} {
		if got := dltOf(lt); got != lt {
			t.Errorf("dltOf(%d) = %d, want the same value (pcap-common.c)", lt, got)
		}
	}
}

// unsupportedFrame is an 802.11-ish frame: its bytes do not matter, its
// link type does.
var unsupportedFrame = bytes.Repeat([]byte{0x08}, 40)

// TestUnsupportedLinkType: a classic pcap of a link type the decoder does
// not know fails to open with a *LinkTypeError naming it; a pcapng file
// with only such interfaces is read to its end and then fails the same
// way; one that mixes them with Ethernet and raw IP is read, with a filter
// too, and counts the frames it skipped.
func TestUnsupportedLinkType(t *testing.T) {
	t0 := time.Unix(1.7e9, 0)
	for _, lt := range []layers.LinkType{layers.LinkTypeIEEE802_11, layers.LinkTypeIEEE80211Radio, 147} {
		data := classicPcap(binary.LittleEndian, false, lt, 65535, []rec{{data: unsupportedFrame, ts: t0}})
		_, err := NewReader(bytes.NewReader(data), "wifi.pcap", Options{})
		var le *LinkTypeError
		if !errors.As(err, &le) || le.LinkType != lt || !strings.HasPrefix(err.Error(), "wifi.pcap: link type "+LinkTypeName(lt)) {
			t.Errorf("link type %d: NewReader error %v, want a *LinkTypeError naming it", lt, err)
		}
	}

	only := pcapng(t, []layers.LinkType{147}, []rec{{data: unsupportedFrame, ts: t0}, {data: unsupportedFrame, ts: t0}})
	src, err := NewReader(bytes.NewReader(only), "user0.pcapng", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	err = src.Next(&p)
	var le *LinkTypeError
	if !errors.As(err, &le) || le.LinkType != 147 {
		t.Errorf("Next: %v, want a *LinkTypeError for 147", err)
	}
	if st := src.Stats(); st.Frames != 2 || st.Unsupported != 2 || st.Undecodable != 2 || st.UnsupportedLinkType != 147 {
		t.Errorf("stats %+v, want 2 frames of unsupported link type 147", st)
	}

	mixed := pcapng(t, []layers.LinkType{layers.LinkTypeEthernet, 147, layers.LinkTypeRaw, layers.LinkTypeIEEE80211Radio}, []rec{
		{data: cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t)), ts: t0},
		{data: unsupportedFrame, ts: t0, iface: 1},
		{data: v6Syn(t), ts: t0.Add(time.Second), iface: 2},
		{data: unsupportedFrame, ts: t0, iface: 3},
	})
	for _, filter := range []string{"", "tcp"} {
		frames, st := readFrames(t, mixed, Options{Filter: filter})
		if len(frames) != 2 || st.Unsupported != 2 || st.UnsupportedLinkType != 147 || st.Filtered != 0 {
			t.Errorf("filter %q: frames %v, stats %+v; want 2 TCP, 2 of unsupported link types (147 first)", filter, frames, st)
		}
	}
}

// TestOverLength: a record that says it captured more than the packet's
// length is read as captured, counted, and lent with a consistent length,
// in both containers.
func TestOverLength(t *testing.T) {
	t0 := time.Unix(1.7e9, 0)
	frame := cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t))
	recs := []rec{{data: frame, ts: t0, orig: 60}, {data: frame, ts: t0.Add(time.Second)}}
	ng := pcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, []rec{{data: frame, ts: t0}, recs[1]})
	// pcapgo writes no such record: lower the first EPB's original length.
	off := int(binary.LittleEndian.Uint32(ng[4:]))     // past the section header
	off += int(binary.LittleEndian.Uint32(ng[off+4:])) // past the interface description
	if binary.LittleEndian.Uint32(ng[off:]) != 6 {
		t.Fatal("no enhanced packet block where expected")
	}
	binary.LittleEndian.PutUint32(ng[off+24:], 60)
	for name, data := range map[string][]byte{
		"pcap":   classicPcap(binary.LittleEndian, false, layers.LinkTypeEthernet, 65535, recs),
		"pcapng": ng,
	} {
		src, err := NewReader(bytes.NewReader(data), name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := src.Next(&p); err != nil || p.Frame != 1 || p.PayloadLen != len(httpGet) {
			t.Fatalf("%s: first frame %d, payload %d, %v", name, p.Frame, p.PayloadLen, err)
		}
		if _, ci, _ := src.LastFrame(); ci.CaptureLength != len(frame) || ci.Length < ci.CaptureLength {
			t.Errorf("%s: LastFrame capture info %+v", name, ci)
		}
		if err := src.Next(&p); err != nil || p.Frame != 2 {
			t.Errorf("%s: second frame %d, %v", name, p.Frame, err)
		}
		if err := src.Next(&p); err != io.EOF {
			t.Errorf("%s: then %v, want io.EOF", name, err)
		}
		if st := src.Stats(); st.OverLength != 1 || st.TCP != 2 {
			t.Errorf("%s: stats %+v, want 1 over-length record, 2 TCP", name, st)
		}
	}
}

// TestUndecodableReasons: a frame cut by the snap length inside its TCP
// header is Truncated; a bad TCP data offset is Malformed whether or not
// the record was cut; a frame shorter than its IP header says, captured
// whole, is Malformed.
func TestUndecodableReasons(t *testing.T) {
	t0 := time.Unix(1.7e9, 0)
	frame := cat(ethHdr(layers.EthernetTypeIPv4), v4Get(t))
	badOff := bytes.Clone(frame)
	badOff[14+20+12] = 0x30 // data offset 12 bytes
	recs := []rec{
		{data: frame[:14+20+10], ts: t0, orig: len(frame)},       // cut by the snap length
		{data: badOff, ts: t0},                                   // bad offset
		{data: badOff[:14+20+20], ts: t0, orig: len(frame)},      // bad offset, cut after it
		{data: frame[:14+20+10], ts: t0},                         // short, not cut
		{data: frame, ts: t0.Add(time.Second)},                   // fine
		{data: frame[:14+20+20+5], ts: t0, orig: len(frame) + 1}, // payload cut: a segment
	}
	frames, st := readFrames(t, classicPcap(binary.LittleEndian, false, layers.LinkTypeEthernet, 65535, recs), Options{})
	if len(frames) != 2 || st.Undecodable != 4 || st.Truncated != 1 || st.Malformed != 3 || st.Unsupported != 0 {
		t.Errorf("frames %v, stats %+v; want 2 TCP, 1 truncated, 3 malformed", frames, st)
	}
}
