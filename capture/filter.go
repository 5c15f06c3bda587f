package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// filterSnaplen is the capture length filters are compiled for: libpcap's
// maximum, so that no frame is judged shorter than it is.
const filterSnaplen = 262144

// filter holds a tcpdump expression compiled lazily per link type: BPF
// offsets depend on the link header, and a pcapng file may mix link types.
type filter struct {
	expr  string
	progs []ltProg // a few entries at most: searched linearly, no map
}

type ltProg struct {
	lt  layers.LinkType
	bpf *pcap.BPF
	err error
}

// prog returns the program for lt, compiling it the first time.
func (fl *filter) prog(lt layers.LinkType) (*pcap.BPF, error) {
	for i := range fl.progs {
		if fl.progs[i].lt == lt {
			return fl.progs[i].bpf, fl.progs[i].err
		}
	}
	b, err := pcap.NewBPF(dltOf(lt), filterSnaplen, fl.expr)
	if err != nil {
		err = &FilterError{Expr: fl.expr, LinkType: lt, Err: err}
	}
	fl.progs = append(fl.progs, ltProg{lt: lt, bpf: b, err: err})
	return b, err
}

// match runs the filter over one raw frame (pcap_offline_filter).
func (fl *filter) match(lt layers.LinkType, ci gopacket.CaptureInfo, data []byte) (bool, error) {
	b, err := fl.prog(lt)
	if err != nil {
		return false, err
	}
	return b.Matches(ci, data), nil
}
