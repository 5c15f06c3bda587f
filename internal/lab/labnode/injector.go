package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// injector is an on-path censor in the router's namespace: it watches the
// client-facing interface for a request carrying a keyword and forges RSTs
// toward both ends, while the router keeps forwarding the real packets.
type injector struct {
	port        uint16
	mode        string
	keyword     []byte
	serverDelay time.Duration
	cif, sif    *rawIface

	mu    sync.Mutex
	conns map[connKey]*connSeen
}

type connKey struct{ client, server netip.AddrPort }

// connSeen is what the injector learned of one connection from its packets.
type connSeen struct {
	clientMAC, serverMAC   net.HardwareAddr
	clientTTL, serverTTL   uint8
	clientIPID, serverIPID uint16
	clientWin, serverWin   uint16
	triggered              bool
}

// forged is one RST the injector will send: flags and an offset from the
// sequence number the receiver expects.
type forged struct {
	rstOnly bool
	seqOff  uint32
}

// modes: rst (one bare RST), rstack (one RST+ACK), gfw (the Great Firewall's
// burst: a RST, then RST+ACKs at X, X+1460, X+4380; Wang et al., IMC 2017) and
// ttlcopy (one RST+ACK that copies the claimed sender's TTL, IP ID and window).
var injectorModes = map[string][]forged{
	"rst":     {{rstOnly: true}},
	"rstack":  {{}},
	"gfw":     {{rstOnly: true}, {}, {seqOff: 1460}, {seqOff: 4380}},
	"ttlcopy": {{}},
}

func runInjector(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("injector", flag.ContinueOnError)
	cifName := fs.String("client-if", "", "interface toward the client")
	sifName := fs.String("server-if", "", "interface toward the server")
	port := fs.Uint("port", 80, "server port to watch")
	mode := fs.String("mode", "rstack", "rst, rstack, gfw or ttlcopy")
	keyword := fs.String("keyword", "forbidden", "trigger word in the client's payload")
	serverDelay := fs.Duration("server-delay", 3*time.Millisecond,
		"delay before the RSTs toward the server, so the real request reaches it first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := injectorModes[*mode]; !ok {
		return fmt.Errorf("unknown injector mode %q", *mode)
	}
	in := &injector{port: uint16(*port), mode: *mode, keyword: []byte(*keyword),
		serverDelay: *serverDelay, conns: map[connKey]*connSeen{}}
	var err error
	if in.cif, err = openRaw(*cifName, false); err != nil {
		return err
	}
	if in.sif, err = openRaw(*sifName, false); err != nil {
		return err
	}
	defer in.cif.close()
	defer in.sif.close()
	event("injecting", "mode", *mode, "port", *port, "keyword", *keyword)
	errc := make(chan error, 2)
	go func() { errc <- in.sniff(in.sif, false) }()
	go func() { errc <- in.sniff(in.cif, true) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// decoded is one sniffed TCP/IP frame.
type decoded struct {
	eth  layers.Ethernet
	ip4  layers.IPv4
	ip6  layers.IPv6
	tcp  layers.TCP
	typs []gopacket.LayerType
}

func (in *injector) sniff(ifc *rawIface, clientSide bool) error {
	var d decoded
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &d.eth, &d.ip4, &d.ip6, &d.tcp)
	parser.IgnoreUnsupported = true
	buf := make([]byte, 65536)
	for {
		n, outgoing, err := ifc.read(buf)
		if err != nil {
			return err
		}
		if outgoing {
			continue
		}
		if err := parser.DecodeLayers(buf[:n], &d.typs); err != nil || len(d.typs) < 3 || d.typs[2] != layers.LayerTypeTCP {
			continue
		}
		var src, dst netip.Addr
		var ttl uint8
		var ipid uint16
		if d.typs[1] == layers.LayerTypeIPv4 {
			src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			ttl, ipid = d.ip4.TTL, d.ip4.Id
		} else {
			src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
			ttl = d.ip6.HopLimit
		}
		sp, dp := uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
		switch {
		case clientSide && dp == in.port:
			k := connKey{netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)}
			trigger := in.learn(k, func(c *connSeen) bool {
				c.clientMAC = append(net.HardwareAddr(nil), d.eth.SrcMAC...)
				c.clientTTL, c.clientIPID, c.clientWin = ttl, ipid, d.tcp.Window
				if c.triggered || !bytes.Contains(d.tcp.Payload, in.keyword) {
					return false
				}
				c.triggered = true
				return true
			})
			if trigger {
				in.inject(k, d.tcp.Seq+uint32(len(d.tcp.Payload)), d.tcp.Ack)
			}
		case !clientSide && sp == in.port:
			k := connKey{netip.AddrPortFrom(dst, dp), netip.AddrPortFrom(src, sp)}
			in.learn(k, func(c *connSeen) bool {
				c.serverMAC = append(net.HardwareAddr(nil), d.eth.SrcMAC...)
				c.serverTTL, c.serverIPID, c.serverWin = ttl, ipid, d.tcp.Window
				return false
			})
		}
	}
}

