package capture

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// linkTypeInfo is one link type the decoder supports: the LINKTYPE_ value
// a capture file carries, the DLT_ value libpcap compiles filters for, and
// a name for messages.
type linkTypeInfo struct {
	lt   layers.LinkType
	dlt  layers.LinkType
	name string
}

// dltRaw is the host's DLT_RAW: 14 on OpenBSD, 12 elsewhere (libpcap's
// pcap/dlt.h).
var dltRaw = func() layers.LinkType {
	if runtime.GOOS == "openbsd" {
		return linkTypeDLTRawOpenBSD
	}
	return linkTypeDLTRaw
}()

// linkTypes lists the supported link types, with libpcap's translation
// from LINKTYPE_ to DLT_ (linktype_to_dlt in libpcap's pcap-common.c):
// values below 100 are the same in both sets (DLT_NULL through DLT_FDDI,
// DLT_PPP); LINKTYPE_RAW (101) is the platform's DLT_RAW; values from
// LINKTYPE_MATCHING_MIN (104) up are the same in both. 12 and 14 are no
// LINKTYPE_ values but DLT_RAW as some writers leave it in a file: they
// are read as raw IP and compiled as the host's DLT_RAW
// (https://www.tcpdump.org/linktypes.html).
var linkTypes = [...]linkTypeInfo{
	{layers.LinkTypeNull, layers.LinkTypeNull, "BSD loopback"},         // LINKTYPE_NULL 0 → DLT_NULL
	{layers.LinkTypeEthernet, layers.LinkTypeEthernet, "Ethernet"},     // LINKTYPE_ETHERNET 1 → DLT_EN10MB
	{layers.LinkTypePPP, layers.LinkTypePPP, "PPP"},                    // LINKTYPE_PPP 9 → DLT_PPP
	{layers.LinkTypeFDDI, layers.LinkTypeFDDI, "FDDI"},                 // LINKTYPE_FDDI 10 → DLT_FDDI
	{linkTypeDLTRaw, dltRaw, "raw IP"},                                 // DLT_RAW (most platforms) in a file
	{linkTypeDLTRawOpenBSD, dltRaw, "raw IP"},                          // DLT_RAW (OpenBSD) in a file
	{layers.LinkTypeRaw, dltRaw, "raw IP"},                             // LINKTYPE_RAW 101 → DLT_RAW
	{layers.LinkTypeLoop, layers.LinkTypeLoop, "OpenBSD loopback"},     // LINKTYPE_LOOP 108 → DLT_LOOP
	{layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL, "Linux SLL"},    // LINKTYPE_LINUX_SLL 113
	{layers.LinkTypeIPv4, layers.LinkTypeIPv4, "raw IPv4"},             // LINKTYPE_IPV4 228
	{layers.LinkTypeIPv6, layers.LinkTypeIPv6, "raw IPv6"},             // LINKTYPE_IPV6 229
	{layers.LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL2, "Linux SLL2"}, // LINKTYPE_LINUX_SLL2 276
}

// linkInfo returns lt's entry in linkTypes, or nil.
func linkInfo(lt layers.LinkType) *linkTypeInfo {
	for i := range linkTypes {
		if linkTypes[i].lt == lt {
			return &linkTypes[i]
		}
	}
	return nil
}

// SupportedLinkType reports whether frames of link type lt (a LINKTYPE_
// value, as in a capture file) can be decoded.
func SupportedLinkType(lt layers.LinkType) bool { return linkInfo(lt) != nil }

// dltOf returns the DLT_ value libpcap compiles a filter for, given the
// link type of a capture file or pcapng interface. Link types the decoder
// does not support are returned as they are (their frames are skipped
// before the filter runs).
func dltOf(lt layers.LinkType) layers.LinkType {
	if li := linkInfo(lt); li != nil {
		return li.dlt
	}
	return lt
}

// LinkTypeError reports an input whose frames are all of a link type the
// decoder does not support, such as 802.11 (105), radiotap (127) or
// DLT_USER0 (147): Open returns one for a classic pcap file, OpenLive for
// an interface, and Next at the end of a pcapng file none of whose frames
// had a supported link type.
type LinkTypeError struct {
	Input    string // the file's name, or "capture on eth0"
	LinkType layers.LinkType
}

func (e *LinkTypeError) Error() string {
	return fmt.Sprintf("%s: link type %s is not supported (rstscope decodes %s)",
		e.Input, LinkTypeName(e.LinkType), supportedNames())
}

// LinkTypeName renders a link type as its number and, when gopacket knows
// it, its name: "105 (IEEE802_11)", "147".
func LinkTypeName(lt layers.LinkType) string {
	name := lt.String()
	if strings.HasPrefix(name, "Unknown") || name == "" {
		return fmt.Sprint(uint16(lt))
	}
	return fmt.Sprintf("%d (%s)", uint16(lt), name)
}

// supportedNames lists the supported link types by name, once each.
func supportedNames() string {
	var names []string
	for _, li := range linkTypes {
		if len(names) == 0 || names[len(names)-1] != li.name {
			names = append(names, li.name)
		}
	}
	return strings.Join(names, ", ")
}
