// Package rstanalysis attributes every TCP RST of a capture: who really sent
// it (server, client, middlebox or unknown), at what phase of the exchange,
// the likely cause, a confidence, and the evidence in words.
//
// # Evidence
//
// Each rule compares the RST with the packets of the side whose address it
// carries: the answer to a SYN (RFC 9293 §3.10.7), TTL and hop limit and
// IPv4 ID against that side's own packets (Cloudflare, SIGCOMM 2023), the
// race of packets that follow it (Weaver, Sommer and Paxson, NDSS 2009),
// bursts of RSTs (Wang et al., IMC 2017), timing against the handshake's
// round-trip legs, crafted flags and netfilter's shape, sequence numbers,
// idle gaps, a payload, a RST with no connection around it (Zeek #1119),
// the link-layer next hop and the IPv4 IDs of the sender across its
// connections (rules_path.go, hostipid.go), and as context the tunnel a
// RST came through (its endpoints and outer TTL). A
// verdict waits Config.Grace of capture time after its RST, because the
// packets that follow are evidence, and is final when the input ends.
//
// Every rule that fires leaves a Finding: its stable RuleID
// ("timing.too_fast"), its signed weight, its text and the frames it
// compared the RST with. Rules lists the ids with their sources. The rules
// that judge a RST when it arrives are rstRules, on the connection as it was
// before the RST; those that need what followed are endRules, run when the
// verdict is decided.
//
// # Decision
//
// Evidence weighs for or against "the claimed sender made this RST".
// Evidence a forger cannot match for free (crafted flags, a TTL from
// elsewhere, the physics of timing, the sender still talking) outweighs what
// an on-path forger matches by watching (a correct seq, a plausible delay).
// The origin is a middlebox only on strong evidence of forgery, the claimed
// side only on evidence for it and none against; otherwise it is unknown,
// with confidence 0: a wrong "middlebox" sends an incident review down the
// wrong path.
//
// # Files
//
// verdict.go holds the verdict's types, rules.go the rule ids and weights,
// rules_*.go one function per rule by concern (packet shape, TTL, IP ID,
// sequence numbers, timing, what followed, vendors' reset reasons), phase.go
// the phase and the reset event, decide.go origin, confidence and cause,
// vantage.go the vantage point, ladder.go the segments around a RST that a
// verdict carries for a sequence diagram, names.go the lists of origins,
// causes and rules, pending.go a verdict in the making (and its record's
// reuse once emitted), lend.go the copies of lent verdicts (Config.Lend)
// that Sharded's chunks keep, analyzer.go the connection table's hooks
// and the queue of verdicts, sharded.go the workers (handover.go the
// batches they are handed, prefetchw_*.go the claim on a batch's lines
// before they are written), flush.go the end of the input (FlushBy: a
// deadline for a run being stopped), hosts.go the cross-connection host table (hosttab.go,
// hostv4.go, hostv6.go and hostsyn.go its tables), witness.go evidence
// from outside the capture (Config.Witness: the capturing host's kernel,
// whose word that it sent a RST is proof and settles the verdict).
//
// # Cross-connection evidence and workers
//
// Hosts remembers each address's SYN or SYN-ACK TTL and RTT, a weaker
// reference for a RST with no other packet of its own (a refusal). It must
// see packets in capture order: Sharded keeps it in the reading goroutine,
// hands each RST a snapshot, spreads connections over workers by their
// 5-tuple and merges verdicts back into capture order, so the output is the
// same for any number of workers.
//
// Offline (Config.Hindsight, hindsight.go) a verdict that lacked a
// reference for its sender waits for the table to learn it from later
// connections; live (Config.Revise, revise.go) it goes out at once and is
// emitted again, with Verdict.Revision, when they settle it.
//
// # Several captures of one incident
//
// A Trace keeps a compact record of each connection of one input (trace.go);
// Joint reads the Traces and verdicts of several inputs together: it
// matches connections across them (joint_match.go: 5-tuple and ISNs, or
// through NAT the ISNs and payload), bounds each input's clock offset from
// the packets two inputs share (joint_clock.go), finds the sightings of each
// RST packet (joint_rst.go), judges each packet once with the rules joint.*
// (joint_judge.go: seen leaving its sender, absent where its sender's
// capture covers the moment, a connection that never reached the sender's
// side, hops, lost on the path) and regroups the events so that none holds
// two origins (joint_event.go).
package rstanalysis
