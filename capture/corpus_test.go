package capture

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir holds the shared public captures, beside the repository (as in
// CI); tests that need them skip when it is absent.
const corpusDir = "../../shared/corpus"

type corpusEntry struct {
	file    string
	format  string
	encap   string
	packets uint64
	rsts    uint64
}

// loadCorpus reads index.tsv by column name.
func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "index.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("corpus not present at %s", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var col map[string]int
	var out []corpusEntry
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = map[string]int{}
			for i, name := range fields {
				col[name] = i
			}
			for _, need := range []string{"file", "format", "encap", "packets", "rsts"} {
				if _, ok := col[need]; !ok {
					t.Fatalf("index.tsv has no %q column", need)
				}
			}
			continue
		}
		pk, err1 := strconv.ParseUint(fields[col["packets"]], 10, 64)
		rs, err2 := strconv.ParseUint(fields[col["rsts"]], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("index.tsv line %q: bad counts", sc.Text())
		}
		out = append(out, corpusEntry{
			file: fields[col["file"]], format: fields[col["format"]], encap: fields[col["encap"]],
			packets: pk, rsts: rs,
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("index.tsv lists no captures")
	}
	return out
}

// readAll reads src to its end and returns the packets (copies).
func readAll(t testing.TB, src Source) ([]Packet, error) {
	t.Helper()
	var out []Packet
	for {
		var p Packet
		err := src.Next(&p)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, p)
	}
}

// TestCorpus reads every corpus capture to its end: the frame count must be
// the index's packets column and the packets with RST set its rsts column.
// Every link type in the corpus is decoded (Ethernet, 802.1Q, MPLS, VXLAN,
// Linux SLL, BSD null, raw IP, FDDI, per-packet pcapng).
func TestCorpus(t *testing.T) {
	for _, e := range loadCorpus(t) {
		t.Run(e.file, func(t *testing.T) {
			src, err := Open(filepath.Join(corpusDir, e.file), Options{})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer src.Close()
			pkts, err := readAll(t, src)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var rsts uint64
			for _, p := range pkts {
				if p.Flags.Has(RST) {
					rsts++
				}
			}
			st := src.Stats()
			if st.Frames != e.packets {
				t.Errorf("frames = %d, index says %d", st.Frames, e.packets)
			}
			if rsts != e.rsts {
				t.Errorf("RST packets = %d, index says %d", rsts, e.rsts)
			}
			if got := st.TCP + st.NotTCP + st.Undecodable + st.Filtered + st.Duplicates; got != st.Frames {
				t.Errorf("stats do not add up: %+v", st)
			}
			if st.TCP != uint64(len(pkts)) {
				t.Errorf("Stats.TCP = %d, returned %d packets", st.TCP, len(pkts))
			}
			if fi, err := os.Stat(filepath.Join(corpusDir, e.file)); err == nil && st.Bytes != fi.Size() {
				t.Errorf("Stats.Bytes = %d at the end, file has %d", st.Bytes, fi.Size())
			}
			if sz := src.(*File).Size(); sz != st.Bytes {
				t.Errorf("Size = %d, Stats.Bytes = %d", sz, st.Bytes)
			}
		})
	}
}

// tsharkFields are the fields compared with Wireshark's dissection.
var tsharkFields = []string{
	"frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
	"ip.ttl", "ipv6.hlim", "ip.id", "ip.flags.df", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw",
	"tcp.window_size_value", "tcp.len", "tcp.option_kind", "tcp.payload", "frame.time_epoch",
}

// TestCorpusMatchesTshark checks every decoded field of every TCP packet of
// the corpus against tshark's dissection of the same file: the set of TCP
// frames, addresses and ports (the innermost for tunnels), TTL or hop limit,
// IP ID, DF, the 12 flag bits with the reserved ones, raw seq and ack,
// window, payload length from the IP header, option kinds, the first
// payload bytes and the timestamp.
func TestCorpusMatchesTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every corpus file")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	for _, e := range loadCorpus(t) {
		t.Run(e.file, func(t *testing.T) {
			path := filepath.Join(corpusDir, e.file)
			args := []string{"-r", path, "-n", "-o", "tcp.relative_sequence_numbers:FALSE",
				"-o", "tcp.analyze_sequence_numbers:FALSE",
				"-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "occurrence=a"}
			for _, f := range tsharkFields {
				args = append(args, "-e", f)
			}
			cmd := exec.Command(tshark, args...)
			cmd.Stderr = io.Discard
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[uint64][]string{}
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				if line == "" {
					continue
				}
				f := strings.Split(line, "\t")
				n, _ := strconv.ParseUint(f[0], 10, 64)
				want[n] = f
			}

			src, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			pkts, err := readAll(t, src)
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint64]bool{}
			errs := 0
			for i := range pkts {
				p := &pkts[i]
				got[p.Frame] = true
				w, ok := want[p.Frame]
				if !ok {
					t.Errorf("frame %d: decoded as TCP, tshark does not", p.Frame)
					continue
				}
				if d := diffTshark(p, w); d != "" {
					t.Errorf("frame %d: %s", p.Frame, d)
					if errs++; errs > 5 {
						t.Fatal("too many differences")
					}
				}
			}
			for n := range want {
				if !got[n] {
					t.Errorf("frame %d: tshark sees TCP, decoder returned none", n)
				}
			}
		})
	}
}

