// Package sinkutil holds the helpers the destination packages (sink/webhook,
// sink/splunk, sink/datadog, sink/nats, sink/syslog, sink/s3) share: the
// retryable error with the receiver's Retry-After, strict decoding of
// settings, and the checks behind their Validate functions. It is no
// destination: destinations may import it, and it imports none of them.
package sinkutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// RetryError is a failure that a later attempt may not meet: a network
// error, a timeout, 408, 429 or 5xx. After, when not zero, is how long the
// receiver asked the sender to wait (Retry-After); the dispatcher finds it
// with hashtrail.RetryAfter and waits that long, up to its MaxBackoff.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.Err, e.After)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter returns how long the receiver asked to wait, or 0.
func (e *RetryError) RetryAfter() time.Duration { return e.After }

// MaxRetryAfter caps a receiver's Retry-After.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header value as delay-seconds or an
// HTTP date (relative to now). It returns 0 for an empty, unreadable or
// past value, and at most MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// Excerpt returns up to n bytes of a response body as printable text, for
// an error message: a UTF-8 sequence cut at n is dropped, and unprintable
// runes become spaces.
func Excerpt(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	return strings.TrimSpace(s)
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes d as "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "10s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration string such as "10s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`must be a duration string such as "10s"`)
	}
	*d = Duration(v)
	return nil
}

// DecodeFields decodes the JSON object settings member by member into
// fields (member name -> pointer), naming the member that is unknown or of
// the wrong type in an EINVALID error (field "settings.<name>"). Members are
// visited in name order, so the error is the same from run to run.
func DecodeFields(settings json.RawMessage, fields map[string]any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(settings, &raw); err != nil || raw == nil {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "settings", Message: "must be a JSON object"}})
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p, ok := fields[k]
		if !ok {
			return Invalid(k, "is not a setting of this destination")
		}
		if err := json.Unmarshal(raw[k], p); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return Invalid(k, "must be a "+jsonType(te.Type.Kind().String()))
			}
			return Invalid(k, err.Error())
		}
	}
	return nil
}

// jsonType names the JSON type a Go kind is decoded from.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return "number"
	}
}

// Invalid returns an EINVALID error about the setting field ("settings.<field>").
func Invalid(field, msg string) error {
	return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "settings." + field, Message: msg}})
}

// FieldErrors returns the fields of err (an EINVALID *hashtrail.Error from
// parsing settings) without the "settings." prefix, as a destination's
// Validate reports them; an error without fields becomes one field error
// with no field. A nil err gives nil.
func FieldErrors(err error) []hashtrail.FieldError {
	if err == nil {
		return nil
	}
	var he *hashtrail.Error
	if !errors.As(err, &he) || len(he.Fields) == 0 {
		return []hashtrail.FieldError{{Message: err.Error()}}
	}
	out := make([]hashtrail.FieldError, len(he.Fields))
	for i, f := range he.Fields {
		f.Field = strings.TrimPrefix(strings.TrimPrefix(f.Field, "settings"), ".")
		out[i] = f
	}
	return out
}

// CheckHost refuses a host (as in a URL or host:port, brackets allowed)
// that is an IP address the guard refuses, naming field. A host name is not
// checked here: the guard checks it when dialled, at every connection.
func CheckHost(field, host string, g *sink.Guard) []hashtrail.FieldError {
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return nil
	}
	if err := g.Check(addr); err != nil {
		return []hashtrail.FieldError{{Field: field, Message: strings.TrimPrefix(err.Error(), "sink: ")}}
	}
	return nil
}

// CheckURL is CheckHost for the host of a URL; an empty or unparsable URL
// is left to the destination's own validation.
func CheckURL(field, raw string, g *sink.Guard) []hashtrail.FieldError {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return CheckHost(field, u.Hostname(), g)
}

// Chunks sends encoded items in consecutive chunks, in order, stopping at
// the first error. Item i is ends[i]:ends[i+1] of one buffer (len(ends) is
// the item count plus one). A chunk holds at most maxCount items (0: no
// limit) and its body — frame bytes (such as the brackets of a JSON
// array), the items, and sep bytes between two items — at most maxBytes,
// except that an item too large on its own is sent alone. send gets the
// item range [lo, hi).
func Chunks(ends []int, frame, sep, maxBytes, maxCount int, send func(lo, hi int) error) error {
	items := len(ends) - 1
	if items <= 0 {
		return nil
	}
	start, size := 0, frame
	for i := range items {
		n := ends[i+1] - ends[i]
		full := maxCount > 0 && i-start >= maxCount
		if i > start && (full || size+sep+n > maxBytes) {
			if err := send(start, i); err != nil {
				return err
			}
			start, size = i, frame
		}
		if i > start {
			size += sep
		}
		size += n
	}
	return send(start, items)
}
