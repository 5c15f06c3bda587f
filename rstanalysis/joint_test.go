package rstanalysis_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// readJoint reads the captures at paths each through an Analyzer and a
// Trace, then judges them together.
func readJoint(t *testing.T, paths []string, cfg rstanalysis.JointConfig) ([][]*rstanalysis.Verdict, rstanalysis.JointResult) {
	t.Helper()
	var traces []*rstanalysis.Trace
	var all [][]*rstanalysis.Verdict
	for _, path := range paths {
		src, err := capture.Open(path, capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var vs []*rstanalysis.Verdict
		an := rstanalysis.New(rstanalysis.Config{File: path}, func(v *rstanalysis.Verdict) { c := *v; vs = append(vs, &c) })
		tr := rstanalysis.NewTrace(path)
		var p capture.Packet
		for {
			if err = src.Next(&p); err != nil {
				break
			}
			tr.Packet(&p)
			an.Packet(&p)
		}
		an.Flush()
		src.Close()
		if !errors.Is(err, io.EOF) {
			t.Fatalf("%s: %v", path, err)
		}
		traces = append(traces, tr)
		all = append(all, vs)
	}
	return all, rstanalysis.Joint(traces, all, cfg)
}

// truthOrigins reads the origin column of the truth file beside a lab
// capture, by frame.
func truthOrigins(t *testing.T, capPath string) map[uint64]string {
	t.Helper()
	base := strings.TrimSuffix(strings.TrimSuffix(capPath, ".pcap"), ".pcapng")
	f, err := os.Open(base + ".truth.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		n, err := strconv.ParseUint(cols[0], 10, 64)
		if err != nil || len(cols) < 3 {
			continue // the header
		}
		out[n] = cols[2]
	}
	return out
}

// TestJointInjectPairs reads each injector scenario's client and server
// captures together: every RST gets its true origin in both files, every
// sighting of a packet the same verdict, every event one origin, and the
// injected RSTs are proven.
func TestJointInjectPairs(t *testing.T) {
	clients, _ := filepath.Glob("../testdata/lab/inject-*.client.pcap")
	if len(clients) < 5 {
		t.Fatalf("want the 5 injector pairs under testdata/lab, found %d", len(clients))
	}
	for _, cl := range clients {
		sv := strings.Replace(cl, ".client.", ".server.", 1)
		t.Run(filepath.Base(cl), func(t *testing.T) {
			all, res := readJoint(t, []string{cl, sv}, rstanalysis.JointConfig{})
			checkJoint(t, []string{cl, sv}, all, res)
		})
	}
}

func checkJoint(t *testing.T, paths []string, all [][]*rstanalysis.Verdict, res rstanalysis.JointResult) {
	t.Helper()
	evOrigin := map[uint64]rstanalysis.Origin{}
	for i, vs := range all {
		truth := truthOrigins(t, paths[i])
		if len(vs) != len(truth) {
			t.Errorf("%s: %d verdicts, truth has %d", paths[i], len(vs), len(truth))
		}
		for _, v := range vs {
			where := filepath.Base(paths[i]) + " frame " + strconv.FormatUint(v.Frame, 10)
			if got, want := v.Origin.String(), truth[v.Frame]; got != want {
				t.Errorf("%s: origin %s (%.2f, %s), truth %s; findings %q", where, got, v.Confidence, v.Cause, want, v.Texts())
			}
			if v.Origin == rstanalysis.OriginMiddlebox && v.Confidence < 0.95 {
				t.Errorf("%s: middlebox with confidence %.2f, want a proof (>= 0.95)", where, v.Confidence)
			}
			if o, ok := evOrigin[v.Event]; ok && o != v.Origin {
				t.Errorf("%s: event %d holds origins %s and %s", where, v.Event, o, v.Origin)
			}
			evOrigin[v.Event] = v.Origin
		}
	}
	t.Logf("%+v", res)
}

func TestJointDump(t *testing.T) {
	if os.Getenv("JOINT_DUMP") == "" {
		t.Skip()
	}
	paths := strings.Fields(os.Getenv("JOINT_DUMP"))
	all, _ := readJoint(t, paths, rstanalysis.JointConfig{})
	for _, vs := range all {
		for _, v := range vs {
			t.Logf("%s #%d %s→%s %.2f %s ev=%d rel=%q sights=%v", filepath.Base(v.File), v.Frame, v.From, v.Origin, v.Confidence, v.Cause, v.Event, v.Relation, v.Sightings)
			for _, f := range v.Findings {
				t.Logf("    %s %v %s", f.Rule, f.Weight, f.Text)
			}
		}
	}
}

// injectPairs returns the lab's client and server capture of each injector
// scenario.
func injectPairs(t *testing.T) [][2]string {
	t.Helper()
	clients, _ := filepath.Glob("../testdata/lab/inject-*.client.pcap")
	if len(clients) < 5 {
		t.Fatalf("want the 5 injector pairs under testdata/lab, found %d", len(clients))
	}
	var out [][2]string
	for _, cl := range clients {
		out = append(out, [2]string{cl, strings.Replace(cl, ".client.", ".server.", 1)})
	}
	return out
}

// sameJudgement compares two joint runs over the same captures verdict by
// verdict: everything but the time and file (which shift or move) and
// the sightings' file names.
func sameJudgement(t *testing.T, want, got [][]*rstanalysis.Verdict, shift []time.Duration) {
	t.Helper()
	for i := range want {
		if len(want[i]) != len(got[i]) {
			t.Fatalf("input %d: %d verdicts, want %d", i, len(got[i]), len(want[i]))
		}
		for k, w := range want[i] {
			g := got[i][k]
			where := filepath.Base(w.File) + " frame " + strconv.FormatUint(w.Frame, 10)
			if !g.Time.Equal(w.Time.Add(shift[i])) {
				t.Errorf("%s: time %v, want %v", where, g.Time, w.Time.Add(shift[i]))
			}
			if g.Frame != w.Frame || g.Origin != w.Origin || g.Confidence != w.Confidence || g.Cause != w.Cause ||
				g.Event != w.Event || g.Relation != w.Relation || g.From != w.From {
				t.Errorf("%s: got %s %.2f %s event %d %q, want %s %.2f %s event %d %q", where, g.Origin, g.Confidence,
					g.Cause, g.Event, g.Relation, w.Origin, w.Confidence, w.Cause, w.Event, w.Relation)
			}
			if !slices.Equal(g.Texts(), w.Texts()) {
				t.Errorf("%s: evidence %q, want %q", where, g.Texts(), w.Texts())
			}
			if len(g.Sightings) != len(w.Sightings) {
				t.Errorf("%s: sightings %v, want %v", where, g.Sightings, w.Sightings)
				continue
			}
			for s := range w.Sightings {
				if g.Sightings[s].Frame != w.Sightings[s].Frame || filepath.Base(g.Sightings[s].File) != filepath.Base(w.Sightings[s].File) {
					t.Errorf("%s: sightings %v, want %v", where, g.Sightings, w.Sightings)
				}
			}
		}
	}
}

// TestJointClockShift moves the server capture's clock by 7.5 s: only the
// times and the reported offset change.
func TestJointClockShift(t *testing.T) {
	const shift = 7500 * time.Millisecond
	for _, p := range injectPairs(t) {
		t.Run(filepath.Base(p[0]), func(t *testing.T) {
			want, wres := readJoint(t, p[:], rstanalysis.JointConfig{})
			moved := shiftPcap(t, p[1], t.TempDir(), shift)
			got, gres := readJoint(t, []string{p[0], moved}, rstanalysis.JointConfig{})
			sameJudgement(t, want, got, []time.Duration{0, shift})
			w, g := wres.Inputs[1], gres.Inputs[1]
			if !g.Aligned || g.Offset-w.Offset != shift || g.Uncertainty != w.Uncertainty {
				t.Errorf("offset %v ± %v (aligned %v), want %v ± %v", g.Offset, g.Uncertainty, g.Aligned, w.Offset+shift, w.Uncertainty)
			}
			if w.Offset < -w.Uncertainty || w.Offset > w.Uncertainty || w.Uncertainty > 15*time.Millisecond {
				t.Errorf("unshifted offset %v ± %v: the lab's captures share one clock and the path is ~10 ms each way", w.Offset, w.Uncertainty)
			}
		})
	}
}

// TestJointNAT rewrites the client's address and port in the server's
// capture, as a NAT between them would: the connection still matches by
// its ISNs and payload, and every RST is judged as without the NAT.
func TestJointNAT(t *testing.T) {
	for _, p := range injectPairs(t) {
		t.Run(filepath.Base(p[0]), func(t *testing.T) {
			client := net.IPv4(10, 77, 1, 2)
			if strings.Contains(p[0], "-v6") {
				client = net.ParseIP("fd77:1::2")
			}
			want, _ := readJoint(t, p[:], rstanalysis.JointConfig{})
			natted := natServerSide(t, p[1], t.TempDir(), client)
			got, res := readJoint(t, []string{p[0], natted}, rstanalysis.JointConfig{})
			for _, v := range got[1] {
				if v.Client.Port() != 40000 {
					t.Fatalf("the rewritten capture still shows client %s", v.Client)
				}
			}
			sameJudgement(t, want, got, []time.Duration{0, 0})
			for _, in := range res.Inputs {
				if in.Matched != 1 || in.Unmatched != 0 {
					t.Errorf("%s: %d matched, %d unmatched; want 1, 0", filepath.Base(in.File), in.Matched, in.Unmatched)
				}
			}
		})
	}
}
