package syslog

import (
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// Destination returns the syslog destination for a sink.Registry. Its
// sinks connect through the installation's SSRF guard (sink.Env.Guard).
func Destination() sink.Destination {
	return sink.Destination{New: newSink, Validate: Validate, Secrets: Secrets, BatchSize: 500}
}

// Validate checks settings; see sink.Destination. Fields are relative to
// the settings ("address").
func Validate(settings json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	c, err := ParseConfig(settings)
	if err != nil {
		return nil, fieldErrors(err)
	}
	host, _, _ := net.SplitHostPort(c.Address)
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := env.Guard.Check(addr); err != nil {
			return nil, []hashtrail.FieldError{{Field: "address", Message: strings.TrimPrefix(err.Error(), "sink: ")}}
		}
	}
	return nil, nil
}

func newSink(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
	c, err := ParseConfig(cfg.Settings)
	if err != nil {
		return nil, &hashtrail.PermanentError{Err: err}
	}
	s, err := New(c, Options{Dialer: env.Guard.Dialer(c.timeout())})
	if err != nil {
		// An unreadable CA or client key file needs an operator.
		return nil, &hashtrail.PermanentError{Err: err}
	}
	return s, nil
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
