package nats

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
)

// Destination returns the NATS destination for a sink.Registry. Its sinks
// connect through the installation's SSRF guard (sink.Env.Guard).
func Destination() sink.Destination {
	return sink.Destination{New: newSink, Validate: Validate, Secrets: Secrets, BatchSize: 1000}
}

// Validate checks settings; see sink.Destination. Fields are relative to
// the settings ("url").
func Validate(settings json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	c, err := ParseConfig(settings)
	if err != nil {
		return nil, sinkutil.FieldErrors(err)
	}
	for raw := range strings.SplitSeq(c.URL, ",") {
		if fe := sinkutil.CheckURL("url", strings.TrimSpace(raw), env.Guard); fe != nil {
			return nil, fe
		}
	}
	return nil, nil
}

func newSink(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
	c, err := ParseConfig(cfg.Settings)
	if err != nil {
		return nil, &hashtrail.PermanentError{Err: err}
	}
	return New(c, Options{Dialer: env.Guard.Dialer(5 * time.Second)})
}
