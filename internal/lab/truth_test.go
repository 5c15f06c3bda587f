package lab

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMatchOwn(t *testing.T) {
	c := netip.MustParseAddrPort("10.77.1.2:40000")
	s := netip.MustParseAddrPort("10.77.2.2:8000")
	t0 := time.Unix(1000, 0)
	rst := func(frame int, ms float64) segment {
		return segment{frame: frame, ts: t0.Add(time.Duration(ms * float64(time.Millisecond))), src: c, dst: s,
			flags: "R", rst: true, seq: 7}
	}
	tests := []struct {
		name    string
		at, own []segment
		want    map[int]int
	}{
		{
			name: "same capture matches itself",
			at:   []segment{rst(3, 0)},
			own:  []segment{rst(3, 0)},
			want: map[int]int{3: 0},
		},
		{
			name: "seen later through the delay line",
			at:   []segment{rst(9, 10.4)},
			own:  []segment{rst(5, 0)},
			want: map[int]int{9: 0},
		},
		{
			// A forged bare RST at the client's next seq is byte for byte
			// what the client's kernel sends later: time tells them apart.
			name: "identical forged copy seen before the sender sent it",
			at:   []segment{rst(6, 1), rst(8, 20), rst(9, 21)},
			own:  []segment{rst(7, 19.9), rst(9, 20.9)},
			want: map[int]int{8: 0, 9: 1},
		},
		{
			name: "never sent by the claimed side",
			at:   []segment{rst(4, 1)},
			own:  nil,
			want: map[int]int{},
		},
		{
			name: "sent but seen far too late is another segment",
			at:   []segment{rst(4, 5000)},
			own:  []segment{rst(2, 0)},
			want: map[int]int{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchOwn(tc.at, tc.own, c.Addr()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("matchOwn = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTruthRoundTrip(t *testing.T) {
	rows := []TruthRow{
		{Frame: 5, From: "server", Origin: OriginMiddlebox, Sender: "injector", Phase: "request", Cause: "injected",
			Flags: "R.", Seq: 1, Ack: 2, TTL: 64,
			Src: netip.MustParseAddrPort("[fd77:2::2]:8011"), Dst: netip.MustParseAddrPort("[fd77:1::2]:40000")},
		{Frame: 7, From: "client", Origin: OriginClient, Sender: "client kernel", Phase: "after_reset",
			Cause: "late_segment", Secondary: true, Flags: "R", Seq: 4294967295, TTL: 63,
			Src: netip.MustParseAddrPort("10.77.1.2:40000"), Dst: netip.MustParseAddrPort("10.77.2.2:8000")},
	}
	path := filepath.Join(t.TempDir(), "x.truth.tsv")
	if err := WriteTruth(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rows)
	}
}

func TestReadTruthMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"wrong header", "frame\tfrom\n"},
		{"short row", truthHeader + "\n5\tserver\tserver\n"},
		{"bad frame", truthHeader + "\nx\tserver\tserver\ts\tsyn\trefused\tno\tR.\t0\t1\t127\t10.77.2.2:1\t10.77.1.2:2\n"},
		{"bad secondary", truthHeader + "\n2\tserver\tserver\ts\tsyn\trefused\tmaybe\tR.\t0\t1\t127\t10.77.2.2:1\t10.77.1.2:2\n"},
		{"bad address", truthHeader + "\n2\tserver\tserver\ts\tsyn\trefused\tno\tR.\t0\t1\t127\t10.77.2.2\t10.77.1.2:2\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.tsv")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadTruth(path); !errors.Is(err, ErrTruthFormat) {
				t.Errorf("ReadTruth error = %v, want ErrTruthFormat", err)
			}
		})
	}
}

// TestCommittedCaptures checks the captures under testdata/lab against their
// truth files without root: every RST of the scenario's connection has
// exactly one truth row, at its frame, with the same header fields.
func TestCommittedCaptures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "lab")
	n := 0
	for _, s := range Scenarios() {
		for _, v := range Exported(s) {
			capFile := filepath.Join(dir, s.CaptureFile(v))
			if _, err := os.Stat(capFile); errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s missing: run go run ./internal/lab/cmd/mklab -out testdata/lab as root", capFile)
				continue
			}
			segs, err := readSegments(capFile)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := ReadTruth(filepath.Join(dir, s.TruthFile(v)))
			if err != nil {
				t.Fatal(err)
			}
			byFrame := map[int]TruthRow{}
			for _, r := range rows {
				byFrame[r.Frame] = r
			}
			rsts := 0
			for _, sg := range segs {
				if !sg.rst {
					continue
				}
				rsts++
				r, ok := byFrame[sg.frame]
				switch {
				case !ok:
					t.Errorf("%s frame %d: RST without truth", capFile, sg.frame)
				case r.Src != sg.src || r.Dst != sg.dst || r.Seq != sg.seq || r.Ack != sg.ack || r.Flags != sg.flags || r.TTL != sg.ttl:
					t.Errorf("%s frame %d: truth %+v does not describe the RST %+v", capFile, sg.frame, r, sg)
				}
				if want := map[bool]string{true: "server", false: "client"}[sg.src == s.ServerAddr()]; ok && r.From != want {
					t.Errorf("%s frame %d: claimed from %s, the address says %s", capFile, sg.frame, r.From, want)
				}
			}
			// A capture beyond the middlebox may hold none (the refused
			// SYN of firewall-syn-reject-once never reaches it).
			if rsts != len(rows) || rsts == 0 && !(position(v) > s.forger()) {
				t.Errorf("%s: %d RSTs, %d truth rows", capFile, rsts, len(rows))
			}
			n++
		}
	}
	t.Logf("%d committed captures match their truth", n)
}

