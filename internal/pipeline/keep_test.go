package pipeline

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/keep"
	"github.com/rstscope/rstscope/internal/testenv"
)

// TestKeepFileFullDisk: saving the frames of reset connections to a disk
// that fills up fails with ENOSPC, and leaves a file that reads to its
// end without damage and holds exactly the frames counted as saved.
func TestKeepFileFullDisk(t *testing.T) {
	testenv.RequireRoot(t, "mount", "umount")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	path := filepath.Join(dir, "resets.pcap")
	kf, err := CreateKeepFile(path, layers.LinkTypeEthernet, 2048)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 1500)
	copy(frame, frameTemplate(6))
	var addErr error
	for i := 0; i < 100 && addErr == nil; i++ { // 150 KB of RSTs, each saved
		p := capture.Packet{Frame: uint64(i + 1), Time: t0, SrcPort: uint16(1000 + i), DstPort: 80, Flags: capture.RST}
		addErr = kf.Add(&p, frame, gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(frame), Length: len(frame)})
	}
	if !errors.Is(addErr, syscall.ENOSPC) || !errors.Is(addErr, keep.ErrWrite) {
		t.Fatalf("Add: %v, want ENOSPC", addErr)
	}
	if err := kf.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close: %v, want the error again", err)
	}
	st := kf.Stats()
	if fi, err := os.Stat(path); err != nil || fi.Size() != st.Bytes {
		t.Fatalf("file %v (%v), want %d bytes: the header and %d whole frames", fi, err, st.Bytes, st.Frames)
	}
	src, err := OpenFile(t.Context(), path, nil, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := readAll(src); err != nil {
		t.Errorf("reading the saved frames: %v", err)
	}
	if n := src.Stats().Frames; n == 0 || n != st.Frames {
		t.Errorf("%d frames in the file, %d counted as saved", n, st.Frames)
	}
}
