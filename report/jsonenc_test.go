package report

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"math/rand"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	segjson "github.com/segmentio/encoding/json"

	"github.com/rstscope/rstscope/rstanalysis"
)

// hostileText is text that encoders tend to disagree on: HTML characters
// (not escaped here), U+2028 and U+2029 (always escaped), control
// characters, invalid and overlong UTF-8, surrogates, quotes, backslashes.
var hostileText = []string{"", "a", "<>&", "\u2028\u2029", "\x00\x01\x1f\x7f", "\xff\xfe", "a\xc3", "\xed\xa0\x80",
	"\"\\/", "\t\n\r\b\f", "日本語", "\U0001F600", "\u202e", "\xef\xbf\xbd", "\x80abc", "\xf4\x90\x80\x80", "\xc0\xaf"}

func randText(r *rand.Rand) string {
	var b []byte
	for n := r.Intn(5); n > 0; n-- {
		if r.Intn(3) == 0 {
			b = append(b, byte(r.Intn(256)))
		} else {
			b = append(b, hostileText[r.Intn(len(hostileText))]...)
		}
	}
	return string(b)
}

// randFloat covers zero, -0, two-decimal values, every exponent (encoding/json
// switches to exponent form below 1e-6 and from 1e21) and large integers.
func randFloat(r *rand.Rand) float64 {
	switch r.Intn(7) {
	case 0:
		return math.Copysign(0, float64(r.Intn(2)*2-1))
	case 1:
		return math.Round(r.Float64()*100) / 100
	case 2:
		return r.NormFloat64() * math.Pow(10, float64(r.Intn(60)-30))
	case 3:
		return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.Intn(2046)+1)<<52)
	case 4:
		return float64(r.Int63())
	case 5:
		return 1e21 * float64(r.Intn(3))
	default:
		return 1e-7 * float64(r.Intn(20))
	}
}

func randJSONVerdict(r *rand.Rand) *jsonVerdict {
	t := randText
	v := &jsonVerdict{File: t(r), Frame: r.Uint64(), TS: t(r), Client: t(r), Server: t(r), From: t(r), Origin: t(r),
		Confidence: randFloat(r), Phase: t(r), Cause: t(r), Evidence: []string{}, Findings: []jsonFinding{},
		Flags: t(r), TTL: uint8(r.Intn(256)), Seq: r.Uint32(), Ack: r.Uint32(), Midstream: r.Intn(2) == 0,
		Request: t(r), Response: t(r), Event: r.Uint64(), Relation: t(r), Vantage: t(r), ConnState: t(r),
		History: t(r), Filter: t(r)}
	for i := r.Intn(4); i > 0; i-- {
		v.Evidence = append(v.Evidence, t(r))
		frames := []uint64{}
		for k := r.Intn(3); k > 0; k-- {
			frames = append(frames, r.Uint64())
		}
		v.Findings = append(v.Findings, jsonFinding{Rule: t(r), Weight: randFloat(r), Text: t(r), Frames: frames})
	}
	if r.Intn(2) == 0 {
		x := randFloat(r)
		v.RTTms = &x
	}
	if r.Intn(3) == 0 {
		for k := r.Intn(3); k > 0; k-- {
			v.Sightings = append(v.Sightings, jsonSighting{File: t(r), Frame: r.Uint64()})
		}
		v.Conn = r.Intn(5) - 2
	}
	if r.Intn(3) == 0 {
		v.Revision = r.Intn(3)
		v.Was = &jsonWas{Origin: t(r), Cause: t(r), Confidence: randFloat(r)}
	}
	return v
}

func randJSONSummary(r *rand.Rand) any {
	s := jsonSummary{Inputs: []string{randText(r)}, Frames: r.Uint64(), ByOrigin: map[string]int{},
		ByCause: map[string]int{}, Warnings: []string{randText(r)}, ElapsedS: randFloat(r), FirstTS: randText(r)}
	for k := r.Intn(8); k > 0; k-- {
		s.ByOrigin[randText(r)] = r.Int()
		s.ByCause[randText(r)] = -r.Intn(100)
	}
	if r.Intn(2) == 0 {
		off := randFloat(r)
		s.Joint = &jsonJoint{Connections: r.Intn(9), Inputs: []jsonJointInput{{Input: randText(r), OffsetMS: &off}},
			Pairs: []jsonJointPair{{A: randText(r), B: randText(r), OnlyA: r.Intn(9)}}}
	}
	return struct {
		Summary jsonSummary `json:"summary"`
	}{s}
}

