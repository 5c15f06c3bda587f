package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/rstscope/rstscope/rstanalysis"
)

func TestTally(t *testing.T) {
	vs := fixture()
	w := newTextWriter(io.Discard, Options{})
	for i := range vs {
		if err := w.Write(&vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	tl, bk := w.tally, w.book
	if tl.total != len(vs) {
		t.Fatalf("total = %d, want %d", tl.total, len(vs))
	}
	sum := 0
	for _, n := range tl.byOrigin {
		sum += n
	}
	if sum != len(vs) {
		t.Errorf("origins add up to %d, want %d", sum, len(vs))
	}
	events, rsts := 0, 0
	for _, r := range tl.causeRows(bk) {
		events += r.events
		rsts += r.rsts
	}
	if n, _, _ := bk.events(); events != n || rsts != len(vs) {
		t.Errorf("origin × cause rows add up to %d events and %d RSTs, want %d and %d", events, rsts, n, len(vs))
	}
	srvEvents, srvRSTs := 0, 0
	for _, r := range tl.serverRows() {
		srvEvents += r.events
		srvRSTs += r.rsts
	}
	if srvEvents != 7 || srvRSTs != len(vs) {
		t.Errorf("server rows add up to %d events and %d RSTs, want 7 and %d", srvEvents, srvRSTs, len(vs))
	}
	ev, follow, _ := bk.events()
	first := tl.causeRows(bk)[0]
	// Counted by hand from the fixture.
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"events", ev, 7},
		{"follow-ups", follow, 3},
		{"connections", len(tl.conns), 7},
		{"servers", len(tl.servers), 5},
		{"middlebox RSTs", tl.byOrigin[rstanalysis.OriginMiddlebox], 5},
		{"server RSTs", tl.byOrigin[rstanalysis.OriginServer], 3},
		{"first cause row", fmt.Sprint(first.origin, first.cause, first.events, first.rsts, first.conns, first.servers),
			"server keepalive_reuse 1 1 1 1"},
		{"injected row", causeRowOf(tl, bk, rstanalysis.CauseInjected), "1 event, 4 RSTs"},
		{"top server", endpoint(tl.serverRows()[0].server), "10.0.0.9:8080"},
		{"top server connections", tl.serverRows()[0].conns, 2},
		{"IPv6 server", serverSummary(tl, "[2001:db8:2::443]:443"), "2 events; server 2; keepalive_reuse 1, server_abort 1"},
		{"injected server", serverSummary(tl, "93.184.216.34:443"), "1 events; middlebox 1; injected 1"},
		{"vantage", tl.vantageNote(), "client host (5 reset connections), between client and server (1), unknown (1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func causeRowOf(tl *tally, bk *book, c rstanalysis.Cause) string {
	for _, r := range tl.causeRows(bk) {
		if r.cause == c {
			return fmt.Sprintf("%s, %s", plural(r.events, "event"), plural(r.rsts, "RST"))
		}
	}
	return "no row"
}

func serverSummary(tl *tally, server string) string {
	for _, r := range tl.serverRows() {
		if endpoint(r.server) == server {
			return fmt.Sprintf("%d events; %s; %s", r.events, r.origins, r.causes)
		}
	}
	return "no row for " + server
}

func TestGroup(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"}, {1234567, "1,234,567"}} {
		if got := Group(tt.n); got != tt.want {
			t.Errorf("Group(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
