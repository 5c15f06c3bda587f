package lab

import (
	"fmt"
	"net/netip"
	"strings"
)

// Vantage names a capture point.
type Vantage string

// The capture points of every scenario.
const (
	AtClient    Vantage = "client"     // the client's own interface
	AtRouterIn  Vantage = "router-in"  // the router's client-facing interface
	AtRouterOut Vantage = "router-out" // the router's interface toward the scenario's server
	AtServer    Vantage = "server"     // the server's own interface
)

// Vantages lists the capture points in path order.
var Vantages = []Vantage{AtClient, AtRouterIn, AtRouterOut, AtServer}

// Role is where v is, as rstscope's --vantage names it: client, server or
// router (on the path).
func (v Vantage) Role() string {
	switch v {
	case AtClient:
		return "client"
	case AtServer:
		return "server"
	}
	return "router"
}

// Origin is who truly sent a RST: "client", "server" or "middlebox" (the
// router's firewall, the injector, or the second-hop middlebox).
type Origin string

// Origins.
const (
	OriginClient    Origin = "client"
	OriginServer    Origin = "server"
	OriginMiddlebox Origin = "middlebox"
)

// Label is the designed meaning of a RST: phase and cause as the values of
// rstanalysis.Phase and rstanalysis.Cause (listed in docs/json.md), and the
// program or rule that sent it.
type Label struct {
	Phase, Cause, Sender string
}

// secondaryLabel is the label of an endpoint kernel answering a segment that
// arrived after the connection was reset.
func secondaryLabel(o Origin) Label {
	return Label{Phase: "after_reset", Cause: "late_segment", Sender: string(o) + " kernel: answers a segment after the reset"}
}

// Rule is one iptables (or, for IPv6 scenarios, ip6tables) rule the
// scenario appends to Chain of the filter table in Role's namespace.
type Rule struct {
	Role  Role
	Chain string
	Spec  string
}

// Sysctl is a setting a scenario changes in a namespace and restores after.
type Sysctl struct {
	Role       Role
	Key, Value string
}

// CounterCheck requires a kernel counter (nstat name) in a namespace to grow
// by at least Min during the scenario.
type CounterCheck struct {
	Role Role
	Name string
	Min  int
}

// Scenario is one designed reset, run for a few seconds.
type Scenario struct {
	Name   string
	Family Family
	// Far is the server's namespace: Server (behind the delay line) or
	// Server2 (behind the second-hop middlebox).
	Far  Role
	Port uint16
	// Server and Client are labnode flags after -listen and -connect; a nil
	// Server means nothing listens.
	Server, Client []string
	Rules          []Rule
	Sysctls        []Sysctl
	// Injector holds labnode injector flags (run in the router); nil: none.
	Injector []string
	// Crash kills the server silently after its first answer (its FIN and
	// RST dropped, its socket destroyed): the client's next request meets a
	// host with no state.
	Crash bool
	// Expect is the label of the designed (non-secondary) RSTs by true origin.
	// A designed RST of an origin not listed here is a lab error.
	Expect   map[Origin]Label
	Counters []CounterCheck
	// ExtraOutRsts counts RSTs a namespace's kernel sends that no capture can
	// show (dropped on purpose by the scenario).
	ExtraOutRsts map[Role]int
	// NAT, when set, is the source the router translates the client to on
	// its server-facing interface ("10.77.2.1:40000-40100", iptables SNAT
	// --to-source): router-out and server see another 5-tuple for the same
	// connection than client and router-in.
	NAT string
	// ExportAll makes Export copy the captures of every vantage (NAT
	// scenarios always).
	ExportAll bool
}

// natted reports whether a vantage sees the connection after the router's
// source NAT.
func (s Scenario) natted(v Vantage) bool {
	return s.NAT != "" && (v == AtRouterOut || v == AtServer)
}

// natArgv is the iptables command that appends (op "-A") or deletes (op
// "-D") the router's SNAT rule for the scenario's port; nil without NAT.
func (s Scenario) natArgv(op string) []string {
	if s.NAT == "" {
		return nil
	}
	_, out := s.capturePoint(AtRouterOut)
	return []string{s.iptables(), "-t", "nat", op, "POSTROUTING", "-o", out, "-p", "tcp",
		"--dport", fmt.Sprint(s.Port), "-j", "SNAT", "--to-source", s.NAT}
}

// ServerAddr is the scenario's server endpoint.
func (s Scenario) ServerAddr() netip.AddrPort {
	if s.Far == Server2 {
		return netip.AddrPortFrom(Server2Addr(s.Family), s.Port)
	}
	return netip.AddrPortFrom(ServerAddr(s.Family), s.Port)
}

// ClientAddr is the scenario's client address (its port is ephemeral).
func (s Scenario) ClientAddr() netip.Addr { return ClientAddr(s.Family) }

// capturePoint returns the namespace and interface of a vantage.
func (s Scenario) capturePoint(v Vantage) (Role, string) {
	switch v {
	case AtClient:
		return Client, "c0"
	case AtRouterIn:
		return Router, "r0"
	case AtRouterOut:
		if s.Far == Server2 {
			return Router, "r2"
		}
		return Router, "r1"
	}
	if s.Far == Server2 {
		return Server2, "s2"
	}
	return Server, "s0"
}

// CaptureFile is the file name of a scenario's capture at a vantage: the
// router-in captures are pcapng with nanosecond timestamps, the others
// classic pcap with microseconds.
func (s Scenario) CaptureFile(v Vantage) string {
	if v == AtRouterIn {
		return fmt.Sprintf("%s.%s.pcapng", s.Name, v)
	}
	return fmt.Sprintf("%s.%s.pcap", s.Name, v)
}

// TruthFile is the file name of a capture's ground truth.
func (s Scenario) TruthFile(v Vantage) string {
	return fmt.Sprintf("%s.%s.truth.tsv", s.Name, v)
}

func (s Scenario) iptables() string {
	if s.Family == 6 {
		return "ip6tables"
	}
	return "iptables"
}

func fields(s string) []string { return strings.Fields(s) }
