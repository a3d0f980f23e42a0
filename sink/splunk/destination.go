package splunk

import (
	"encoding/json"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
)

// Type is the destination's type name.
const Type = "splunk"

// Destination returns the splunk destination for a sink.Registry. Its
// sinks connect through the installation's SSRF guard (sink.Env.Guard).
func Destination() sink.Destination {
	return sink.Destination{New: newSink, Validate: Validate, Secrets: SecretSettings, BatchSize: 500}
}

// Validate checks settings; see sink.Destination. Fields are relative to
// the settings ("url").
func Validate(settings json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	c, err := ParseConfig(settings)
	if err != nil {
		return nil, sinkutil.FieldErrors(err)
	}
	return nil, sinkutil.CheckURL("url", c.URL, env.Guard)
}

// newSink is the destination's sink.Factory.
func newSink(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
	c, err := ParseConfig(cfg.Settings)
	if err != nil {
		return nil, &hashtrail.PermanentError{Err: err}
	}
	return NewFromConfig(c, Options{Client: env.Guard.HTTPClient(c.requestTimeout())})
}
