// Package kernel asks the Linux kernel of the capturing host why it sent,
// or took, each RST of a live capture: it reads the tracepoints
// tcp:tcp_send_reset (with its reason, enum sk_rst_reason, since Linux
// 6.10; the reasons of active resets, such as TCP_ABORT_ON_CLOSE, since
// 6.12, NOT_SPECIFIED before) and tcp:tcp_receive_reset, and joins each event with the RST on
// the wire by addresses, ports and time. The result is testimony for
// package rstanalysis (a Witness): "this host's TCP stack sent it because
// the application closed the socket with unread data", stronger than any
// inference from packets, or, for a RST that left this host with no event,
// "its TCP stack did not make it": netfilter's REJECT builds its RST
// without the stack (nf_send_reset), as does a raw socket.
//
// # What it owns
//
//   - A tracefs instance of its own (ROOT/instances/rstscope-PID): its own
//     ring buffer with only the two tcp events enabled, its trace clock
//     set to CLOCK_MONOTONIC, read through its own trace_pipe. The global
//     trace, and any other tool's instance, are left alone; Close removes
//     the instance, and an instance left by a killed rstscope is removed by
//     the next one.
//   - Parsing trace_pipe's lines (ParseLine) and the meaning of each
//     reason: the rule id of its finding and the cause it maps onto, each
//     with the kernel function that sends it (reasons.go).
//   - The join: events are held for Options.Retain, indexed by 4-tuple, by
//     a listener's port and by destination; a RST takes the nearest unused
//     event within 250 ms. Absence is claimed only when it means
//     something: events were recorded before the RST, read until 50 ms
//     after it (a marker written to the trace wakes the reader and shows
//     where it is), and none were lost around it.
//   - This host's addresses (of its network namespace): only RSTs from or
//     to them are asked about.
//
// # Why tracefs and not eBPF
//
// A BPF program (github.com/cilium/ebpf, a tp_btf or raw tracepoint) would
// need an object compiled from C, committed with its generator, and
// CAP_BPF and CAP_PERFMON; it would get the reason as a number, whose
// values differ between kernel versions (the reasons of active resets,
// TCP_ABORT_ON_CLOSE to TCP_DISCONNECT_WITH_DATA, came in 6.12, inserted
// before the MPTCP codes), to be mapped through BTF. The tracepoint's
// own print format names the reason and the state in the kernel's words, so
// the text of trace_pipe is version-proof, and an instance costs no
// dependency. Its price is formatting text: the kernel formats each event
// when it is read, not when it fires, and resets are rare next to packets.
// The cost per reset is measured in docs/live.md.
//
// # Limits
//
// Tracepoints are global: the events of every network namespace arrive,
// and only addresses tell them apart (two namespaces with the same
// addresses would be confused). A RST whose source this host's NAT
// rewrote is joined by its destination alone. Reading tracefs needs root
// (or CAP_DAC_OVERRIDE) and tracefs mounted; `ip netns exec` mounts a fresh
// /sys without it. Open says which is missing, in one line.
package kernel
