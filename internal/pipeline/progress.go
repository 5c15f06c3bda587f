package pipeline

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
)

// bar is the progress bar of one input on Log: bytes of the file read,
// and the rate in packets per second. A nil *bar draws nothing.
type bar struct {
	pb      *progressbar.ProgressBar
	name    string
	started time.Time
}

// newBar returns a bar for src, or nil without Options.Progress or when the
// size of the input is unknown (standard input, a pipe, a live capture).
func newBar(r *runner, src Source, name string) *bar {
	if !r.opts.Progress || r.opts.Log == nil {
		return nil
	}
	sized, ok := src.(interface{ Size() int64 })
	if !ok || sized.Size() <= 0 {
		return nil
	}
	pb := progressbar.NewOptions64(sized.Size(),
		progressbar.OptionSetWriter(r.opts.Log),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return &bar{pb: pb, name: name, started: time.Now()}
}

// update shows that packets packets and bytes bytes of the file were read.
func (b *bar) update(packets uint64, bytes int64) {
	if b == nil {
		return
	}
	if secs := time.Since(b.started).Seconds(); secs > 0 && packets > 0 {
		b.pb.Describe(fmt.Sprintf("%s %.2f M packets/s", b.name, float64(packets)/secs/1e6))
	}
	_ = b.pb.Set64(bytes)
}

// finish erases the bar.
func (b *bar) finish() {
	if b == nil {
		return
	}
	_ = b.pb.Finish()
	_ = b.pb.Clear()
}
