package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TruthRow is the ground truth of one RST in one capture.
type TruthRow struct {
	// Frame is the 1-based frame number in the capture.
	Frame int
	// From is the side whose address the RST carries: "client" or "server".
	From string
	// Origin is who truly sent it.
	Origin Origin
	// Sender names the program or rule.
	Sender string
	// Phase and Cause are the designed labels, values of rstanalysis.Phase
	// and rstanalysis.Cause (docs/json.md).
	Phase, Cause string
	// Secondary is true for an endpoint kernel answering a segment that
	// arrived after the connection was reset.
	Secondary bool

	// The RST itself, for people reading the file.
	Flags    string
	Seq, Ack uint32
	TTL      uint8
	Src, Dst netip.AddrPort
}

// segment is one TCP segment of a capture, as much as truth needs.
type segment struct {
	frame    int
	ts       time.Time
	ipid     uint16 // 0 for IPv6
	src, dst netip.AddrPort
	flags    string // tcpdump style: S, S., R, R., F., P.
	rst      bool
	// wsrc and wdst are the addresses as captured; src and dst are the
	// client's own behind the router's NAT (see untranslate).
	wsrc, wdst netip.AddrPort
	seq, ack   uint32
	ttl        uint8
}

// key identifies the same segment at two vantage points: TTLs differ, these
// do not.
type segKey struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    string
}

func (s segment) key() segKey { return segKey{s.src, s.dst, s.seq, s.ack, s.flags} }

// wireKey adds the IPv4 ID, which no device of the lab rewrites.
type wireKey struct {
	segKey
	ipid uint16
}

func (s segment) wireKey() wireKey { return wireKey{s.key(), s.ipid} }

// conn is a connection's canonical 4-tuple.
type conn struct{ a, b netip.AddrPort }

func (s segment) conn() conn {
	if s.src.Compare(s.dst) < 0 {
		return conn{s.src, s.dst}
	}
	return conn{s.dst, s.src}
}

// ErrCapture is returned for a capture the lab cannot read.
var ErrCapture = errors.New("unreadable capture")

// readSegments reads every TCP segment of a pcap or pcapng file, numbering
// frames from 1 as Wireshark does (non-TCP frames count too).
func readSegments(path string) ([]segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", path, ErrCapture, err)
		}
		src = r
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", path, ErrCapture, err)
		}
		src = r
	}
	var (
		eth  layers.Ethernet
		ip4  layers.IPv4
		ip6  layers.IPv6
		tcp  layers.TCP
		typs []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true
	var segs []segment
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return segs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s frame %d: %w: %w", path, frame, ErrCapture, err)
		}
		if parser.DecodeLayers(data, &typs) != nil || len(typs) < 3 || typs[2] != layers.LayerTypeTCP {
			continue
		}
		s := segment{frame: frame, ts: ci.Timestamp, seq: tcp.Seq, ack: tcp.Ack, rst: tcp.RST}
		var sa, da netip.Addr
		if typs[1] == layers.LayerTypeIPv4 {
			sa, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
			da, _ = netip.AddrFromSlice(ip4.DstIP.To4())
			s.ttl, s.ipid = ip4.TTL, ip4.Id
		} else {
			sa, _ = netip.AddrFromSlice(ip6.SrcIP)
			da, _ = netip.AddrFromSlice(ip6.DstIP)
			s.ttl = ip6.HopLimit
		}
		s.src = netip.AddrPortFrom(sa, uint16(tcp.SrcPort))
		s.dst = netip.AddrPortFrom(da, uint16(tcp.DstPort))
		s.wsrc, s.wdst = s.src, s.dst
		s.flags = tcpFlags(&tcp)
		segs = append(segs, s)
	}
}

