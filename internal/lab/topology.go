package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Role names one namespace of the lab.
type Role string

// The lab's namespaces.
const (
	Client  Role = "client"
	Router  Role = "router"
	Delay   Role = "delay"
	Server  Role = "server"
	Mbox    Role = "mbox"
	Delay2  Role = "delay2"
	Server2 Role = "server2"
)

var roles = []Role{Client, Router, Delay, Server, Mbox, Delay2, Server2}

// Family is the IP version a scenario uses: 4 or 6.
type Family int

// link is one veth pair: a end in one namespace, b end in another, and the
// /24 (IPv4) and /64 (IPv6) subnet number they share (0 for the relay's
// address-less links).
type link struct {
	aNS  Role
	aIf  string
	bNS  Role
	bIf  string
	net  int
	aHst int // host number of the a end (0: no address)
	bHst int
}

// links joins the namespaces. The relays' links carry no addresses: the
// router's r1 and the server's s0 share subnet 2 through one, the mbox's m1
// and server2's s2 share subnet 4 through the other.
var links = []link{
	{Client, "c0", Router, "r0", 1, 2, 1},
	{Router, "r1", Delay, "d0", 2, 1, 0},
	{Delay, "d1", Server, "s0", 2, 0, 2},
	{Router, "r2", Mbox, "m0", 3, 1, 2},
	{Mbox, "m1", Delay2, "e0", 4, 1, 0},
	{Delay2, "e1", Server2, "s2", 4, 0, 2},
}

// Addr returns the address of host number hst on lab subnet n:
// 10.77.n.hst or fd77:n::hst.
func Addr(f Family, n, hst int) netip.Addr {
	if f == 6 {
		return netip.MustParseAddr(fmt.Sprintf("fd77:%d::%d", n, hst))
	}
	return netip.AddrFrom4([4]byte{10, 77, byte(n), byte(hst)})
}

// Addresses of the endpoints.
func ClientAddr(f Family) netip.Addr  { return Addr(f, 1, 2) }
func ServerAddr(f Family) netip.Addr  { return Addr(f, 2, 2) }
func Server2Addr(f Family) netip.Addr { return Addr(f, 4, 2) }

// ServerTTL is the initial TTL and hop limit of the server namespace.
const ServerTTL = 128

// DelayOneWay is the relay's one-way delay between the router and the server.
const DelayOneWay = "10ms"

// Topology is a built set of namespaces. Close removes it.
type Topology struct {
	// Prefix starts every namespace name ("rstlab1234-").
	Prefix string
	// Labnode is the path of the built labnode binary.
	Labnode string
	procs   *procSet
}

// CmdError is a command of the lab that failed, with its output.
type CmdError struct {
	Args   []string
	Output string
	Err    error
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Output))
}

func (e *CmdError) Unwrap() error { return e.Err }

// run runs a command to completion and returns its combined output.
func run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), &CmdError{Args: args, Output: out.String(), Err: err}
	}
	return out.String(), nil
}

// NS returns the namespace name of a role.
func (t *Topology) NS(r Role) string { return t.Prefix + string(r) }

// Exec runs argv inside the role's namespace and returns its output.
func (t *Topology) Exec(ctx context.Context, r Role, argv ...string) (string, error) {
	return run(ctx, append([]string{"ip", "netns", "exec", t.NS(r)}, argv...)...)
}

func (t *Topology) sysctl(ctx context.Context, r Role, kv ...string) error {
	for _, s := range kv {
		if _, err := t.Exec(ctx, r, "sysctl", "-qw", s); err != nil {
			return err
		}
	}
	return nil
}

// nsName matches the lab's namespace names and captures the owner's pid.
var nsName = regexp.MustCompile(`^rstlab(\d+)-`)

