package lab

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clockShift is how far the server's capture of each scenario is moved
// (editcap -t) for the second read of the client+server pair.
const clockShift = 7500 * time.Millisecond

// pairUnknownAllowed lists the RSTs a pair of captures may leave
// "unknown" because the two captures truly cannot decide them, each with
// the reason; the fields match as in unknownAllowed, pair "" any pair.
// Read together, the ends decide what one capture leaves open for a RST
// answering a SYN: the server's capture shows it leave (closed-port), or
// covers the moment and never saw the SYN (firewall-syn-reject-once).
var pairUnknownAllowed = []struct {
	scenario string
	pair     Pair
	vantage  Vantage
	why      string
}{
	{"firewall-syn-reject", Pair{}, "", emptyFar},
	{"firewall-syn-reject-v6", Pair{}, "", emptyFar},
	{"closed-port", Pair{AtClient, AtRouterOut}, "", serverLink},
	{"closed-port", Pair{AtRouterIn, AtRouterOut}, "", serverLink},
	{"closed-port-v6", Pair{AtClient, AtRouterOut}, "", serverLink},
	{"closed-port-v6", Pair{AtRouterIn, AtRouterOut}, "", serverLink},
}

// serverLink is why a pair without the server's own capture may leave a
// refusal unknown.
const serverLink = "router-out is on the server's link, not on the server: the RST passing it toward the " +
	"client was made beyond it, by the server or a device on its link, and with only a SYN and the RST " +
	"nothing (no TTL, IP ID or RTT reference) tells the two apart"

const emptyFar = "the router rejects the only SYN: the captures behind it (router-out, server) hold no " +
	"packet at all, so neither shows it was running when the SYN was sent, and no packet aligns " +
	"its clock; firewall-syn-reject-once is the case with a later connection, which a pair decides"

func allowedPairUnknown(pr *PairRun, j Judged) string {
	for _, a := range pairUnknownAllowed {
		if a.scenario == pr.Scenario.Name && (a.pair == Pair{} || a.pair == pr.Pair) &&
			(a.vantage == "" || a.vantage == j.Vantage) {
			return a.why
		}
	}
	return ""
}

