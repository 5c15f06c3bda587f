// Command halves splits a capture file into two classic pcap files by
// connection, the way rstscope's two workers would split it: every TCP
// segment goes to the half that bits 40 and up of its connection's hash
// pick (both directions of a connection land in one half), and every
// other frame is dropped. It exists for internal/bench/ceiling.sh, which
// times rstscope on each half alone and on both at once, one per core: the
// speed-up this machine gives a split with no hand-over at all, against
// which --workers 2 is measured.
//
// Usage:
//
//	halves IN OUT0 OUT1
//
// IN is any capture rstscope reads (pcap or pcapng, gzip or not); the
// halves keep IN's frames byte for byte, with its link type (the first
// frame's, for pcapng) and timestamps in nanoseconds. It exits with status
// 1 and a message when IN cannot be read to its end or a half cannot be
// written, and 2 for bad usage.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flows"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: halves IN OUT0 OUT1")
		os.Exit(2)
	}
	n, err := split(os.Args[1], os.Args[2:4])
	if err != nil {
		fmt.Fprintln(os.Stderr, "halves:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "halves: %d and %d TCP segments\n", n[0], n[1])
}

// split writes the TCP segments of the capture at in to the files named
// by out, by connection, and returns how many went to each.
func split(in string, out []string) (n [2]int, err error) {
	src, err := capture.Open(in, capture.Options{KeepDuplicates: true})
	if err != nil {
		return n, err
	}
	defer src.Close()
	fs, ok := src.(capture.FrameSource)
	if !ok {
		return n, fmt.Errorf("%s: the reader does not keep its frames", in)
	}
	var w [2]*pcapgo.Writer
	var bw [2]*bufio.Writer
	for i, name := range out {
		f, err := os.Create(name)
		if err != nil {
			return n, err
		}
		defer f.Close()
		bw[i] = bufio.NewWriterSize(f, 1<<20)
	}
	h := flows.NewHasher()
	var p capture.Packet
	for {
		if err := src.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return n, err
		}
		data, ci, lt := fs.LastFrame()
		k := flows.KeyOf(&p)
		half := int(h.Hash(&k)>>40) & 1
		if w[half] == nil {
			if err := open(&w, bw, lt); err != nil {
				return n, err
			}
		}
		if err := w[half].WritePacket(ci, data); err != nil {
			return n, err
		}
		n[half]++
	}
	for i := range bw {
		if w[i] == nil {
			if err := open(&w, bw, layers.LinkTypeEthernet); err != nil {
				return n, err
			}
		}
		if err := bw[i].Flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// open starts both halves with link type lt.
func open(w *[2]*pcapgo.Writer, bw [2]*bufio.Writer, lt layers.LinkType) error {
	for i := range w {
		w[i] = pcapgo.NewWriterNanos(bw[i])
		if err := w[i].WriteFileHeader(262144, lt); err != nil {
			return err
		}
	}
	return nil
}
