// Package pipeline is rstscope's one packet loop: it moves the TCP segments
// of capture sources through an RST analysis into a report, and builds the
// report's summary. Both `rstscope read` (capture files) and `rstscope live`
// (an interface) run through Run; what differs between them is set in
// Options, not written as a second loop.
//
// # What it owns
//
//   - The loop: open each Input in turn, read its Source to the end, hand
//     every segment to a fresh Analyzer (and to an optional Saver), flush
//     the Analyzer, and pass every verdict it emits to the Sink.
//   - Stopping: a cancelled context, Options.Count and Options.Duration
//     end the run; a Sink that fails stops it; a Source that fails part-way
//     ends its input with a warning, and the results so far are still
//     written. When no input can be opened, nothing is written at all. A
//     read that a cancelled context cut short still decides its pending
//     verdicts and writes its report, and Run says so (ErrInterrupted).
//   - Opening capture files so that a cancel ends a read at once wherever
//     it waits (OpenFile): among frames that are not TCP, on a pipe or
//     standard input with nothing to read, in opening a FIFO that has no
//     writer.
//   - The summary: one report.Summary built from every input's
//     capture.Stats, the analysis' table counters (rstanalysis.Stats) and
//     RST count, and the warnings gathered on the way (damage, undecodable
//     frames, frames the kernel dropped, evicted connections, interruption),
//     each also written to Options.Log.
//   - What a live capture needs around the loop, each an option: reading on
//     a goroutine of its own through a fixed pool of packet buffers (a free
//     and a full queue, so the loop never allocates per packet), a
//     wall-clock tick that releases verdicts on a quiet interface and
//     redraws the status line, the watch on the interface going down, and
//     the frames of reset connections saved through package keep to a file
//     cut back to its last whole record when the disk fills up.
//   - What a file read needs: the progress bar, and per-input verdict file
//     names when there are several inputs; with Options.Joint, the joint
//     stage (joint.go): a rstanalysis.Trace per input, the verdicts held
//     until the last input was read, rstanalysis.Joint, then the writing
//     and the summary's Joint.
//   - What a server's live capture adds: the kernel's testimony opened as
//     --kernel says (OpenKernel, package internal/kernel; one line when the
//     host cannot give it), an Observer told of every verdict and of the
//     counters (the metrics of package internal/metrics), and Notes for the
//     summary.
//
// # What it does not own
//
// Decoding is package capture's, attribution package rstanalysis's and
// rendering package report's; flags, argument parsing and exit statuses
// belong to internal/cli. The boundaries are small interfaces (Source,
// Analyzer, Sink, Saver) that those packages' types satisfy, so a test can
// drive the loop with a Source over packets held in memory.
package pipeline
