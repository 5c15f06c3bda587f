package pipeline

import (
	"slices"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/rstanalysis"
)

// jointStage reads several capture files as one incident: it keeps a
// rstanalysis.Trace of each input and holds its verdicts back; after the
// last input rstanalysis.Joint judges every RST once with every input's
// evidence, and only then are the verdicts written.
type jointStage struct {
	roles  map[string]string
	names  []string
	traces []*rstanalysis.Trace
	held   [][]*rstanalysis.Verdict
	cur    *rstanalysis.Trace // the input being read
}

func newJointStage(roles map[string]string) *jointStage {
	return &jointStage{roles: roles}
}

// start begins input name (its verdicts' File is file).
func (js *jointStage) start(name, file string) {
	js.cur = rstanalysis.NewTrace(file)
	js.names = append(js.names, name)
	js.traces = append(js.traces, js.cur)
	js.held = append(js.held, nil)
}

// end closes the current input with its Source's counters.
func (js *jointStage) end(st capture.Stats) {
	js.cur.Dropped = st.Dropped + st.IfDropped
}

// hold keeps a copy of v, deep enough that the Analyzer may reuse v.
func (js *jointStage) hold(v *rstanalysis.Verdict) {
	c := *v
	c.Findings = slices.Clone(v.Findings)
	for i := range c.Findings {
		c.Findings[i].Frames = slices.Clone(c.Findings[i].Frames)
	}
	if v.Ladder != nil {
		l := *v.Ladder
		l.Segments = slices.Clone(v.Ladder.Segments)
		c.Ladder = &l
	}
	js.held[len(js.held)-1] = append(js.held[len(js.held)-1], &c)
}

// judge runs the joint judgement, if the inputs are captures of one
// incident (rstanalysis.Related), and passes every verdict, in input order
// and capture order within each, to write; related is false when they are
// not, and the verdicts are then written as each input's analysis made
// them, as if read one by one.
func (js *jointStage) judge(write func(*rstanalysis.Verdict)) (res rstanalysis.JointResult, related bool) {
	if related = rstanalysis.Related(js.traces); related {
		roles := make([]string, len(js.names))
		for i, n := range js.names {
			roles[i] = js.roles[n]
		}
		res = rstanalysis.Joint(js.traces, js.held, rstanalysis.JointConfig{Roles: roles})
	}
	for i, vs := range js.held {
		for _, v := range vs {
			write(v)
		}
		js.held[i] = nil
	}
	return res, related
}
