package hashtrail

import (
	"bytes"
	"fmt"
	"time"
)

// TimeLayout is how every time is written: UTC with exactly six fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Time is an instant in UTC with microsecond precision. It is written as
// TimeLayout and read from any RFC 3339 time; finer precision is truncated.
// The zero Time means "absent".
type Time struct{ time.Time }

// NewTime returns t in UTC truncated to microseconds.
func NewTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Microsecond)}
}

// TimeFromMicros returns the Time us microseconds after the Unix epoch.
func TimeFromMicros(us int64) Time { return Time{time.UnixMicro(us).UTC()} }

// Micros returns t as microseconds since the Unix epoch.
func (t Time) Micros() int64 { return t.UnixMicro() }

// String formats t as TimeLayout.
func (t Time) String() string { return t.Time.UTC().Format(TimeLayout) }

// MarshalJSON writes t as a TimeLayout string.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`null`), nil
	}
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("must be an RFC 3339 time string")
	}
	v, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	if v.Year() < 1970 {
		return fmt.Errorf("must not be before 1970")
	}
	*t = v
	return nil
}

// ParseTime reads an RFC 3339 time (with or without fractional seconds).
func ParseTime(s string) (Time, error) {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Time{}, fmt.Errorf("must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return NewTime(v), nil
}
