package flows

import "time"

// Nanos is a capture timestamp in Unix nanoseconds: 8 bytes and no
// pointer for the garbage collector, where a time.Time takes 24 and holds
// one. Zero means "never" (a packet stamped exactly 1970-01-01T00:00:00Z
// reads as never too).
type Nanos int64

// NanosOf converts a timestamp.
func NanosOf(t time.Time) Nanos { return Nanos(t.UnixNano()) }

// Time converts back, in UTC.
func (n Nanos) Time() time.Time { return time.Unix(0, int64(n)).UTC() }

// IsZero reports whether n is unset.
func (n Nanos) IsZero() bool { return n == 0 }

// After reports whether n is later than o.
func (n Nanos) After(o Nanos) bool { return n > o }

// Before reports whether n is earlier than o.
func (n Nanos) Before(o Nanos) bool { return n < o }

// Sub returns n − o.
func (n Nanos) Sub(o Nanos) time.Duration { return time.Duration(n - o) }
