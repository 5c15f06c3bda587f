package capture

import (
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// checkSnaplen is libpcap's largest snap length: no frame is judged shorter
// than it is.
const checkSnaplen = 262144

// CheckFilter compiles the tcpdump expression expr (pcap-filter(7)) for
// Ethernet, libpcap's most common link type, and returns a *FilterError
// when libpcap cannot: a syntax error, an unknown protocol or port name.
// It opens nothing, so a caller can reject a bad filter before it reads
// any input. An expression that compiles here may still fail for another
// link type (Open and OpenLive compile for the input's own). Empty is
// valid: it matches everything.
func CheckFilter(expr string) error {
	if expr == "" {
		return nil
	}
	if _, err := pcap.NewBPF(layers.LinkTypeEthernet, checkSnaplen, expr); err != nil {
		return &FilterError{Expr: expr, LinkType: layers.LinkTypeEthernet, Err: err}
	}
	return nil
}
