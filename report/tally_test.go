package report

import (
	"fmt"
	"math"
	"testing"

	"github.com/rstscope/rstscope/rstanalysis"
)

func TestTally(t *testing.T) {
	vs := fixture()
	tl := newTally()
	for i := range vs {
		tl.add(&vs[i])
	}
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
	rowSum, share := 0, 0.0
	for _, r := range tl.causeRows() {
		rowSum += r.rsts
		share += r.share
	}
	if rowSum != len(vs) || math.Abs(share-1) > 1e-9 {
		t.Errorf("origin × cause rows add up to %d RSTs and share %v, want %d and 1", rowSum, share, len(vs))
	}
	srvSum := 0
	for _, r := range tl.serverRows() {
		srvSum += r.rsts
	}
	if srvSum != len(vs) {
		t.Errorf("server rows add up to %d, want %d", srvSum, len(vs))
	}

	// Counted by hand from the fixture.
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"connections", len(tl.conns), 7},
		{"servers", len(tl.servers), 5},
		{"middlebox RSTs", tl.byOrigin[rstanalysis.OriginMiddlebox], 5},
		{"server RSTs", tl.byOrigin[rstanalysis.OriginServer], 3},
		{"first cause row", fmt.Sprint(tl.causeRows()[0]), fmt.Sprint(causeRow{rstanalysis.OriginServer, rstanalysis.CauseKeepaliveReuse, 1, 0.1, 1, 1})},
		{"top server", endpoint(tl.serverRows()[0].server), "93.184.216.34:443"},
		{"top server connections", tl.serverRows()[0].conns, 1},
		{"IPv6 server", serverSummary(tl, "[2001:db8:2::443]:443"), "2 RSTs; server 2; keepalive_reuse 1, server_abort 1"},
		{"IPv4 server", serverSummary(tl, "10.0.0.9:8080"), "2 RSTs; client 1, server 1; client_abort 1, refused 1"},
		{"vantage", tl.vantageNote(), "client host (5 connections), between client and server (1 connection), unknown (1 connection)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func serverSummary(tl *tally, server string) string {
	for _, r := range tl.serverRows() {
		if endpoint(r.server) == server {
			return fmt.Sprintf("%d RSTs; %s; %s", r.rsts, r.origins, r.causes)
		}
	}
	return "no row for " + server
}
