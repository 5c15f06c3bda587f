package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// clientConfig is what `labnode client` was asked to do.
type clientConfig struct {
	connect  string
	mode     string
	keyword  string
	idle     time.Duration
	waitFile string
	n        int
	gap      time.Duration
	timeout  time.Duration
}

// runClient connects and behaves according to the mode:
//
//	connect               dial only (closed port, SYN rejected)
//	request               one request, read the answer until EOF, error or timeout
//	abort-before-response send the request, then close with SO_LINGER 0 before the answer
//	close-unread          send the request, close once the answer is queued unread
//	second-request        one request and answer, wait (-idle or -wait-file), a second request
//	tls                   a TLS handshake with SNI -keyword
//	burst                 two waves of -n concurrent connections, -gap apart, that never send
func runClient(ctx context.Context, args []string) error {
	var c clientConfig
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.StringVar(&c.connect, "connect", "", "server address:port")
	fs.StringVar(&c.mode, "mode", "request", "behaviour (see source)")
	fs.StringVar(&c.keyword, "keyword", "hello", "word carried in the request path (or the SNI)")
	fs.DurationVar(&c.idle, "idle", time.Second, "second-request: wait before the second request")
	fs.StringVar(&c.waitFile, "wait-file", "", "second-request: wait for this file instead of -idle")
	fs.IntVar(&c.n, "n", 4, "burst: connections per wave")
	fs.DurationVar(&c.gap, "gap", 300*time.Millisecond, "burst: time between waves")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "read timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d := net.Dialer{Timeout: c.timeout}
	if c.mode == "burst" {
		return burst(ctx, d, c)
	}
	if c.mode == "tls" {
		conn, err := tls.DialWithDialer(&d, "tcp", c.connect, &tls.Config{ServerName: c.keyword, InsecureSkipVerify: true})
		event("tls", "err", fmt.Sprint(err))
		if err == nil {
			conn.Close()
		}
		return nil
	}
	nc, err := d.DialContext(ctx, "tcp", c.connect)
	event("dial", "err", fmt.Sprint(err))
	if err != nil {
		return nil // the failure is the scenario's point; the event says which
	}
	conn := nc.(*net.TCPConn)
	event("connected", "local", conn.LocalAddr().String())
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.timeout + c.idle + 5*time.Second))
	return c.session(ctx, conn)
}

// session behaves on a connected socket according to the mode.
func (c clientConfig) session(ctx context.Context, conn *net.TCPConn) error {
	br := bufio.NewReader(conn)
	switch c.mode {
	case "connect":
		return nil
	case "request":
		if err := writeRequest(conn, c.keyword, 1); err != nil {
			event("write", "err", err)
			return nil
		}
		conn.SetReadDeadline(time.Now().Add(c.timeout))
		n, err := io.Copy(io.Discard, br)
		event("read", "bytes", n, "err", fmt.Sprint(err))
	case "abort-before-response":
		if err := writeRequest(conn, c.keyword, 1); err != nil {
			return err
		}
		time.Sleep(30 * time.Millisecond)
		if err := conn.SetLinger(0); err != nil {
			return err
		}
		event("abort")
		return conn.Close()
	case "close-unread":
		if err := writeRequest(conn, c.keyword, 1); err != nil {
			return err
		}
		if err := waitUnread(ctx, conn); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
		event("close-unread")
		return conn.Close()
	case "second-request":
		if err := writeRequest(conn, c.keyword, 1); err != nil {
			return err
		}
		if err := readResponse(br); err != nil {
			event("read", "n", 1, "err", err)
			return nil
		}
		if err := c.pause(ctx); err != nil {
			return err
		}
		err := writeRequest(conn, c.keyword, 2)
		event("write", "n", 2, "err", fmt.Sprint(err))
		conn.SetReadDeadline(time.Now().Add(c.timeout))
		err = readResponse(br)
		event("read", "n", 2, "err", fmt.Sprint(err))
	default:
		return fmt.Errorf("unknown client mode %q", c.mode)
	}
	return nil
}

// pause waits -idle, or until -wait-file exists.
func (c clientConfig) pause(ctx context.Context) error {
	if c.waitFile == "" {
		select {
		case <-time.After(c.idle):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		if _, err := os.Stat(c.waitFile); err == nil {
			return nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func writeRequest(w io.Writer, keyword string, n int) error {
	_, err := fmt.Fprintf(w, "GET /search?q=%s&n=%d HTTP/1.1\r\nHost: lab.example\r\nUser-Agent: labnode\r\n\r\n", keyword, n)
	return err
}

func readResponse(br *bufio.Reader) error {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// burst opens two waves of connections that never send: the first fills the
// listener's accept queue, the second overflows it.
func burst(ctx context.Context, d net.Dialer, c clientConfig) error {
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	for wave := range 2 {
		for range c.n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := d.DialContext(ctx, "tcp", c.connect)
				event("dial", "wave", wave, "err", fmt.Sprint(err))
				if err == nil {
					mu.Lock()
					conns = append(conns, conn)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(c.gap)
	}
	wg.Wait()
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.SetReadDeadline(time.Now().Add(time.Second))
			_, err := conn.Read(make([]byte, 1))
			event("read", "local", conn.LocalAddr().String(), "err", fmt.Sprint(err))
		}()
	}
	wg.Wait()
	for _, conn := range conns {
		conn.Close()
	}
	return nil
}
