// Package metrics serves what `rstscope live --metrics ADDR` counts, in the
// Prometheus exposition format (github.com/prometheus/client_golang), for
// a fleet of servers to graph and alert on in the system it already has.
//
// # What it owns
//
//   - The series and their names, after Prometheus's conventions (a
//     rstscope_ prefix, _total for counters, base units: _seconds):
//     rstscope_rsts_total and rstscope_reset_events_total by origin, cause,
//     phase, vantage and server port; rstscope_findings_total by rule;
//     rstscope_verdict_delay_seconds; the capture's counters (frames, TCP
//     packets, kernel drops, open, evicted and expired connections, pending
//     verdicts); the kernel's reset events by reason (package kernel); the
//     Go runtime's and the process's.
//   - Bounded label sets: origin, cause, phase and rule are the small enums
//     of package rstanalysis; vantage is reduced to five values (Vantage);
//     the server port keeps a value of its own for the first Config.Ports
//     ports seen and "other" for the rest. A series once created keeps
//     counting, so a rate never jumps because a port changed label.
//   - The HTTP server (Serve), opened before the capture so that an address
//     in use is reported at once.
//
// # What it does not own
//
// The counting happens in internal/pipeline, which hands every verdict and
// its counters to an Observer (Metrics is one); attribution and the
// kernel's reasons belong to rstanalysis and internal/kernel.
package metrics
