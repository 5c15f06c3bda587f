package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/internal/gen"
)

// generate writes a capture of cfg into a temporary directory.
func generate(t *testing.T, cfg gen.Config) (string, gen.Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gen.Generate(context.Background(), f, nil, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// TestModesAgree runs every mode on a small generated capture, once with
// whole frames and once cut to the shortest snap length the generator allows
// (headers whole, payloads cut, like the benchmark capture's -snaplen 574),
// and checks that they count what the generator says it wrote.
func TestModesAgree(t *testing.T) {
	for _, snaplen := range []int{0, gen.MinSnaplen} {
		cfg := gen.DefaultConfig()
		cfg.Packets = 6000
		cfg.Concurrency = 200
		cfg.Snaplen = snaplen
		path, st := generate(t, cfg)
		if st.Packets != cfg.Packets || st.Connections < 2*cfg.Concurrency {
			t.Fatalf("snaplen %d: generator wrote %d packets of %d connections; want %d packets and more connections than %d open at once",
				snaplen, st.Packets, st.Connections, cfg.Packets, cfg.Concurrency)
		}

		for _, m := range modes {
			res, err := runFile(path, m.run)
			if err != nil {
				t.Fatalf("snaplen %d, mode %s: %v", snaplen, m.name, err)
			}
			t.Logf("snaplen %d, mode %s: %+v", snaplen, m.name, res)
			if res.Packets != st.Packets {
				t.Errorf("snaplen %d, mode %s: %d packets, generator wrote %d", snaplen, m.name, res.Packets, st.Packets)
			}
			// Every generated frame is TCP over IPv4 or IPv6.
			wantTCP := st.Packets
			if m.name == "read" {
				wantTCP = -1
			}
			if res.TCP != wantTCP {
				t.Errorf("snaplen %d, mode %s: %d TCP segments, want %d", snaplen, m.name, res.TCP, wantTCP)
			}
			// The generator gives each connection its own 5-tuple: a client
			// address (64 of them) and ephemeral port are reused only after
			// 64 × 28232 connections, far more than any capture here or in
			// the benchmark holds. So distinct 5-tuples = its connections.
			wantConns := st.Connections
			if m.name == "read" || m.name == "decode" {
				wantConns = -1
			}
			if res.Conns != wantConns {
				t.Errorf("snaplen %d, mode %s: %d connections, want %d", snaplen, m.name, res.Conns, wantConns)
			}
		}
	}
}

// TestBadFile checks that a file that is not a whole classic pcap file is an
// error in every mode, not a silent short count.
func TestBadFile(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "not.pcap")
	if err := os.WriteFile(notPcap, []byte("this is not a capture file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Packets = 50
	cfg.Concurrency = 10
	whole, _ := generate(t, cfg)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{notPcap, cut, filepath.Join(dir, "missing.pcap")} {
		for _, m := range modes {
			if res, err := runFile(path, m.run); err == nil {
				t.Errorf("mode %s on %s: no error (%+v)", m.name, filepath.Base(path), res)
			}
		}
	}
}

// TestLeanRecords checks that the lean mode does the work it is timed for:
// every segment lands in its connection's record, in the right direction,
// and the handshakes, payload heads and resets are there.
func TestLeanRecords(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Packets = 6000
	cfg.Concurrency = 200
	path, st := generate(t, cfg)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	res, conns, err := lean(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != len(conns) || res.Conns != st.Connections {
		t.Fatalf("%d connections, %d records, generator wrote %d", res.Conns, len(conns), st.Connections)
	}
	var packets, handshakes, heads, resets int
	var bytes int64
	for k, c := range conns {
		for d := range c.dir {
			h := &c.dir[d]
			packets += int(h.packets)
			bytes += int64(h.bytes)
			if h.nHead > 0 {
				heads++
			}
			if h.rst {
				resets++
			}
			if h.flags&flagRST != 0 != h.rst || h.flags&flagFIN != 0 != h.fin {
				t.Errorf("%v direction %d: flags %#x but fin %v, rst %v", k, d, h.flags, h.fin, h.rst)
			}
		}
		if c.synAt == 0 {
			// Every connection starts inside the capture, with its SYN.
			t.Errorf("%v: no SYN", k)
			continue
		}
		if c.dir[c.synDir].flags&flagSYN == 0 {
			t.Errorf("%v: SYN direction %d has no SYN flag", k, c.synDir)
		}
		if c.ackAt != 0 {
			handshakes++
			if !(c.synAt <= c.synAckAt && c.synAckAt <= c.ackAt) {
				t.Errorf("%v: handshake times out of order: %d %d %d", k, c.synAt, c.synAckAt, c.ackAt)
			}
		}
	}
	if packets != st.Packets {
		t.Errorf("records hold %d packets, generator wrote %d", packets, st.Packets)
	}
	// Snaplen 0: the original lengths are the captured ones.
	if bytes != st.Bytes {
		t.Errorf("records hold %d bytes, generator wrote %d", bytes, st.Bytes)
	}
	// Only refused and firewall-rejected connections (2 of 13 reset kinds of
	// 12%) and those cut by the capture's end lack a SYN-ACK or final ACK.
	if handshakes < len(conns)*3/4 {
		t.Errorf("%d of %d connections have a whole handshake", handshakes, len(conns))
	}
	if heads < len(conns) {
		t.Errorf("%d payload heads in %d connections", heads, len(conns))
	}
	if resets == 0 {
		t.Errorf("no RST seen; generator wrote %d", st.RSTs)
	}
	t.Logf("%d connections, %d whole handshakes, %d payload heads, %d directions with a RST", len(conns), handshakes, heads, resets)
}
