package pipeline

import (
	"context"
	"io"
	"os"

	"github.com/rstscope/rstscope/capture"
)

// OpenFile opens the capture file at path ("-": stdin, which the caller
// owns) for Run, so that a cancelled ctx ends the read at once rather than
// at the next TCP segment: every read of the file's bytes looks at ctx
// first, and whatever may block (a pipe, a FIFO, a terminal, standard
// input that is not a regular file) is read on a goroutine of its own, so
// that the read stops waiting when ctx is done. A FIFO with no writer
// blocks in open(2); it too is opened on a goroutine, given up when ctx is
// done. After ctx is done the Source's Next fails with an error wrapping
// context.Cause(ctx), which Run takes for the interruption it is.
//
// The Source is a capture.FrameSource with the Size of a regular file
// (-1 otherwise) and LinkType; Close closes the file it opened. Errors are
// capture.NewReader's, named path (or "stdin"), and the os errors of
// opening (*fs.PathError).
func OpenFile(ctx context.Context, path string, stdin io.Reader, opts capture.Options) (Source, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	if path == "-" {
		f, err := capture.NewReader(cancelReader(ctx, stdin), "stdin", opts)
		if err != nil {
			return nil, err // not a nil *File in a non-nil Source
		}
		return &fileSource{File: f, size: -1}, nil
	}
	fh, err := openCancel(ctx, path)
	if err != nil {
		return nil, err
	}
	f, err := capture.NewReader(cancelReader(ctx, fh), path, opts)
	if err != nil {
		fh.Close()
		return nil, err
	}
	src := &fileSource{File: f, size: -1, closer: fh}
	if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
		src.size = fi.Size()
	}
	return src, nil
}

// fileSource is a *capture.File read through a cancelReader: the size and
// the file handle that capture.NewReader leaves to its caller.
type fileSource struct {
	*capture.File
	size   int64
	closer io.Closer // nil for standard input
}

var _ capture.FrameSource = (*fileSource)(nil)

// Size returns the file's size in bytes, comparable with Stats().Bytes,
// or -1 when unknown.
func (s *fileSource) Size() int64 { return s.size }

// Close closes the file OpenFile opened (not standard input).
func (s *fileSource) Close() error {
	err := s.File.Close()
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
		s.closer = nil
	}
	return err
}

// openCancel opens path for reading. A regular file (or one that cannot
// be looked at: its error comes from os.Open) is opened here; anything
// else, where open(2) may wait (a FIFO waits for a writer), on a goroutine
// that ctx stops waiting for: a file it opens after that is closed.
func openCancel(ctx context.Context, path string) (*os.File, error) {
	if fi, err := os.Stat(path); err != nil || fi.Mode().IsRegular() {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
		go func() { // the open may never return: close what it gives, if it does
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// cancelReader returns a reader of r that fails with context.Cause(ctx)
// once ctx is done. A regular file is read directly, with a look at ctx
// before each read (a read of a regular file does not wait); any other
// reader on a goroutine of its own (asyncReader).
func cancelReader(ctx context.Context, r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return &checkReader{ctx: ctx, r: r}
		}
	}
	return newAsyncReader(ctx, r)
}

// checkReader reads r after a look at ctx.
type checkReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *checkReader) Read(p []byte) (int, error) {
	select {
	case <-c.ctx.Done():
		return 0, context.Cause(c.ctx)
	default:
	}
	return c.r.Read(p)
}

// asyncBufSize is the size of each of an asyncReader's two buffers: a
// pipe's capacity.
const asyncBufSize = 64 << 10

// asyncReader reads r on a goroutine into buffers of its own (two, so that
// reading overlaps decoding) and hands them to Read, which also returns
// when ctx is done. The goroutine may then stay blocked in r's Read until
// r has data or the process ends; it writes only into its own buffers.
type asyncReader struct {
	ctx     context.Context
	r       io.Reader
	free    chan []byte
	full    chan chunk
	started bool
	cur     []byte // being handed out, from off on; nil: none
	off     int
	err     error // r's error, returned once cur is used up
}

// chunk is one read of the goroutine.
type chunk struct {
	buf []byte
	err error
}

func newAsyncReader(ctx context.Context, r io.Reader) *asyncReader {
	return &asyncReader{ctx: ctx, r: r, free: make(chan []byte, 2), full: make(chan chunk, 2)}
}

// fill reads r until it fails or ctx is done.
func (a *asyncReader) fill() {
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.ctx.Done():
			return
		}
		n, err := a.r.Read(buf[:cap(buf)])
		a.full <- chunk{buf[:n], err} // never blocks: two buffers, two slots
		if err != nil {
			return
		}
	}
}

func (a *asyncReader) Read(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.free <- make([]byte, asyncBufSize)
		a.free <- make([]byte, asyncBufSize)
		go a.fill()
	}
	for a.off == len(a.cur) {
		if a.cur != nil {
			a.free <- a.cur // never blocks: two buffers, two slots
			a.cur = nil
		}
		if a.err != nil {
			return 0, a.err
		}
		select {
		case <-a.ctx.Done(): // first, even when data waits
			a.err = context.Cause(a.ctx)
			return 0, a.err
		default:
		}
		select {
		case <-a.ctx.Done():
			a.err = context.Cause(a.ctx)
			return 0, a.err
		case c := <-a.full:
			a.cur, a.off, a.err = c.buf, 0, c.err
		}
	}
	n := copy(p, a.cur[a.off:])
	a.off += n
	return n, nil
}
