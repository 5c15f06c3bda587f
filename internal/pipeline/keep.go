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
// Its errors name the file. When a write fails (a full disk), the file is
// cut back to its last whole record, so that it stays a readable capture
// of the frames Stats counts.
type KeepFile struct {
	path string
	f    *os.File
	k    *keep.Keeper
	cut  bool // the file was cut back after an error
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
		os.Remove(path) // not even its header fits
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &KeepFile{path: path, f: f, k: k}, nil
}

// Add implements Saver: see keep.Keeper.Add.
func (kf *KeepFile) Add(p *capture.Packet, frame []byte, ci gopacket.CaptureInfo) error {
	if err := kf.k.Add(p, frame, ci); err != nil {
		return kf.fail(err)
	}
	return nil
}

// fail cuts the file back to its last whole record, once, and names it in
// err.
func (kf *KeepFile) fail(err error) error {
	if !kf.cut {
		kf.cut = true
		if terr := kf.f.Truncate(kf.k.Stats().Bytes); terr != nil {
			err = fmt.Errorf("%w; the file may end in a cut record: %w", err, terr)
		}
	}
	return fmt.Errorf("%s: %w", kf.path, err)
}

// Close implements Saver: it writes what is buffered and closes the file.
// The error wraps keep.ErrWrite.
func (kf *KeepFile) Close() error {
	var err error
	if ferr := kf.k.Flush(); ferr != nil {
		err = kf.fail(ferr)
	}
	if cerr := kf.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w: %w", kf.path, keep.ErrWrite, cerr)
	}
	return err
}

// Stats returns how many connections were saved, and how many frames the
// file holds whole.
func (kf *KeepFile) Stats() keep.Stats { return kf.k.Stats() }
