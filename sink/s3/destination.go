package s3

import (
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// Destination returns the S3 destination for a sink.Registry. Its sinks
// connect through the installation's SSRF guard (sink.Env.Guard).
// checkpoints supplies each object's covering checkpoint (cmd/hashtrail
// passes the store, a hashtrail.LogStore); nil writes no sidecars.
func Destination(checkpoints Checkpoints) sink.Destination {
	return sink.Destination{
		New: func(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
			c, err := ParseConfig(cfg.Settings)
			if err != nil {
				return nil, &hashtrail.PermanentError{Err: err}
			}
			return New(c, Options{Checkpoints: checkpoints, HTTPClient: env.Guard.HTTPClient(c.duration(c.Timeout, 30*time.Second))})
		},
		Validate:  Validate,
		Secrets:   Secrets,
		BatchSize: 1000,
	}
}

// Validate checks settings; see sink.Destination. Fields are relative to
// the settings ("endpoint").
func Validate(settings json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	c, err := ParseConfig(settings)
	if err != nil {
		return nil, fieldErrors(err)
	}
	if u, err := url.Parse(c.Endpoint); err == nil {
		if addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
			if err := env.Guard.Check(addr); err != nil {
				return nil, []hashtrail.FieldError{{Field: "endpoint", Message: strings.TrimPrefix(err.Error(), "sink: ")}}
			}
		}
	}
	return nil, nil
}

// fieldErrors returns err's fields without the "settings." prefix.
func fieldErrors(err error) []hashtrail.FieldError {
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
