package report

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TestTableFitsWidth: at any width, every line of the table format fits,
// in every mode (events, RSTs, streamed, verbose), IPv6 endpoints included.
func TestTableFitsWidth(t *testing.T) {
	for _, width := range []int{0, 80, 100, 120, 200} {
		for _, opts := range []Options{{}, {RSTs: true}, {Stream: true}, {Verbose: true}, {Stream: true, Verbose: true}} {
			opts.Width = width
			t.Run(fmt.Sprintf("width=%d/%+v", width, opts), func(t *testing.T) {
				out := render(t, FormatTable, opts, withLadders(fixture()), fixtureSummary)
				limit := width
				if limit == 0 {
					limit = defaultWidth
				}
				for i, line := range strings.Split(string(out), "\n") {
					if w := twwidth.Width(line); w > limit {
						t.Errorf("line %d is %d columns, want at most %d:\n%s", i+1, w, limit, line)
					}
				}
			})
		}
	}
}

// TestEventsAndFollowUps: the default list has one line per reset event,
// its RSTs counted in it; the summaries count events and connections, and
// the follow-ups apart.
func TestEventsAndFollowUps(t *testing.T) {
	out := string(render(t, FormatTable, Options{Width: 200}, fixture(), fixtureSummary))
	for _, want := range []string{
		"7 reset events on 7 connections; 10 RSTs, of which 3 follow-ups (212 connections tracked)",
		"Follow-ups, the RSTs after the first of their event: 3 (middlebox injected 3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	list := out[strings.Index(out, "FRAME"):strings.Index(out, "Reset events per")]
	for _, f := range []string{" 58 ", " 59 ", " 60 "} {
		if strings.Contains(list, f) {
			t.Errorf("follow-up frame%slisted as an event:\n%s", f, list)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+57 .*injected\s+4\b`).MatchString(list) {
		t.Errorf("event 57 does not count its 4 RSTs:\n%s", list)
	}
}

// TestMaxRows checks the cap on the list: per origin and cause the first
// event, then the latest, then events spread in time; a line counts the
// others, and the summaries are the same. With RSTs, the first RSTs.
func TestMaxRows(t *testing.T) {
	vs := fixture()
	all := string(render(t, FormatTable, Options{Width: 200}, vs, Summary{}))
	capped := string(render(t, FormatTable, Options{Width: 200, MaxRows: 2}, vs, Summary{}))
	if want := "Listed: 2 of 7 reset events"; !strings.Contains(capped, want) {
		t.Errorf("no line %q in\n%s", want, capped)
	}
	if strings.Contains(all, "Listed:") {
		t.Errorf("uncapped output says events are not listed:\n%s", all)
	}
	sumAt := func(s string) string { return s[strings.Index(s, "By origin and cause"):] }
	if sumAt(all) != sumAt(capped) {
		t.Errorf("summaries differ with MaxRows 2:\n%s\nwant\n%s", sumAt(capped), sumAt(all))
	}
	// The first cells in summary order are server refused (frame 3) and
	// server server_abort (frame 311).
	list := capped[:strings.Index(capped, "Listed:")]
	for _, f := range []uint64{3, 311, 57, 802} {
		want := f == 3 || f == 311
		if got := regexp.MustCompile(`(?m)^\s+` + strconv.FormatUint(f, 10) + ` `).MatchString(list); got != want {
			t.Errorf("frame %d listed = %v, want %v:\n%s", f, got, want, list)
		}
	}
	rsts := string(render(t, FormatTable, Options{Width: 200, MaxRows: 2, RSTs: true}, vs, Summary{}))
	if want := "8 more RSTs are not listed: the list stops at the first 2"; !strings.Contains(rsts, want) {
		t.Errorf("no line %q in\n%s", want, rsts)
	}
	w := newTextWriter(io.Discard, Options{MaxRows: 2, RSTs: true})
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.rows) != 2 || w.unlisted != len(vs)-2 || w.tally.total != len(vs) {
		t.Errorf("kept %d rows, %d unlisted, %d tallied; want 2, %d, %d", len(w.rows), w.unlisted, w.tally.total, len(vs)-2, len(vs))
	}
}

// TestRepresentativeEvents: over many events of one origin and cause, the
// list takes the first, the latest and events spread between them, and the
// writer keeps a bounded sample, not every event.
func TestRepresentativeEvents(t *testing.T) {
	base := fixture()[5] // 311, server_abort
	b := newBook(Options{MaxRows: 5})
	for i := range 1000 {
		v := base
		v.Frame, v.Event = uint64(1000+i), uint64(1000+i)
		v.Time = base.Time.Add(time.Duration(i) * time.Second)
		b.add(&v)
	}
	got := b.listed(5)
	var frames []uint64
	for _, e := range got {
		frames = append(frames, e.v.Frame)
	}
	if len(frames) != 5 || frames[0] != 1000 || frames[4] != 1999 {
		t.Fatalf("listed %v: want 5 events, the first (1000) and the latest (1999) among them", frames)
	}
	for i := 1; i < len(frames); i++ {
		if gap := frames[i] - frames[i-1]; gap < 100 {
			t.Errorf("listed %v: events %d and %d are %d apart, not spread over the run", frames, frames[i-1], frames[i], gap)
		}
	}
	s := b.cells[cellKey{rstanalysis.OriginServer, rstanalysis.CauseServerAbort}]
	if len(s.spread) > 6 {
		t.Errorf("the sampler keeps %d events for 5 rows", len(s.spread))
	}
}

func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "GET example.com/", "GET example.com/"},
		{"unicode kept", "ttl: 64 → 57 (7 hops)", "ttl: 64 → 57 (7 hops)"},
		{"ansi escape", "GET evil/\x1b[2J", `GET evil/\x1b[2J`},
		{"newline and tab", "a\nb\tc", `a\x0ab\x09c`},
		{"invalid utf-8", "host=\xff\xfe", `host=\xff\xfe`},
		{"c1 control", "x\u0085y", `x\x85y`},
		{"bidi override", "a\u202eb", `a\u202eb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 4, "abc…"},
		{"cut drops trailing space", "ab cdef", 4, "ab…"},
		{"arrow counts one column", "a → bcdef", 5, "a →…"},
		{"tiny", "abcdef", 1, "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.width)
			if got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
			if w := twwidth.Width(got); w > max(tc.width, 1) {
				t.Errorf("result is %d columns wide, want at most %d", w, tc.width)
			}
		})
	}
}

// TestLateSegmentReplies: a RST that only answers a segment after its
// connection had ended begins no event; it and its chain count as
// late-segment replies, in no event's row, as on nDPI's reddit.pcap.
func TestLateSegmentReplies(t *testing.T) {
	vs := fixture()[5:6] // 311, an event
	reply := vs[0]
	reply.Frame, reply.Event, reply.Cause, reply.Client = 400, 400, rstanalysis.CauseLateSegment, ap("[2001:db8:1::10]:40999")
	again := reply
	again.Frame = 401
	vs = append(vs, reply, again)
	out := string(render(t, FormatTable, Options{Width: 200}, vs, Summary{}))
	for _, want := range []string{"1 reset event on 1 connection; 3 RSTs, of which 2 late-segment replies",
		"Late-segment replies, the RSTs that answered a segment after their connection had ended, and those that followed them: 2 (server late_segment 2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if regexp.MustCompile(`(?m)^\s+40[01] `).MatchString(out[:strings.Index(out, "Reset events per")]) {
		t.Errorf("a late-segment reply is listed as an event:\n%s", out)
	}
}