func TestJudge(t *testing.T) {
	truth := []TruthRow{
		{Frame: 2, From: "server", Origin: OriginServer, Phase: "syn"},
		{Frame: 5, From: "server", Origin: OriginMiddlebox, Phase: "request"},
		{Frame: 7, From: "client", Origin: OriginClient, Phase: "after_reset"},
		{Frame: 9, From: "client", Origin: OriginClient, Phase: "after_reset"},
		{Frame: 11, From: "server", Origin: OriginServer, Phase: "closing"},
	}
	verdicts := []Verdict{
		{Frame: 2, From: "server", Origin: "server", Phase: "syn"},
		{Frame: 5, From: "server", Origin: "server", Phase: "request"},
		{Frame: 7, From: "client", Origin: "unknown", Phase: "request"},
		{Frame: 11, From: "client", Origin: "server", Phase: "closing"},
		{Frame: 12, From: "server", Origin: "server"},
	}
	want := []Outcome{Right, Wrong, Unknown, Missing, Wrong, Extra}
	wantPhase := []bool{true, true, false, false, true, false}
	js := Judge("s", AtClient, truth, verdicts)
	if len(js) != len(want) {
		t.Fatalf("%d judgements, want %d", len(js), len(want))
	}
	for i, j := range js {
		if j.Outcome != want[i] || j.PhaseRight != wantPhase[i] {
			t.Errorf("judgement %d (frame %d): %v phase right %v, want %v %v",
				i, max(j.Truth.Frame, j.Verdict.Frame), j.Outcome, j.PhaseRight, want[i], wantPhase[i])
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1/4/1 p3/6") {
		t.Errorf("table has no cell 1/4/1 p3/6:\n%s", b.String())
	}
}

func TestReadVerdicts(t *testing.T) {
	in := `{"frame":5,"from":"server","origin":"middlebox","phase":"request","cause":"injected","evidence":["x"]}

{"frame":6,"from":"client","origin":"client","phase":"after_reset","cause":"late_segment"}
`
	vs, err := ReadVerdicts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Verdict{{5, "server", "middlebox", "request", "injected"}, {6, "client", "client", "after_reset", "late_segment"}}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("got %+v, want %+v", vs, want)
	}
	for _, bad := range []string{"{", `{"from":"server"}`, "not json"} {
		if _, err := ReadVerdicts(strings.NewReader(bad)); !errors.Is(err, ErrVerdictFormat) {
			t.Errorf("ReadVerdicts(%q) error = %v, want ErrVerdictFormat", bad, err)
		}
	}
}

// TestNatMap checks that the truth compares segments across the router's
// source NAT: the SYN's ISN, IP ID and destination pair the translated
// source with the client's own, and untranslate rewrites both directions.
func TestNatMap(t *testing.T) {
	c := netip.MustParseAddrPort("10.77.1.2:51000")
	n := netip.MustParseAddrPort("10.77.2.1:40007")
	o := netip.MustParseAddrPort("10.77.1.2:52000") // another connection, not translated here
	s := netip.MustParseAddrPort("10.77.2.2:8026")
	syn := func(src netip.AddrPort, seq uint32, ipid uint16) segment {
		return segment{src: src, dst: s, wsrc: src, wdst: s, flags: "S", seq: seq, ipid: ipid}
	}
	inside := []segment{syn(c, 100, 7), syn(o, 200, 9)}
	outside := []segment{syn(n, 100, 7), syn(o, 200, 9),
		{src: s, dst: n, wsrc: s, wdst: n, flags: "R", rst: true, seq: 5}}
	nat := natMap(inside, outside)
	if want := map[netip.AddrPort]netip.AddrPort{n: c}; !reflect.DeepEqual(nat, want) {
		t.Fatalf("natMap = %v, want %v", nat, want)
	}
	if got := natMap(inside, []segment{syn(n, 101, 7)}); len(got) != 0 {
		t.Errorf("a SYN with another ISN was paired: %v", got)
	}
	untranslate(outside, nat)
	if outside[0].src != c || outside[2].dst != c || outside[1].src != o {
		t.Errorf("untranslate: %v %v %v", outside[0].src, outside[2].dst, outside[1].src)
	}
	if outside[0].wsrc != n || outside[2].wdst != n {
		t.Errorf("untranslate changed the captured addresses: %v %v", outside[0].wsrc, outside[2].wdst)
	}
}
