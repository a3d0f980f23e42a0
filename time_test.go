package hashtrail_test

import (
	"encoding/json"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-01-02T15:04:05Z", "2026-01-02T15:04:05.000000Z"},
		{"2026-01-02T15:04:05.1Z", "2026-01-02T15:04:05.100000Z"},
		{"2026-01-02T15:04:05.123Z", "2026-01-02T15:04:05.123000Z"},
		{"2026-01-02T15:04:05.123456Z", "2026-01-02T15:04:05.123456Z"},
		// Finer precision is truncated, never rounded.
		{"2026-01-02T15:04:05.123456789Z", "2026-01-02T15:04:05.123456Z"},
		{"2026-01-02T15:04:05.9999999Z", "2026-01-02T15:04:05.999999Z"},
		{"2026-12-31T23:59:59.9999999Z", "2026-12-31T23:59:59.999999Z"},
		// Offsets are converted to UTC.
		{"2026-01-02T15:04:05+02:00", "2026-01-02T13:04:05.000000Z"},
		{"2026-01-02T15:04:05.5-07:30", "2026-01-02T22:34:05.500000Z"},
		{"2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000Z"},
		{"2026-01-02T15:04:05+00:00", "2026-01-02T15:04:05.000000Z"},
		{"2026-01-02T15:04:05-00:00", "2026-01-02T15:04:05.000000Z"},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000000Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
		{"1969-12-31T23:59:59.9999999Z", "1969-12-31T23:59:59.999999Z"},
	} {
		got, err := hashtrail.ParseTime(tc.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if s := got.String(); s != tc.want {
			t.Errorf("ParseTime(%q) = %s, want %s", tc.in, s, tc.want)
		}
		if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
			t.Errorf("ParseTime(%q) = %v: not UTC microseconds", tc.in, got.Time)
		}
	}
	for _, in := range []string{
		"", "now", "2026-01-02", "15:04:05Z", "2026-01-02T15:04:05", "2026-01-02 15:04:05Z", "2026-01-02T15:04Z",
		"2026-1-2T15:04:05Z", "2026-01-02T15:04:05+0200", "2026-01-02T15:04:05+02", "2026-01-02T15:04:05.Z",
		"2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-02T25:00:00Z", "2026-01-02T15:60:00Z",
		"2026-01-02T15:04:05Z ", " 2026-01-02T15:04:05Z", "+2026-01-02T15:04:05Z", "10000-01-01T00:00:00Z",
		"1767366245", "Fri, 02 Jan 2026 15:04:05 GMT", "2026-01-02T15:04:05ZZ",
	} {
		if got, err := hashtrail.ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		} else if !got.IsZero() {
			t.Errorf("ParseTime(%q) returned %v with its error", in, got)
		}
	}
}

func TestNewTime(t *testing.T) {
	zone := time.FixedZone("X", -9*3600)
	in := time.Date(2026, 1, 2, 6, 4, 5, 123456789, zone)
	got := hashtrail.NewTime(in)
	if want := time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("NewTime = %v, want %v", got.Time, want)
	}
	if !hashtrail.NewTime(time.Time{}).IsZero() {
		t.Error("NewTime of the zero time is not zero")
	}
	// A monotonic clock reading is dropped, so that == and DeepEqual work.
	if a := hashtrail.NewTime(time.Now()); a.Time != a.Round(0) {
		t.Error("NewTime keeps the monotonic clock reading")
	}
}

func TestTimeMicros(t *testing.T) {
	for _, us := range []int64{0, 1, -1, 1767366245123456, -86400000000} {
		tm := hashtrail.TimeFromMicros(us)
		if tm.Micros() != us || tm.Location() != time.UTC {
			t.Errorf("TimeFromMicros(%d) = %v, Micros %d", us, tm.Time, tm.Micros())
		}
	}
	if s := hashtrail.TimeFromMicros(1767366245123456).String(); s != "2026-01-02T15:04:05.123456Z" {
		t.Errorf("TimeFromMicros = %s", s)
	}
}

func TestTimeJSON(t *testing.T) {
	type doc struct {
		T hashtrail.Time  `json:"t"`
		P *hashtrail.Time `json:"p,omitempty"`
		Z hashtrail.Time  `json:"z,omitzero"`
	}
	tm := hashtrail.NewTime(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC))
	b, err := json.Marshal(doc{T: tm, P: &tm})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"t":"2026-01-02T15:04:05.000000Z","p":"2026-01-02T15:04:05.000000Z"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	// The zero Time is absent: null, or left out with omitzero.
	b, _ = json.Marshal(doc{})
	if want := `{"t":null}`; string(b) != want {
		t.Errorf("Marshal of zero = %s, want %s", b, want)
	}
	// Every written time has the same width, so text order is time order.
	for _, s := range []string{
		hashtrail.TimeFromMicros(0).String(),
		hashtrail.TimeFromMicros(1).String(),
		hashtrail.NewTime(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)).String(),
	} {
		if len(s) != len(hashtrail.TimeLayout) {
			t.Errorf("%s has %d characters, want %d", s, len(s), len(hashtrail.TimeLayout))
		}
	}

	var d doc
	if err := json.Unmarshal([]byte(`{"t":"2026-01-02T17:04:05.1234567+02:00","p":null,"z":null}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.T.String() != "2026-01-02T15:04:05.123456Z" || d.P != nil || !d.Z.IsZero() {
		t.Errorf("Unmarshal = %+v", d)
	}
	for _, bad := range []string{`{"t":1767366245}`, `{"t":"yesterday"}`, `{"t":true}`, `{"t":"2026-01-02"}`, `{"t":{}}`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	var direct hashtrail.Time
	for _, bad := range []string{``, `"`, `x`, `"2026-01-02T15:04:05Z`, `2026-01-02T15:04:05Z"`} {
		if err := direct.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s) accepted", bad)
		}
	}
	// Round trip.
	for _, us := range []int64{0, 1767366245123456, 253402300799999999} {
		in := hashtrail.TimeFromMicros(us)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out hashtrail.Time
		if err := json.Unmarshal(b, &out); err != nil || !out.Equal(in.Time) {
			t.Errorf("round trip of %s: %v, %v", b, out, err)
		}
	}
}