// RemoveStale deletes the namespaces of earlier lab runs whose process is
// gone (a run killed before its cleanup). Namespaces of live runs stay, so
// parallel runs do not clash.
func RemoveStale(ctx context.Context) error {
	out, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return err
	}
	var errs []error
	for _, line := range strings.Split(out, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := nsName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if _, err := run(ctx, "ip", "netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// BuildTopology creates the namespaces, links, addresses, routes, sysctls and
// neighbour entries, and starts the delay relay. labnode is the path of the
// labnode binary. On error everything built so far is removed.
func BuildTopology(ctx context.Context, labnode string) (t *Topology, err error) {
	if err := RemoveStale(ctx); err != nil {
		return nil, err
	}
	t = &Topology{Prefix: fmt.Sprintf("rstlab%d-", os.Getpid()), Labnode: labnode, procs: &procSet{}}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	for _, r := range roles {
		if err := t.addNamespace(ctx, r); err != nil {
			return t, err
		}
	}
	for _, l := range links {
		if err := t.addLink(ctx, l); err != nil {
			return t, err
		}
	}
	if err := t.addRoutes(ctx); err != nil {
		return t, err
	}
	if err := t.permanentNeighbours(ctx); err != nil {
		return t, err
	}
	for _, r := range []struct {
		ns   Role
		a, b string
	}{{Delay, "d0", "d1"}, {Delay2, "e0", "e1"}} {
		relay, err := t.procs.start(ctx, "relay", t.cmd(r.ns, t.Labnode, "relay", "-a", r.a, "-b", r.b, "-delay", DelayOneWay))
		if err != nil {
			return t, err
		}
		if err := relay.waitOutput(ctx, "relaying", procReady); err != nil {
			return t, err
		}
	}
	return t, nil
}

// addNamespace creates a role's namespace with its sysctls and loopback.
func (t *Topology) addNamespace(ctx context.Context, r Role) error {
	if _, err := run(ctx, "ip", "netns", "add", t.NS(r)); err != nil {
		return err
	}
	// Before any link exists, so the defaults apply to the veths: no
	// router solicitations or DAD noise in the captures, and the relay
	// namespace has no IPv6 at all (it must not speak on its links).
	kv := []string{"net.ipv6.conf.default.router_solicitations=0", "net.ipv6.conf.default.accept_ra=0",
		"net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.dad_transmits=0"}
	switch r {
	case Delay, Delay2:
		kv = append(kv, "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1")
	case Server:
		kv = append(kv, fmt.Sprintf("net.ipv4.ip_default_ttl=%d", ServerTTL),
			fmt.Sprintf("net.ipv6.conf.default.hop_limit=%d", ServerTTL),
			fmt.Sprintf("net.ipv6.conf.all.hop_limit=%d", ServerTTL))
	case Router, Mbox:
		kv = append(kv, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	}
	if err := t.sysctl(ctx, r, kv...); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "-n", t.NS(r), "link", "set", "lo", "up")
	return err
}

// addLink creates a veth pair and sets up both ends: offloads off, the
// addresses of both families, the server's hop limit, up.
func (t *Topology) addLink(ctx context.Context, l link) error {
	if _, err := run(ctx, "ip", "-n", t.NS(l.aNS), "link", "add", l.aIf, "type", "veth",
		"peer", "name", l.bIf, "netns", t.NS(l.bNS)); err != nil {
		return err
	}
	for _, end := range []struct {
		ns  Role
		ifc string
		hst int
	}{{l.aNS, l.aIf, l.aHst}, {l.bNS, l.bIf, l.bHst}} {
		// Wire-sized frames with valid checksums in the captures.
		if _, err := t.Exec(ctx, end.ns, "ethtool", "-K", end.ifc, "tso", "off", "gso", "off", "gro", "off",
			"tx", "off", "rx", "off", "sg", "off"); err != nil {
			return err
		}
		for _, f := range []Family{4, 6} {
			if end.hst == 0 {
				break
			}
			pfx := 24
			if f == 6 {
				pfx = 64
			}
			if _, err := run(ctx, "ip", "-n", t.NS(end.ns), "addr", "add",
				fmt.Sprintf("%s/%d", Addr(f, l.net, end.hst), pfx), "dev", end.ifc, "nodad"); err != nil {
				return err
			}
		}
		if end.ns == Server {
			if err := t.sysctl(ctx, end.ns, fmt.Sprintf("net.ipv6.conf.%s.hop_limit=%d", end.ifc, ServerTTL)); err != nil {
				return err
			}
		}
		if _, err := run(ctx, "ip", "-n", t.NS(end.ns), "link", "set", end.ifc, "up"); err != nil {
			return err
		}
	}
	return nil
}

// addRoutes installs the endpoints' default routes and the router's route
// to server2's subnet, for both families.
func (t *Topology) addRoutes(ctx context.Context) error {
	routes := []struct {
		ns       Role
		dst      string
		net, hst int
	}{
		{Client, "default", 1, 1},
		{Server, "default", 2, 1},
		{Mbox, "default", 3, 1},
		{Server2, "default", 4, 1},
		{Router, "4", 3, 2},
	}
	for _, rt := range routes {
		for _, f := range []Family{4, 6} {
			dst := rt.dst
			if dst == "4" {
				dst = "10.77.4.0/24"
				if f == 6 {
					dst = "fd77:4::/64"
				}
			}
			if _, err := run(ctx, "ip", fmt.Sprintf("-%d", f), "-n", t.NS(rt.ns), "route", "add", dst,
				"via", Addr(f, rt.net, rt.hst).String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// permanentNeighbours installs a permanent ARP/ND entry on both ends of every
// addressed link, so no capture holds address resolution and no first packet
// waits for it.
func (t *Topology) permanentNeighbours(ctx context.Context) error {
	type end struct {
		ns       Role
		ifc      string
		net, hst int
	}
	// The IP-level neighbours: the relay is transparent, so r1 and s0 are peers.
	pairs := [][2]end{
		{{Client, "c0", 1, 2}, {Router, "r0", 1, 1}},
		{{Router, "r1", 2, 1}, {Server, "s0", 2, 2}},
		{{Router, "r2", 3, 1}, {Mbox, "m0", 3, 2}},
		{{Mbox, "m1", 4, 1}, {Server2, "s2", 4, 2}},
	}
	for _, p := range pairs {
		for i, e := range p {
			peer := p[1-i]
			mac, err := t.mac(ctx, peer.ns, peer.ifc)
			if err != nil {
				return err
			}
			for _, f := range []Family{4, 6} {
				if _, err := run(ctx, "ip", "-n", t.NS(e.ns), "neigh", "replace", Addr(f, peer.net, peer.hst).String(),
					"lladdr", mac, "dev", e.ifc, "nud", "permanent"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (t *Topology) mac(ctx context.Context, r Role, ifc string) (string, error) {
	out, err := run(ctx, "ip", "-j", "-n", t.NS(r), "link", "show", ifc)
	if err != nil {
		return "", err
	}
	var v []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 1 {
		return "", fmt.Errorf("mac of %s in %s: %q", ifc, r, out)
	}
	return v[0].Address, nil
}

// cmd builds argv that runs inside the role's namespace.
func (t *Topology) cmd(r Role, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", t.NS(r)}, argv...)
}

// Close stops every process the lab started and deletes its namespaces
// (which removes the veths and every rule with them). It is safe to call
// twice.
func (t *Topology) Close() error {
	var errs []error
	if t.procs != nil {
		t.procs.stopAll()
	}
	ctx := context.Background()
	for _, r := range roles {
		if _, err := run(ctx, "ip", "netns", "del", t.NS(r)); err != nil &&
			!strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
