package lab

import "fmt"

// Senders: the program or rule behind each designed RST, as the truth files
// name them.
const (
	sendNoListener   = "server kernel: no listener on the port"
	sendServerLinger = "server kernel: close with SO_LINGER 0 (tcp_disconnect)"
	sendServerUnread = "server kernel: close with unread request data"
	sendServerFINW2  = "server kernel: request on a connection it closed with FIN (FIN_WAIT2 timewait socket)"
	sendServerNoSock = "server kernel: no socket after the process was killed"
	sendServerQueue  = "server kernel: accept queue overflow (tcp_abort_on_overflow)"
	sendClientLinger = "client kernel: close with SO_LINGER 0"
	sendClientUnread = "client kernel: close with unread response data"
	sendRouterReject = "router iptables REJECT --reject-with tcp-reset"
	sendMboxReject   = "mbox iptables REJECT --reject-with tcp-reset (string match)"
	sendRouterCT     = "router iptables REJECT: conntrack forgot the idle flow (ctstate INVALID)"
	sendInjector     = "injector in the router (AF_PACKET sniff, forged frames)"
)

// Scenarios returns every scenario of the lab, in run order.
func Scenarios() []Scenario {
	var list []Scenario
	port := uint16(8000)
	add := func(s Scenario) {
		port++
		s.Port = port
		if s.Far == "" {
			s.Far = Server
		}
		if s.Family == 0 {
			s.Family = 4
		}
		list = append(list, s)
	}
	endToEnd(add)
	onPath(add)
	stateful(add)
	later(add)
	return list
}

// ruleArgv is the iptables command that appends (op "-A") or deletes (op
// "-D") a rule, with the scenario's port filled in.
func (s Scenario) ruleArgv(r Rule, op string) []string {
	argv := []string{s.iptables(), op, r.Chain}
	return append(argv, fields(fmt.Sprintf(r.Spec, s.Port))...)
}

// endToEnd adds the scenarios run over both IP versions, in run order.
func endToEnd(add func(Scenario)) {
	for _, f := range []Family{4, 6} {
		sfx := ""
		if f == 6 {
			sfx = "-v6"
		}
		add(Scenario{Name: "closed-port" + sfx, Family: f,
			Client: fields("-mode connect"),
			Expect: map[Origin]Label{OriginServer: {"syn", "refused", sendNoListener}}})
		add(Scenario{Name: "server-abort-after-request" + sfx, Family: f,
			Server:   fields("-mode abort-after-request"),
			Client:   fields("-mode request"),
			Expect:   map[Origin]Label{OriginServer: {"request", "server_abort", sendServerLinger}},
			Counters: []CounterCheck{{Server, "TcpExtTCPAbortOnData", 1}}})
		add(Scenario{Name: "keepalive-reuse" + sfx, Family: f,
			Server: fields("-mode keepalive -idle 300ms"),
			Client: fields("-mode second-request -idle 600ms"),
			Expect: map[Origin]Label{OriginServer: {"closing", "keepalive_reuse", sendServerFINW2}}})
		add(Scenario{Name: "firewall-syn-reject" + sfx, Family: f,
			Server: fields("-mode respond"),
			Client: fields("-mode connect"),
			Rules:  []Rule{{Router, "FORWARD", "-p tcp --dport %d --syn -j REJECT --reject-with tcp-reset"}},
			Expect: map[Origin]Label{OriginMiddlebox: {"syn", "firewall_reject", sendRouterReject}}})
		add(Scenario{Name: "inject-rstack" + sfx, Family: f,
			Server:   fields("-mode respond"),
			Client:   fields("-mode request -keyword forbidden"),
			Injector: fields("-mode rstack -keyword forbidden"),
			Expect:   map[Origin]Label{OriginMiddlebox: {"request", "injected", sendInjector}}})
		add(Scenario{Name: "tls-reject" + sfx, Family: f,
			Server:   fields("-mode tls-abort"),
			Client:   fields("-mode tls -keyword blocked.example"),
			Expect:   map[Origin]Label{OriginServer: {"tls_handshake", "tls_reject", sendServerLinger}},
			Counters: []CounterCheck{{Server, "TcpExtTCPAbortOnData", 1}}})
	}
}

// onPath adds the scenarios of the endpoints' aborts, the firewalls and the
// injector, in run order.
func onPath(add func(Scenario)) {
	add(Scenario{Name: "server-close-unread",
		Server:   fields("-mode close-unread"),
		Client:   fields("-mode request"),
		Expect:   map[Origin]Label{OriginServer: {"request", "server_abort", sendServerUnread}},
		Counters: []CounterCheck{{Server, "TcpExtTCPAbortOnClose", 1}}})
	add(Scenario{Name: "server-abort-mid-response",
		Server:   fields("-mode abort-mid-response -body 3000"),
		Client:   fields("-mode request"),
		Expect:   map[Origin]Label{OriginServer: {"response", "server_abort", sendServerLinger}},
		Counters: []CounterCheck{{Server, "TcpExtTCPAbortOnData", 1}}})
	add(Scenario{Name: "client-abort-before-response",
		Server:   fields("-mode slow-respond -wait 300ms"),
		Client:   fields("-mode abort-before-response"),
		Expect:   map[Origin]Label{OriginClient: {"request", "client_abort", sendClientLinger}},
		Counters: []CounterCheck{{Client, "TcpExtTCPAbortOnData", 1}}})
	add(Scenario{Name: "client-close-unread",
		Server:   fields("-mode respond -body 2000"),
		Client:   fields("-mode close-unread"),
		Expect:   map[Origin]Label{OriginClient: {"response", "client_abort", sendClientUnread}},
		Counters: []CounterCheck{{Client, "TcpExtTCPAbortOnClose", 1}}})
	add(Scenario{Name: "firewall-keyword-mbox", Far: Server2,
		Server: fields("-mode respond"),
		Client: fields("-mode request -keyword forbidden"),
		Rules: []Rule{{Mbox, "FORWARD",
			"-p tcp --dport %d -m string --string forbidden --algo bm -j REJECT --reject-with tcp-reset"}},
		Expect: map[Origin]Label{OriginMiddlebox: {"request", "firewall_reject", sendMboxReject}}})
	add(Scenario{Name: "firewall-keyword-v6", Family: 6,
		Server: fields("-mode respond"),
		Client: fields("-mode request -keyword forbidden"),
		Rules: []Rule{{Router, "FORWARD",
			"-p tcp --dport %d -m string --string forbidden --algo bm -j REJECT --reject-with tcp-reset"}},
		Expect: map[Origin]Label{OriginMiddlebox: {"request", "firewall_reject",
			"router ip6tables REJECT --reject-with tcp-reset (string match)"}}})
	for _, mode := range []string{"rst", "gfw", "ttlcopy"} {
		add(Scenario{Name: "inject-" + mode,
			Server:   fields("-mode respond"),
			Client:   fields("-mode request -keyword forbidden"),
			Injector: fields("-mode " + mode + " -keyword forbidden"),
			Expect:   map[Origin]Label{OriginMiddlebox: {"request", "injected", sendInjector}}})
	}
}

