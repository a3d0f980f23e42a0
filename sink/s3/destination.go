package s3

import (
	"encoding/json"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
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
		return nil, sinkutil.FieldErrors(err)
	}
	return nil, sinkutil.CheckURL("endpoint", c.Endpoint, env.Guard)
}