func (in *injector) learn(k connKey, f func(*connSeen) bool) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.conns[k]
	if c == nil {
		c = &connSeen{}
		in.conns[k] = c
	}
	return f(c)
}

// inject forges the mode's RSTs: toward the client claiming the server
// (seq = the server's next sequence number, the request's ack) at once, and
// toward the server claiming the client (seq = the client's next sequence
// number) after serverDelay.
func (in *injector) inject(k connKey, clientNext, serverNext uint32) {
	c := in.waitServerSeen(k)
	copyTTL := in.mode == "ttlcopy"
	for _, f := range injectorModes[in.mode] {
		p := rstSpec{src: k.server, dst: k.client, seq: serverNext + f.seqOff, ack: clientNext, rstOnly: f.rstOnly,
			ethSrc: in.cif.hw, ethDst: c.clientMAC, ttl: 64, ipid: uint16(rand.Uint32())}
		if in.mode == "gfw" {
			p.ttl = uint8(40 + rand.IntN(40))
		}
		if copyTTL {
			// What the client will see from the real server: one hop fewer than here.
			p.ttl, p.ipid, p.df, p.win = c.serverTTL-1, c.serverIPID+1, true, c.serverWin
		}
		in.send(in.cif, p)
	}
	go func() {
		time.Sleep(in.serverDelay)
		for _, f := range injectorModes[in.mode] {
			p := rstSpec{src: k.client, dst: k.server, seq: clientNext + f.seqOff, ack: serverNext, rstOnly: f.rstOnly,
				ethSrc: in.sif.hw, ethDst: c.serverMAC, ttl: 64, ipid: uint16(rand.Uint32())}
			if in.mode == "gfw" {
				p.ttl = uint8(40 + rand.IntN(40))
			}
			if copyTTL {
				p.ttl, p.ipid, p.df, p.win = c.clientTTL-1, c.clientIPID+1, true, c.clientWin
			}
			in.send(in.sif, p)
		}
	}()
}

// waitServerSeen returns what is known of the connection once the
// server-side sniffer has seen the server (its MAC, TTL and IP ID), at most
// 200 ms from now: on a busy machine that sniffer may lag behind the
// client-side one.
func (in *injector) waitServerSeen(k connKey) connSeen {
	deadline := time.Now().Add(200 * time.Millisecond)
	for {
		in.mu.Lock()
		c := *in.conns[k]
		in.mu.Unlock()
		if len(c.serverMAC) != 0 || time.Now().After(deadline) {
			return c
		}
		time.Sleep(time.Millisecond)
	}
}

// rstSpec is one forged segment.
type rstSpec struct {
	src, dst       netip.AddrPort
	seq, ack       uint32
	rstOnly        bool
	ethSrc, ethDst net.HardwareAddr
	ttl            uint8
	ipid           uint16
	df             bool
	win            uint16
}

func (in *injector) send(ifc *rawIface, p rstSpec) {
	frame, err := p.serialize()
	if err == nil {
		err = ifc.write(frame)
	}
	flags := "R."
	ack := p.ack
	if p.rstOnly {
		flags, ack = "R", 0
	}
	event("forged", "iface", ifc.name, "src", p.src.String(), "dst", p.dst.String(), "flags", flags,
		"seq", p.seq, "ack", ack, "ttl", p.ttl, "err", fmt.Sprint(err))
}

func (p rstSpec) serialize() ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: p.ethSrc, DstMAC: p.ethDst, EthernetType: layers.EthernetTypeIPv4}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(p.src.Port()), DstPort: layers.TCPPort(p.dst.Port()),
		Seq: p.seq, RST: true, Window: p.win}
	if !p.rstOnly {
		tcp.ACK, tcp.Ack = true, p.ack
	}
	var ip gopacket.SerializableLayer
	if p.src.Addr().Is4() {
		ip4 := &layers.IPv4{Version: 4, TTL: p.ttl, Id: p.ipid, Protocol: layers.IPProtocolTCP,
			SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		if p.df {
			ip4.Flags = layers.IPv4DontFragment
		}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: p.ttl, NextHeader: layers.IPProtocolTCP,
			SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp)
	return buf.Bytes(), err
}
