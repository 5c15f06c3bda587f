package pipeline

import (
	"fmt"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/keep"
)

// KeepFile is a Saver that writes the evidence of reset connections to a
// pcap file: each one's latest frames before its RST, the RST and the
// frames that follow (package keep), and nothing of the other connections.
// Its errors name the file.
type KeepFile struct {
	path string
	f    *os.File
	k    *keep.Keeper
}

// CreateKeepFile creates or truncates the file at path and writes the pcap
// header for frames of link type lt cut at snaplen bytes (the capture's).
func CreateKeepFile(path string, lt layers.LinkType, snaplen int) (*KeepFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	k, err := keep.New(f, lt, snaplen, keep.Config{})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &KeepFile{path: path, f: f, k: k}, nil
}

// Add implements Saver: see keep.Keeper.Add.
func (kf *KeepFile) Add(p *capture.Packet, frame []byte, ci gopacket.CaptureInfo) error {
	if err := kf.k.Add(p, frame, ci); err != nil {
		return fmt.Errorf("%s: %w", kf.path, err)
	}
	return nil
}

// Close implements Saver: it writes what is buffered and closes the file.
// The error wraps keep.ErrWrite.
func (kf *KeepFile) Close() error {
	err := kf.k.Flush()
	if cerr := kf.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %w", keep.ErrWrite, cerr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", kf.path, err)
	}
	return nil
}

// Stats returns how many connections and frames were saved.
func (kf *KeepFile) Stats() keep.Stats { return kf.k.Stats() }
