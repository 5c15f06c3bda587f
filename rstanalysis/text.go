package rstanalysis

import (
	"fmt"
	"time"
)

// ms renders a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	case f >= 1:
		return fmt.Sprintf("%.2f ms", f)
	}
	return fmt.Sprintf("%.3f ms", f)
}

// dur renders a longer interval (idle gaps) in seconds or minutes.
func dur(d time.Duration) string {
	if d < time.Second {
		return ms(d)
	}
	if d < 2*time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}
