// Package lab builds a small network of Linux network namespaces, makes the
// real kernel, a real firewall and an on-path injector send every kind of TCP
// reset, captures them with tcpdump at four vantage points, and records the
// ground truth of who sent each RST. It is rstscope's accuracy test and the
// source of the captures under testdata/lab.
//
// # Topology
//
//	client ── router ── delay ── server            (10.77.1.0/24 → 10.77.2.0/24, fd77:1::/64 → fd77:2::/64)
//	             └──── mbox ──── delay2 ── server2 (10.77.3.0/24, 10.77.4.0/24, fd77:3::/64, fd77:4::/64)
//
// The router forwards (it decrements TTL and hop limit) and can run iptables
// rules and the injector. "delay" is a userspace layer-2 relay (AF_PACKET in,
// sleep, AF_PACKET out) because this kernel has no sch_netem: it makes the
// server far (10 ms each way) and the router near, and leaves frames
// untouched. delay2 does the same for server2. The server's initial TTL and
// hop limit are 128; everyone else's are 64. mbox is a second router, so a
// firewall there is two hops from the client. Neighbour entries are permanent, so captures hold no ARP or ND.
//
// # Vantage points
//
// Each scenario is captured at the client (client's interface), router-in
// (the router's client-facing interface), router-out (the router's interface
// toward the scenario's server) and server (the server's own interface). In
// the NAT scenarios the router source-NATs the client on its server-facing
// interface: router-out and server see the connection under another
// 5-tuple.
//
// # Ground truth
//
// Truth is mechanical, not asserted: a RST that claims an endpoint's address
// truly came from that endpoint iff the same segment (addresses, ports, seq,
// ack, flags) appears in the capture taken on that endpoint's own interface;
// otherwise something on the path made it. Through the NAT the segments
// compare after the translation is undone: the client's SYN, found on both
// sides of the router by destination, ISN and IPv4 ID, gives it. The label of each RST (which
// program or rule sent it) comes from the scenario's design and is
// cross-checked against the kernels' counters (nstat in each namespace), the
// iptables rule counters and the injector's log. An endpoint's RST is
// secondary when its own capture had already seen a RST on that connection.
//
// # Scoring
//
// The test scores rstscope on each capture alone, then on Pairs of captures
// read together (rstscope read -o json A B): every record is judged against
// its own file's truth, every event must have one origin, and the
// client+server pair is read again with the server's clock shifted.
//
// # Trade-offs
//
// The lab needs root (namespaces, iptables, AF_PACKET) and runs its
// scenarios one at a time so the per-namespace counters belong to one
// scenario; a full run takes about a minute. Scenarios that race an injector
// against the real server are made deterministic by delaying the forged RST
// toward the server by a few milliseconds.
package lab
