package syslog

import (
	"encoding/json"
	"net"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
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
		return nil, sinkutil.FieldErrors(err)
	}
	host, _, _ := net.SplitHostPort(c.Address)
	return nil, sinkutil.CheckHost("address", host, env.Guard)
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
