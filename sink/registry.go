package sink

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Factory builds a Sink from its configuration. The dispatcher calls it
// once per sink and tenant it delivers (an installation-wide sink gets one
// Sink per tenant log), so each Sink's Deliver sees one tenant's events
// from one goroutine. It must not do I/O that can hang: connect lazily in
// Deliver, which has a context.
type Factory func(cfg *hashtrail.SinkConfig, env Env) (hashtrail.Sink, error)

// Destination is one type of destination, as its package offers it to
// the Registry.
type Destination struct {
	// New builds a Sink; required.
	New Factory
	// Validate checks settings (the JSON object of SinkConfig.Settings)
	// and returns every problem, with Field relative to the settings
	// ("url", "headers.x"); the engine prefixes "settings.". It may
	// return settings with defaults filled in (nil keeps them as given).
	// Nil accepts any JSON object.
	Validate func(settings json.RawMessage, env Env) (json.RawMessage, []hashtrail.FieldError)
	// Secrets names the top-level settings members that hold secrets
	// (tokens, passwords, signing keys): answers and audit events show
	// them as hashtrail.RedactedSecret.
	Secrets []string
	// BatchSize is the events of one delivery when the sink sets none
	// (DefaultBatchSize if 0).
	BatchSize int
}

// Env is what a destination gets from the installation.
type Env struct {
	// Logger is for the destination's own diagnostics; never events,
	// personal data or secrets.
	Logger *slog.Logger
	// Guard checks the addresses a destination that a tenant configures
	// connects to (SSRF); use Guard.Dialer or Guard.HTTPClient for every
	// connection. Never nil in a dispatcher's Env.
	Guard *Guard
	// FileRoot is the directory under which file destinations write; a
	// sink's own directory is resolved inside it ("" refuses file sinks).
	FileRoot string
}

// DefaultBatchSize is the events of one delivery when neither the sink nor
// its destination says.
const DefaultBatchSize = 100

// MaxBatchSize caps any sink's batch size.
const MaxBatchSize = hashtrail.MaxSinkBatchSize

// Registry maps a destination type ("file", "webhook"...) to its
// Destination. cmd/hashtrail fills it; the dispatcher and the engine
// (through hashtrail.SinkTypes) read it.
type Registry map[string]Destination

var _ hashtrail.SinkTypes = Registry(nil)

// Types returns the registered types, sorted.
func (r Registry) Types() []string {
	out := make([]string, 0, len(r))
	for t := range r {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Checker returns r as the engine's hashtrail.SinkTypes, validating with env.
func (r Registry) Checker(env Env) hashtrail.SinkTypes { return checker{r, env} }

// CheckSink checks s.Type and s.Settings with a default Env; see Checker.
func (r Registry) CheckSink(s *hashtrail.SinkConfig) []hashtrail.FieldError {
	return checker{r, Env{Guard: &Guard{}}}.CheckSink(s)
}

// SecretSettings names the secret members of typ's settings.
func (r Registry) SecretSettings(typ string) []string { return r[typ].Secrets }

type checker struct {
	r   Registry
	env Env
}

func (c checker) SecretSettings(typ string) []string { return c.r[typ].Secrets }

func (c checker) CheckSink(s *hashtrail.SinkConfig) []hashtrail.FieldError {
	d, ok := c.r[s.Type]
	if !ok {
		msg := "must be one of " + strings.Join(c.r.Types(), ", ")
		if len(c.r) == 0 {
			msg = "names no destination this server offers (none are registered)"
		}
		return []hashtrail.FieldError{{Field: "type", Message: msg}}
	}
	settings := bytes.TrimSpace(s.Settings)
	if len(settings) == 0 {
		settings = []byte(`{}`)
	}
	if len(settings) == 0 || settings[0] != '{' || !json.Valid(settings) {
		return []hashtrail.FieldError{{Field: "settings", Message: "must be a JSON object"}}
	}
	s.Settings = json.RawMessage(settings)
	if d.Validate == nil {
		return nil
	}
	env := c.env
	if env.Guard == nil {
		env.Guard = &Guard{}
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	filled, errs := d.Validate(s.Settings, env)
	for i := range errs {
		if errs[i].Field == "" {
			errs[i].Field = "settings"
		} else {
			errs[i].Field = "settings." + errs[i].Field
		}
	}
	if len(errs) == 0 && filled != nil {
		s.Settings = filled
	}
	return errs
}

// batchSize is the batch size of cfg.
func (r Registry) batchSize(cfg *hashtrail.SinkConfig) int {
	n := cfg.BatchSize
	if n <= 0 {
		n = r[cfg.Type].BatchSize
	}
	if n <= 0 {
		n = DefaultBatchSize
	}
	return min(n, MaxBatchSize)
}

// Encode returns an event as JSON, exactly as the API answers it to an
// admin (DESIGN §5): what every destination sends, unless its wire format
// says otherwise.
func Encode(e *hashtrail.Event) ([]byte, error) { return json.Marshal(e) }