// stateful adds the scenarios of state lost: conntrack, the accept queue,
// a killed server, in run order.
func stateful(add func(Scenario)) {
	add(Scenario{Name: "idle-timeout",
		Server: fields("-mode respond"),
		Client: fields("-mode second-request -idle 3s"),
		Sysctls: []Sysctl{
			{Router, "net.netfilter.nf_conntrack_tcp_timeout_established", "2"},
			{Router, "net.netfilter.nf_conntrack_tcp_loose", "0"},
		},
		Rules: []Rule{
			{Router, "FORWARD", "-p tcp --dport %d -m conntrack --ctstate ESTABLISHED -j ACCEPT"},
			{Router, "FORWARD", "-p tcp --sport %d -m conntrack --ctstate ESTABLISHED -j ACCEPT"},
			{Router, "FORWARD", "-p tcp --dport %d --syn -m conntrack --ctstate NEW -j ACCEPT"},
			{Router, "FORWARD", "-p tcp --dport %d -j REJECT --reject-with tcp-reset"},
		},
		Expect: map[Origin]Label{OriginMiddlebox: {"idle", "idle_timeout", sendRouterCT}}})
	for _, f := range []Family{4, 6} {
		sfx := ""
		if f == 6 {
			sfx = "-v6"
		}
		add(Scenario{Name: "backlog-overflow" + sfx, Family: f,
			// The SYN queue and the accept queue are both bounded by the
			// backlog: the first wave fills the accept queue to the backlog,
			// the second wave's handshakes overflow it.
			Server: fields("-mode backlog -backlog 4"),
			Client: fields("-mode burst -n 4 -gap 200ms"),
			Sysctls: []Sysctl{
				{Server, "net.ipv4.tcp_syncookies", "0"},
				{Server, "net.ipv4.tcp_abort_on_overflow", "1"},
			},
			Expect:   map[Origin]Label{OriginServer: {"established", "backlog_overflow", sendServerQueue}},
			Counters: []CounterCheck{{Server, "TcpExtListenOverflows", 1}}})
	}
	add(Scenario{Name: "server-killed",
		Server:       fields("-mode respond"),
		Client:       fields("-mode second-request"),
		Crash:        true,
		Expect:       map[Origin]Label{OriginServer: {"idle", "stale_connection", sendServerNoSock}},
		ExtraOutRsts: map[Role]int{Server: 1}})
}

// later adds the scenarios added after the others, in run order.
func later(add func(Scenario)) {
	// The scenarios below came last, so the others keep their ports. In the
	// NAT ones the router source-NATs the client toward the server,
	// rewriting its address and port.
	for _, f := range []Family{4, 6} {
		sfx, nat := "", "10.77.2.1:40000-40100"
		if f == 6 {
			sfx, nat = "-v6", "[fd77:2::1]:40000-40100"
		}
		add(Scenario{Name: "nat-server-abort" + sfx, Family: f, NAT: nat,
			Server:   fields("-mode abort-after-request"),
			Client:   fields("-mode request"),
			Expect:   map[Origin]Label{OriginServer: {"request", "server_abort", sendServerLinger}},
			Counters: []CounterCheck{{Server, "TcpExtTCPAbortOnData", 1}}})
	}
	// A connection that passes, and while it is open a second SYN refused
	// on the path: the captures behind the router hold packets before and
	// after the refusal, so a pair can show they ran across it and never
	// saw that SYN.
	add(Scenario{Name: "firewall-syn-reject-once", ExportAll: true,
		Server: fields("-mode respond"),
		Client: fields("-mode burst -n 1 -gap 200ms"),
		Rules: []Rule{{Router, "FORWARD",
			"-p tcp --dport %d --syn -m statistic --mode nth --every 1000000 --packet 1 -j REJECT --reject-with tcp-reset"}},
		Expect: map[Origin]Label{OriginMiddlebox: {"syn", "firewall_reject", sendRouterReject}}})
	add(Scenario{Name: "nat-client-abort", NAT: "10.77.2.1:40000-40100",
		Server:   fields("-mode slow-respond -wait 300ms"),
		Client:   fields("-mode abort-before-response"),
		Expect:   map[Origin]Label{OriginClient: {"request", "client_abort", sendClientLinger}},
		Counters: []CounterCheck{{Client, "TcpExtTCPAbortOnData", 1}}})
}
