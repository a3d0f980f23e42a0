package sinkutil_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"0", 0},
		{"-5", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"99999999", sinkutil.MaxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), sinkutil.MaxRetryAfter},
		{"soon", 0},
	} {
		if got := sinkutil.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryError(t *testing.T) {
	cause := errors.New("503 Service Unavailable")
	var err error = &sinkutil.RetryError{Err: cause, After: 3 * time.Second}
	if !errors.Is(err, cause) {
		t.Error("RetryError does not unwrap to its cause")
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second {
		t.Errorf("RetryAfter not found or wrong: %v", err)
	}
	if got, want := err.Error(), "503 Service Unavailable (retry after 3s)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&sinkutil.RetryError{Err: cause}).Error(); got != cause.Error() {
		t.Errorf("Error() without After = %q", got)
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"  hello\n", 100, "hello"},
		{"a\x00b\tc", 100, "a b c"},
		{"héllo", 2, "h"}, // the cut é is dropped
		{"abcdef", 3, "abc"},
		{"\xff\xfeok", 100, "ok"},
	} {
		if got := sinkutil.Excerpt([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	var d sinkutil.Duration
	if err := json.Unmarshal([]byte(`"1m30s"`), &d); err != nil || time.Duration(d) != 90*time.Second {
		t.Fatalf("got %v, %v", time.Duration(d), err)
	}
	if b, _ := json.Marshal(d); string(b) != `"1m30s"` {
		t.Errorf("Marshal = %s", b)
	}
	for _, in := range []string{`10`, `"ten"`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = nil error", in)
		}
	}
}

func field(t *testing.T, err error) hashtrail.FieldError {
	t.Helper()
	fe := sinkutil.FieldErrors(err)
	if len(fe) != 1 {
		t.Fatalf("got %v, want one field error", err)
	}
	return fe[0]
}

func TestDecodeFields(t *testing.T) {
	var (
		name  string
		on    bool
		tags  []string
		count int
		wait  sinkutil.Duration
	)
	fields := map[string]any{"name": &name, "on": &on, "tags": &tags, "count": &count, "wait": &wait}
	if err := sinkutil.DecodeFields(json.RawMessage(`{"name":"x","on":true,"tags":["a"],"count":3,"wait":"2s"}`), fields); err != nil {
		t.Fatal(err)
	}
	if name != "x" || !on || len(tags) != 1 || count != 3 || time.Duration(wait) != 2*time.Second {
		t.Errorf("decoded %q %v %v %d %v", name, on, tags, count, wait)
	}
	for _, tc := range []struct{ in, field, msg string }{
		{`[]`, "settings", "must be a JSON object"},
		{`null`, "settings", "must be a JSON object"},
		{`{"zzz":1,"aaa":1}`, "aaa", "is not a setting of this destination"},
		{`{"name":1}`, "name", "must be a string"},
		{`{"on":"yes"}`, "on", "must be a boolean"},
		{`{"tags":{}}`, "tags", "must be a array"},
		{`{"count":"3"}`, "count", "must be a number"},
		{`{"wait":"soon"}`, "wait", `must be a duration string such as "10s"`},
	} {
		err := sinkutil.DecodeFields(json.RawMessage(tc.in), fields)
		if hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", tc.in, err)
			continue
		}
		if f := field(t, err); f.Field != tc.field && !(tc.field == "settings" && f.Field == "") || f.Message != tc.msg {
			t.Errorf("%s: got %+v, want %s: %s", tc.in, f, tc.field, tc.msg)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	if sinkutil.FieldErrors(nil) != nil {
		t.Error("FieldErrors(nil) != nil")
	}
	if f := field(t, sinkutil.Invalid("url", "is wrong")); f.Field != "url" || f.Message != "is wrong" {
		t.Errorf("got %+v", f)
	}
	if f := field(t, errors.New("boom")); f.Field != "" || f.Message != "boom" {
		t.Errorf("got %+v", f)
	}
}

func TestCheckHost(t *testing.T) {
	g := &sink.Guard{}
	for _, tc := range []struct {
		check  func() []hashtrail.FieldError
		refuse bool
	}{
		{func() []hashtrail.FieldError { return sinkutil.CheckURL("url", "http://169.254.169.254/x", g) }, true},
		{func() []hashtrail.FieldError { return sinkutil.CheckURL("url", "https://[::1]:8443/", g) }, true},
		{func() []hashtrail.FieldError { return sinkutil.CheckURL("url", "https://example.com/", g) }, false},
		{func() []hashtrail.FieldError { return sinkutil.CheckURL("url", "", g) }, false},
		{func() []hashtrail.FieldError { return sinkutil.CheckURL("url", "://bad", g) }, false},
		{func() []hashtrail.FieldError { return sinkutil.CheckHost("address", "127.0.0.1", g) }, true},
		{func() []hashtrail.FieldError { return sinkutil.CheckHost("address", "[::1]", g) }, true},
		{func() []hashtrail.FieldError { return sinkutil.CheckHost("address", "logs.example.com", g) }, false},
		{func() []hashtrail.FieldError { return sinkutil.CheckHost("address", "8.8.8.8", g) }, false},
		{func() []hashtrail.FieldError {
			return sinkutil.CheckHost("address", "127.0.0.1", &sink.Guard{AllowPrivate: true})
		}, false},
	} {
		fe := tc.check()
		if (fe != nil) != tc.refuse {
			t.Errorf("case %+v: got %v, refuse=%v", tc, fe, tc.refuse)
		}
	}
	fe := sinkutil.CheckHost("address", "127.0.0.1", g)
	if len(fe) != 1 || fe[0].Field != "address" || fe[0].Message == "" {
		t.Errorf("got %+v", fe)
	}
}

func TestChunks(t *testing.T) {
	// Items of sizes 3, 3, 3, 10, 1 in a JSON array ([a,b]: frame 2, sep 1).
	ends := []int{0, 3, 6, 9, 19, 20}
	for _, tc := range []struct {
		maxBytes, maxCount int
		want               [][2]int
	}{
		{100, 0, [][2]int{{0, 5}}},
		{9, 0, [][2]int{{0, 2}, {2, 3}, {3, 4}, {4, 5}}}, // [3,3] is 9 bytes; 10 alone exceeds and goes alone
		{100, 2, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
	} {
		var got [][2]int
		err := sinkutil.Chunks(ends, 2, 1, tc.maxBytes, tc.maxCount, func(lo, hi int) error {
			got = append(got, [2]int{lo, hi})
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Chunks(max %d bytes, %d items) = %v, %v; want %v", tc.maxBytes, tc.maxCount, got, err, tc.want)
		}
	}
	if err := sinkutil.Chunks([]int{0}, 2, 1, 10, 0, func(int, int) error { t.Error("send called for no items"); return nil }); err != nil {
		t.Error(err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := sinkutil.Chunks(ends, 0, 0, 3, 0, func(int, int) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Chunks after a failed send: %v, %d calls; want the error after one call", err, calls)
	}
}