// TestJSONEncoderMatchesStd checks that the JSON writer's encoder writes
// the same bytes as encoding/json (HTML escaping off) for random verdict
// and summary lines full of hostile text and extreme numbers.
func TestJSONEncoderMatchesStd(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var want, got bytes.Buffer
	std, seg := stdjson.NewEncoder(&want), segjson.NewEncoder(&got)
	std.SetEscapeHTML(false)
	seg.SetEscapeHTML(false)
	bad := 0
	for i := 0; i < 20000 && bad < 3; i++ {
		var x any = randJSONVerdict(r)
		if i%20 == 0 {
			x = randJSONSummary(r)
		}
		want.Reset()
		got.Reset()
		if err := std.Encode(x); err != nil {
			t.Fatal(err)
		}
		if err := seg.Encode(x); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			bad++
			t.Errorf("record %d:\n got %q\nwant %q", i, got.Bytes(), want.Bytes())
		}
	}
}

// oldFilter is wiresharkFilter as it was written with strings.Join.
func oldFilter(client, server netip.AddrPort) string {
	if !client.IsValid() || !server.IsValid() {
		return ""
	}
	field := "ip.addr"
	if client.Addr().Is6() {
		field = "ipv6.addr"
	}
	parts := []string{field + "==" + client.Addr().String()}
	if server.Addr() != client.Addr() {
		parts = append(parts, field+"=="+server.Addr().String())
	}
	parts = append(parts, "tcp.port=="+strconv.Itoa(int(client.Port())))
	if server.Port() != client.Port() {
		parts = append(parts, "tcp.port=="+strconv.Itoa(int(server.Port())))
	}
	return strings.Join(parts, " && ")
}

// TestJSONRecordText checks ts, client, server and filter, which the JSON
// writer appends into one buffer, against their string renderings, over
// consecutive records (the buffer is reused).
func TestJSONRecordText(t *testing.T) {
	pairs := [][2]string{
		{"10.0.0.5:51000", "10.0.0.9:8080"}, {"[2001:db8::1]:443", "[2001:db8::2]:51000"},
		{"[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.2]:81"}, {"[fe80::1%eth0]:22", "[fe80::2%eth0]:22"},
		{"10.0.0.5:80", "10.0.0.5:81"}, {"10.0.0.5:80", "10.0.0.6:80"}, {"10.0.0.5:80", ""}, {"", ""},
		{"255.255.255.255:65535", "0.0.0.0:0"},
	}
	var vs []rstanalysis.Verdict
	for i, p := range pairs {
		var c, s netip.AddrPort
		if p[0] != "" {
			c = netip.MustParseAddrPort(p[0])
		}
		if p[1] != "" {
			s = netip.MustParseAddrPort(p[1])
		}
		tm := time.Date(2024, 2, 29, 23, 59, 59, i*123456789, time.FixedZone("x", 3600*i))
		vs = append(vs, rstanalysis.Verdict{Frame: uint64(i), Time: tm, Client: c, Server: s})
	}
	var buf bytes.Buffer
	w := NewWriter(FormatJSON, &buf, Options{})
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Summary{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(vs) {
		t.Fatalf("%d lines for %d verdicts", len(lines), len(vs))
	}
	for i, l := range lines {
		var got struct{ TS, Client, Server, Filter string }
		if err := stdjson.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		v := &vs[i]
		want := struct{ TS, Client, Server, Filter string }{v.Time.UTC().Format(tsLayout),
			"", "", oldFilter(v.Client, v.Server)}
		if v.Client.IsValid() {
			want.Client = v.Client.String()
		}
		if v.Server.IsValid() {
			want.Server = v.Server.String()
		}
		if got != want {
			t.Errorf("line %d: got %+v, want %+v", i, got, want)
		}
		if f := wiresharkFilter(v.Client, v.Server); f != want.Filter {
			t.Errorf("wiresharkFilter(%v, %v) = %q, want %q", v.Client, v.Server, f, want.Filter)
		}
	}
}