func tcpFlags(t *layers.TCP) string {
	var b strings.Builder
	for _, f := range []struct {
		on bool
		c  byte
	}{{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.URG, 'U'}, {t.ACK, '.'}} {
		if f.on {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

// Matching a RST seen at a vantage point with the same segment leaving its
// claimed sender: all captures share one clock, and a segment is captured at
// its sender before anywhere else and at most maxTransit later (the delay
// line's 10 ms plus scheduling). A forged copy with identical headers (a bare
// RST at the sender's next sequence number is exactly what that sender's
// kernel sends later when it answers a late segment) is told apart by time.
const (
	maxTransit = time.Second
	clockSlack = 200 * time.Microsecond
)

// matchOwn pairs, one to one and in time order, the RSTs of at that carry
// addr as their source with the RSTs that leave addr's own capture own.
// It returns frame in at → index in own.
func matchOwn(at, own []segment, addr netip.Addr) map[int]int {
	sent := map[wireKey][]int{}
	for i, s := range own {
		if s.rst && s.src.Addr() == addr {
			sent[s.wireKey()] = append(sent[s.wireKey()], i)
		}
	}
	seen := map[wireKey][]int{}
	for i, s := range at {
		if s.rst && s.src.Addr() == addr {
			seen[s.wireKey()] = append(seen[s.wireKey()], i)
		}
	}
	m := map[int]int{}
	for k, emitted := range sent {
		occ := seen[k]
		j := 0
		for _, e := range emitted {
			for j < len(occ) && at[occ[j]].ts.Before(own[e].ts.Add(-clockSlack)) {
				j++ // seen before the sender sent it: not this one
			}
			if j < len(occ) && at[occ[j]].ts.Sub(own[e].ts) <= maxTransit {
				m[at[occ[j]].frame] = e
				j++
			}
		}
	}
	return m
}

// resetBefore reports whether a RST of connection c precedes segs[at].
func resetBefore(segs []segment, at int, c conn) bool {
	for _, s := range segs[:at] {
		if s.rst && s.conn() == c {
			return true
		}
	}
	return false
}

// truthHeader is the first line of every truth file.
const truthHeader = "frame\tclaimed_from\torigin\tsender\tphase\tcause\tsecondary\tflags\tseq\tack\tttl\tsrc\tdst"

func writeTruthFiles(res *Result) error {
	for _, v := range Vantages {
		if err := WriteTruth(filepath.Join(res.Dir, res.Scenario.TruthFile(v)), res.Truth[v]); err != nil {
			return err
		}
	}
	return nil
}

// WriteTruth writes rows as a TSV file with truthHeader.
func WriteTruth(path string, rows []TruthRow) error {
	var b strings.Builder
	b.WriteString(truthHeader + "\n")
	for _, r := range rows {
		sec := "no"
		if r.Secondary {
			sec = "yes"
		}
		fmt.Fprintf(&b, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Frame, r.From, r.Origin, r.Sender,
			r.Phase, r.Cause, sec, r.Flags, r.Seq, r.Ack, r.TTL, r.Src, r.Dst)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// ErrTruthFormat is returned for a truth file that does not parse.
var ErrTruthFormat = errors.New("malformed truth file")

// ReadTruth reads a truth file written by WriteTruth.
func ReadTruth(path string) ([]TruthRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []TruthRow
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			if sc.Text() != truthHeader {
				return nil, fmt.Errorf("%s: %w: header %q", path, ErrTruthFormat, sc.Text())
			}
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 13 {
			return nil, fmt.Errorf("%s:%d: %w: %d columns", path, line, ErrTruthFormat, len(c))
		}
		var r TruthRow
		var errs [7]error
		r.Frame, errs[0] = strconv.Atoi(c[0])
		r.From, r.Origin, r.Sender, r.Phase, r.Cause = c[1], Origin(c[2]), c[3], c[4], c[5]
		r.Secondary, r.Flags = c[6] == "yes", c[7]
		var seq, ack, ttl uint64
		seq, errs[1] = strconv.ParseUint(c[8], 10, 32)
		ack, errs[2] = strconv.ParseUint(c[9], 10, 32)
		ttl, errs[3] = strconv.ParseUint(c[10], 10, 8)
		r.Seq, r.Ack, r.TTL = uint32(seq), uint32(ack), uint8(ttl)
		r.Src, errs[4] = netip.ParseAddrPort(c[11])
		r.Dst, errs[5] = netip.ParseAddrPort(c[12])
		if c[6] != "yes" && c[6] != "no" {
			errs[6] = fmt.Errorf("secondary %q", c[6])
		}
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("%s:%d: %w: %w", path, line, ErrTruthFormat, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}
