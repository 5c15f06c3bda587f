package main

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// rawIface is an AF_PACKET socket bound to one interface: it reads every
// frame the interface sees and writes whole Ethernet frames.
type rawIface struct {
	name string
	fd   int
	hw   net.HardwareAddr
}

// openRaw binds an AF_PACKET SOCK_RAW socket for all protocols to the
// interface, in promiscuous mode when promisc is set (a relay forwards frames
// addressed to other hosts).
func openRaw(name string, promisc bool) (*rawIface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("af_packet socket (needs CAP_NET_RAW): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", name, err)
	}
	if promisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("promisc %s: %w", name, err)
		}
	}
	return &rawIface{name: name, fd: fd, hw: ifi.HardwareAddr}, nil
}

// read fills buf with the next frame and reports whether the interface sent
// it (PACKET_OUTGOING) rather than received it.
func (r *rawIface) read(buf []byte) (n int, outgoing bool, err error) {
	n, from, err := unix.Recvfrom(r.fd, buf, 0)
	if err != nil {
		return 0, false, err
	}
	if ll, ok := from.(*unix.SockaddrLinklayer); ok {
		outgoing = ll.Pkttype == unix.PACKET_OUTGOING
	}
	return n, outgoing, nil
}

func (r *rawIface) write(frame []byte) error {
	_, err := unix.Write(r.fd, frame)
	return err
}

func (r *rawIface) close() error { return unix.Close(r.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