// last returns the last of tshark's comma-separated occurrences.
func last(s string) string {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return s[i+1:]
	}
	return s
}

func diffTshark(p *Packet, w []string) string {
	field := map[string]string{}
	for i, name := range tsharkFields {
		if i < len(w) {
			field[name] = w[i]
		}
	}
	var diffs []string
	check := func(what, got, want string) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s = %s, tshark %s", what, got, want))
		}
	}
	src, dst, ttl := last(field["ip.src"]), last(field["ip.dst"]), last(field["ip.ttl"])
	if p.Src.Is6() {
		src, dst, ttl = last(field["ipv6.src"]), last(field["ipv6.dst"]), last(field["ipv6.hlim"])
	} else {
		id, _ := strconv.ParseUint(strings.TrimPrefix(last(field["ip.id"]), "0x"), 16, 16)
		check("ip id", strconv.FormatUint(uint64(p.IPID), 10), strconv.FormatUint(id, 10))
		df := last(field["ip.flags.df"])
		check("df", strconv.FormatBool(p.DF), strconv.FormatBool(df == "1" || df == "True"))
	}
	check("src", p.Src.String(), src)
	check("dst", p.Dst.String(), dst)
	check("ttl", strconv.Itoa(int(p.TTL)), ttl)
	check("sport", strconv.Itoa(int(p.SrcPort)), field["tcp.srcport"])
	check("dport", strconv.Itoa(int(p.DstPort)), field["tcp.dstport"])
	fl, _ := strconv.ParseUint(strings.TrimPrefix(field["tcp.flags"], "0x"), 16, 16)
	check("flags", fmt.Sprintf("%#04x", uint16(p.Flags)), fmt.Sprintf("%#04x", fl))
	check("seq", strconv.FormatUint(uint64(p.Seq), 10), field["tcp.seq_raw"])
	check("ack", strconv.FormatUint(uint64(p.Ack), 10), orZero(field["tcp.ack_raw"]))
	check("window", strconv.Itoa(int(p.Window)), field["tcp.window_size_value"])
	check("payload len", strconv.Itoa(p.PayloadLen), field["tcp.len"])

	var kinds uint32
	if k := field["tcp.option_kind"]; k != "" {
		for _, s := range strings.Split(k, ",") {
			if n, err := strconv.Atoi(s); err == nil && n < 32 {
				kinds |= 1 << n
			}
		}
	}
	check("option kinds", fmt.Sprintf("%#x", p.Options), fmt.Sprintf("%#x", kinds))

	pay, _ := hex.DecodeString(strings.ReplaceAll(field["tcp.payload"], ":", ""))
	if len(pay) > HeadLen {
		pay = pay[:HeadLen]
	}
	check("head", hex.EncodeToString(p.Payload()), hex.EncodeToString(pay))

	if ts := field["frame.time_epoch"]; ts != "" {
		// tshark prints 9 fractional digits; compare at its precision.
		sec, frac, _ := strings.Cut(ts, ".")
		want := sec + "." + (frac + "000000000")[:9]
		got := fmt.Sprintf("%d.%09d", p.Time.Unix(), p.Time.Nanosecond())
		check("time", got, want)
		if p.Time.Location().String() != "UTC" {
			diffs = append(diffs, "time not in UTC")
		}
	}
	return strings.Join(diffs, "; ")
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// TestFilterTCPPort80 compares a BPF-filtered read with tcpdump's count of
// the same expression on the same file.
func TestFilterTCPPort80(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	loadCorpus(t) // skips without the corpus
	const expr = "tcp port 80"
	for _, file := range []string{"zeek/nmap-vsn.pcap", "ndpi/KakaoTalk_talk.pcap", "chrissanders/synscan.pcapng", "ndpi/tcp_scan.pcapng"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(corpusDir, file)
			cmd := exec.Command(tcpdump, "-r", path, "-n", expr)
			cmd.Stderr = io.Discard
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			want := uint64(strings.Count(string(out), "\n"))

			src, err := Open(path, Options{Filter: expr})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			pkts, err := readAll(t, src)
			if err != nil {
				t.Fatal(err)
			}
			st := src.Stats()
			if matched := st.Frames - st.Filtered; matched != want {
				t.Errorf("frames passing the filter = %d, tcpdump prints %d", matched, want)
			}
			if want == 0 || want == st.Frames {
				t.Errorf("filter test is vacuous on this file: %d of %d frames match", want, st.Frames)
			}
			for _, p := range pkts {
				if p.SrcPort != 80 && p.DstPort != 80 {
					t.Errorf("frame %d (%v -> %v) passed %q", p.Frame, p.SrcAddrPort(), p.DstAddrPort(), expr)
				}
			}
		})
	}
}
