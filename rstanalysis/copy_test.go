package rstanalysis

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/capture"
)

// TestCopyPacketCopiesEveryField sets every field of a Packet to a
// non-zero value and wants copyPacket to carry each one over into a
// zeroed Packet: a field added to capture.Packet and not to copyPacket
// fails here instead of silently reading zero in the workers.
func TestCopyPacketCopiesEveryField(t *testing.T) {
	var p capture.Packet
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Array: // Head
			for j := range f.Len() {
				f.Index(j).SetUint(uint64(j%250 + 1))
			}
		case reflect.Struct: // time.Time, netip.Addr
		default:
			t.Fatalf("field %s: kind %s not handled by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	p.Time = time.Unix(1_700_000_000, 5)
	p.Src, p.Dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::2")
	p.OuterSrc, p.OuterDst = netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	p.HeadN = capture.HeadLen

	var q capture.Packet
	copyPacket(&q, &p)
	if q != p {
		qv := reflect.ValueOf(q)
		for i := range v.NumField() {
			if !reflect.DeepEqual(qv.Field(i).Interface(), v.Field(i).Interface()) {
				t.Errorf("field %s not copied", v.Type().Field(i).Name)
			}
		}
	}
}

// TestItemLines: an item of the Analyzer's look-ahead is a whole number of
// 64-byte lines, and the fields every packet fills (up to Head) fit in its
// first three, so that a packet without payload touches three lines.
func TestItemLines(t *testing.T) {
	var it item
	if n := unsafe.Sizeof(it); n%64 != 0 {
		t.Errorf("item is %d bytes, not a multiple of 64: adjust its padding", n)
	}
	if hot := unsafe.Offsetof(it.p) + unsafe.Offsetof(it.p.Head); hot > 3*64 {
		t.Errorf("the fields every packet fills take %d bytes, more than three lines", hot)
	}
}
