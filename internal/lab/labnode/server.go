package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// serverConfig is what `labnode server` was asked to do.
type serverConfig struct {
	listen  string
	mode    string
	body    int
	idle    time.Duration
	wait    time.Duration
	backlog int
}

// runServer listens and handles every connection with the chosen mode:
//
//	respond             answer every request (keep-alive) until the client closes
//	abort-after-request read the request, then close with SO_LINGER 0 (RST, TCPAbortOnClose)
//	close-unread        do not read; close once the request is queued (RST, TCPAbortOnClose)
//	abort-mid-response  send part of a response, then SO_LINGER 0 (RST, TCPAbortOnData)
//	keepalive           answer one request, stay idle for -idle, then close with FIN
//	slow-respond        read the request, wait -wait, answer
//	tls-abort           read one whole TLS record (the ClientHello), then SO_LINGER 0
//	backlog             listen with -backlog and never accept
func runServer(ctx context.Context, args []string) error {
	var c serverConfig
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "", "address:port to listen on")
	fs.StringVar(&c.mode, "mode", "respond", "behaviour (see source)")
	fs.IntVar(&c.body, "body", 200, "response body bytes")
	fs.DurationVar(&c.idle, "idle", 300*time.Millisecond, "keepalive: idle time before closing")
	fs.DurationVar(&c.wait, "wait", 300*time.Millisecond, "slow-respond: delay before answering")
	fs.IntVar(&c.backlog, "backlog", 1, "backlog: listen(2) backlog")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.mode == "backlog" {
		return serveBacklog(ctx, c)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	event("listening", "addr", ln.Addr().String(), "mode", c.mode)
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			tc := conn.(*net.TCPConn)
			event("accepted", "peer", conn.RemoteAddr().String())
			err := handle(ctx, c, tc)
			event("done", "peer", conn.RemoteAddr().String(), "err", fmt.Sprint(err))
		}()
	}
}

func handle(ctx context.Context, c serverConfig, conn *net.TCPConn) error {
	br := bufio.NewReader(conn)
	switch c.mode {
	case "respond":
		defer conn.Close()
		for {
			if _, err := readRequest(br); err != nil {
				return err
			}
			if err := writeResponse(conn, c.body, c.body); err != nil {
				return err
			}
		}
	case "abort-after-request":
		if _, err := readRequest(br); err != nil {
			return err
		}
		return abort(conn)
	case "close-unread":
		if err := waitUnread(ctx, conn); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
		return conn.Close()
	case "abort-mid-response":
		if _, err := readRequest(br); err != nil {
			return err
		}
		if err := writeResponse(conn, 100*c.body, c.body); err != nil {
			return err
		}
		// The RST must leave with data still unacknowledged (TCPAbortOnData):
		// the client is a round trip away, so a short pause keeps the data in flight.
		time.Sleep(2 * time.Millisecond)
		return abort(conn)
	case "keepalive":
		if _, err := readRequest(br); err != nil {
			return err
		}
		if err := writeResponse(conn, c.body, c.body); err != nil {
			return err
		}
		time.Sleep(c.idle)
		return conn.Close()
	case "slow-respond":
		defer conn.Close()
		if _, err := readRequest(br); err != nil {
			return err
		}
		time.Sleep(c.wait)
		if err := writeResponse(conn, c.body, c.body); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, br)
		return err
	case "tls-abort":
		var hdr [5]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		n := int(hdr[3])<<8 | int(hdr[4])
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return err
		}
		event("clienthello", "type", hdr[0], "len", n)
		return abort(conn)
	}
	conn.Close()
	return fmt.Errorf("unknown server mode %q", c.mode)
}

// abort closes with SO_LINGER 0: the kernel discards its buffers and sends a
// RST (tcp_disconnect → tcp_send_active_reset).
func abort(conn *net.TCPConn) error {
	if err := conn.SetLinger(0); err != nil {
		return err
	}
	return conn.Close()
}

func readRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	event("request", "uri", req.RequestURI)
	return req, err
}

// writeResponse writes an HTTP/1.1 header announcing length bytes, then send
// bytes of body.
func writeResponse(w io.Writer, length, send int) error {
	hdr := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", length)
	_, err := io.WriteString(w, hdr+strings.Repeat("x", send))
	return err
}

// waitUnread blocks until the socket's receive queue holds data (SIOCINQ).
func waitUnread(ctx context.Context, conn *net.TCPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		var n int
		var ierr error
		if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
			return err
		}
		if ierr != nil {
			return ierr
		}
		if n > 0 {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ctx.Err()
}

// serveBacklog listens with an explicit backlog (Go's net.Listen always uses
// somaxconn) and never accepts, so the accept queue fills.
func serveBacklog(ctx context.Context, c serverConfig) error {
	ap, err := netip.ParseAddrPort(c.listen)
	if err != nil {
		return err
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if ap.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind %s: %w", c.listen, err)
	}
	if err := unix.Listen(fd, c.backlog); err != nil {
		return err
	}
	event("listening", "addr", c.listen, "mode", c.mode, "backlog", c.backlog)
	<-ctx.Done()
	return nil
}
