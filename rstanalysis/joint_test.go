package rstanalysis_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
