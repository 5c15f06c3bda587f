// Package deploy holds the files that run rstscope on a fleet of servers
// (docs/fleet.md), and the tests that check them: the systemd unit
// (systemd/rstscope.service), Prometheus's scrape job, recording rules and
// alerts (prometheus/), the Vector pipeline that ships the verdicts
// (vector/), and the ClickHouse table they land in (clickhouse/). It has no
// code; `go test ./deploy` runs systemd-analyze and promtool on the files
// where they are installed (Debian packages systemd and prometheus) and
// fails without them in CI.
package deploy