// assertPairs reads every scenario's Pairs together through the CLI and
// judges each record against its own file's truth (PairRun.Problems); the
// client+server pair is read a second time with the server's capture
// shifted by clockShift, which must change nothing but the reported clock
// offset. The reads run on every CPU.
func assertPairs(t *testing.T, bin string, results []*Result) {
	start := time.Now()
	type job struct {
		res   *Result
		pair  Pair
		shift time.Duration
	}
	var jobs []job
	for _, r := range results {
		for i, p := range Pairs {
			jobs = append(jobs, job{r, p, 0})
			if i == 0 {
				jobs = append(jobs, job{r, p, clockShift})
			}
		}
	}
	runs := make([]*PairRun, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i], errs[i] = ScorePair(t.Context(), bin, j.res, j.pair, j.shift)
		})
	}
	wg.Wait()
	report := func(problems, notes []string) {
		for _, n := range notes {
			t.Log(n)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
	for i, pr := range runs {
		if errs[i] != nil {
			t.Fatalf("%s %s shifted %v: %v", jobs[i].res.Scenario.Name, jobs[i].pair, jobs[i].shift, errs[i])
		}
		if pr.Shift == 0 {
			report(pr.Problems(allowedPairUnknown))
		} else {
			report(SameVerdicts(runs[i-1], pr), nil)
		}
		report(pr.ClockProblems(), nil)
	}
	var table strings.Builder
	if err := WritePairTable(&table, runs); err != nil {
		t.Fatal(err)
	}
	t.Logf("rstscope on pairs read together (right/wrong/unknown, proven/provable middlebox RSTs), %d reads in %v:\n%s",
		len(runs), time.Since(start).Round(time.Millisecond), table.String())
}

// TestPairChecks runs the pair checks on hand-made verdicts: a consistent
// pair passes, and each broken rule is reported.
func TestPairChecks(t *testing.T) {
	s := Scenario{Name: "inject-x", Injector: []string{"-mode", "rst"}}
	a, b := "/d/x.client.pcap", "/d/x.server.pcap"
	truth := map[Vantage][]TruthRow{
		AtClient: {{Frame: 5, From: "server", Origin: OriginMiddlebox, Flags: "R", Seq: 9}},
		AtServer: {{Frame: 7, From: "client", Origin: OriginMiddlebox, Flags: "R", Seq: 4},
			{Frame: 8, From: "client", Origin: OriginClient, Secondary: true, Flags: "R", Seq: 4}},
	}
	t0 := time.Unix(1000, 0)
	clientRst := JointVerdict{Verdict: Verdict{Frame: 7, From: "client", Origin: "client"}, File: b, Event: 3,
		Confidence: 0.9, Sightings: []Sighting{{b, 7}}}
	build := func(vs ...JointVerdict) *PairRun {
		pr := &PairRun{Scenario: s, Pair: Pair{AtClient, AtServer}, Files: [2]string{a, b},
			Vantage:  map[string]Vantage{a: AtClient, b: AtServer},
			Joint:    &Joint{Verdicts: vs, Inputs: []InputClock{{File: a}, {File: b}}},
			Verdicts: map[Vantage]map[int]JointVerdict{AtClient: {}, AtServer: {}},
			rstAt:    map[Vantage]map[int]time.Time{AtClient: {5: t0}, AtServer: {7: t0, 8: t0}},
			first:    map[Vantage]time.Time{AtClient: t0.Add(-time.Second), AtServer: t0.Add(-time.Second)},
			last:     map[Vantage]time.Time{AtClient: t0.Add(time.Second), AtServer: t0.Add(time.Second)}}
		byFile := map[Vantage][]Verdict{}
		for _, v := range vs {
			pr.Verdicts[pr.Vantage[v.File]][v.Frame] = v
			byFile[pr.Vantage[v.File]] = append(byFile[pr.Vantage[v.File]], v.Verdict)
		}
		for _, vt := range []Vantage{AtClient, AtServer} {
			pr.Judged = append(pr.Judged, Judge(s.Name, vt, truth[vt], byFile[vt])...)
		}
		return pr
	}
	good := []JointVerdict{
		{Verdict: Verdict{Frame: 5, From: "server", Origin: "middlebox"}, File: a, Event: 1, Confidence: 0.95,
			Sightings: []Sighting{{a, 5}}},
		{Verdict: Verdict{Frame: 7, From: "client", Origin: "middlebox"}, File: b, Event: 2, Confidence: 0.7,
			Findings: []JointFinding{{ProofRules[0]}}, Sightings: []Sighting{{b, 7}}},
		{Verdict: Verdict{Frame: 8, From: "client", Origin: "client"}, File: b, Event: 3, Confidence: 0.9,
			Sightings: []Sighting{{b, 8}}},
	}
	if ps, _ := build(good...).Problems(allowedPairUnknown); len(ps) != 0 {
		t.Errorf("consistent pair: %q", ps)
	}
	// The client's capture ends before the forged RST reaches the server:
	// it cannot show that it covered the moment, no proof is required.
	early := build(good...)
	early.last[AtClient] = t0.Add(-time.Millisecond)
	early.Verdicts[AtServer][7] = JointVerdict{Verdict: good[1].Verdict, File: b, Event: 2, Confidence: 0.7}
	if ps, _ := early.Problems(allowedPairUnknown); len(ps) != 0 {
		t.Errorf("capture ending before the RST: %q", ps)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(vs []JointVerdict)
	}{
		{"event with two origins", "has 2 origins", func(vs []JointVerdict) { vs[2].Event = 2 }},
		{"not proven", "not proven", func(vs []JointVerdict) { vs[1].Findings = nil }},
		{"sightings without itself", "do not include itself", func(vs []JointVerdict) { vs[0].Sightings = nil }},
		{"another packet sighted", "is another packet", func(vs []JointVerdict) {
			vs[0].Sightings = []Sighting{{a, 5}, {b, 7}}
			vs[1].Sightings = []Sighting{{b, 7}, {a, 5}}
			vs[1].Event = 1
		}},
		{"wrong origin", "truth is from client origin middlebox", func(vs []JointVerdict) { vs[1] = clientRst }},
	} {
		vs := slices.Clone(good)
		tc.edit(vs)
		ps, _ := build(vs...).Problems(allowedPairUnknown)
		if !strings.Contains(strings.Join(ps, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one with %q", tc.name, ps, tc.want)
		}
	}
}

func TestNearerSender(t *testing.T) {
	router := Scenario{Injector: []string{"-mode", "rst"}}
	mbox := Scenario{Rules: []Rule{{Mbox, "FORWARD", ""}}}
	fromServer := TruthRow{From: "server", Origin: OriginMiddlebox}
	fromClient := TruthRow{From: "client", Origin: OriginMiddlebox}
	for _, tc := range []struct {
		s    Scenario
		p    Pair
		t    TruthRow
		want []Vantage
	}{
		{router, Pair{AtClient, AtServer}, fromServer, []Vantage{AtServer}},
		{router, Pair{AtRouterIn, AtRouterOut}, fromServer, []Vantage{AtRouterOut}},
		{router, Pair{AtRouterIn, AtRouterOut}, fromClient, []Vantage{AtRouterIn}},
		{mbox, Pair{AtClient, AtRouterOut}, fromServer, nil},
		{mbox, Pair{AtClient, AtServer}, fromServer, []Vantage{AtServer}},
		{router, Pair{AtClient, AtServer}, TruthRow{From: "server", Origin: OriginServer}, nil},
	} {
		if got := nearerSender(tc.s, tc.p, tc.t); !slices.Equal(got, tc.want) {
			t.Errorf("nearerSender(forger at %v, %s, from %s origin %s) = %v, want %v", tc.s.forger(), tc.p,
				tc.t.From, tc.t.Origin, got, tc.want)
		}
	}
}

func TestReadJoint(t *testing.T) {
	in := `{"file":"a.pcap","frame":5,"origin":"middlebox","confidence":0.97,"event":1,"findings":[{"rule":"ttl.mismatch"}],"sightings":[{"file":"a.pcap","frame":5},{"file":"b.pcap","frame":9}]}
{"summary":{"rsts":1,"joint":{"inputs":[{"input":"a.pcap","role":"client","offset_ms":0,"uncertainty_ms":0,"matched":1,"unmatched":0},{"input":"b.pcap","role":"server","offset_ms":7501.2,"uncertainty_ms":10.5,"matched":1,"unmatched":2}],"pairs":[]}}}
`
	j, err := ReadJoint(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Verdicts) != 1 || j.Verdicts[0].Event != 1 || len(j.Verdicts[0].Sightings) != 2 || j.Verdicts[0].Findings[0].Rule != "ttl.mismatch" {
		t.Errorf("verdicts %+v", j.Verdicts)
	}
	want := []InputClock{{"a.pcap", 0, 0, true, 1, 0}, {"b.pcap", 7501.2, 10.5, true, 1, 2}}
	if !slices.Equal(j.Inputs, want) {
		t.Errorf("clocks %+v, want %+v", j.Inputs, want)
	}
	pr := &PairRun{Scenario: Scenario{Name: "x"}, Pair: Pair{AtClient, AtServer}, Shift: clockShift, Joint: j,
		Vantage: map[string]Vantage{"a.pcap": AtClient, "b.pcap": AtServer}}
	if ps := pr.ClockProblems(); len(ps) != 0 {
		t.Errorf("offset 7501.2 ± 10.5 ms for a 7.5 s shift: %q", ps)
	}
	pr.Shift = 7 * time.Second
	if ps := pr.ClockProblems(); len(ps) != 1 {
		t.Errorf("offset 7501.2 ± 10.5 ms for a 7 s shift: %q", ps)
	}
}
