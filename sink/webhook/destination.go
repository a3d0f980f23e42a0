package webhook

import (
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// Type is the destination's type name.
const Type = "webhook"

// Destination returns the webhook destination for a sink.Registry. Its
// sinks connect through the installation's SSRF guard (sink.Env.Guard).
func Destination() sink.Destination {
	return sink.Destination{New: newSink, Validate: Validate, Secrets: SecretSettings, BatchSize: 500}
}

// Validate checks settings; see sink.Destination. Fields are relative to
// the settings ("url").
func Validate(settings json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	c, err := ParseConfig(settings)
	if err != nil {
		return nil, fieldErrors(err)
	}
	return nil, checkHost(c.URL, env.Guard)
}

// checkHost refuses a URL whose host is an IP address the guard refuses
// (a host name is checked when dialled, at every connection).
func checkHost(raw string, g *sink.Guard) []hashtrail.FieldError {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return nil
	}
	addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	if err != nil {
		return nil
	}
	if err := g.Check(addr); err != nil {
		return []hashtrail.FieldError{{Field: "url", Message: strings.TrimPrefix(err.Error(), "sink: ")}}
	}
	return nil
}

// fieldErrors returns err's fields without the "settings." prefix.
func fieldErrors(err error) []hashtrail.FieldError {
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

// newSink is the destination's sink.Factory.
func newSink(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
	c, err := ParseConfig(cfg.Settings)
	if err != nil {
		return nil, &hashtrail.PermanentError{Err: err}
	}
	return NewFromConfig(c, Options{Client: env.Guard.HTTPClient(c.requestTimeout())})
}
