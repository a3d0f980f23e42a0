package webhook

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults and bounds of the settings.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 4 << 20 // 4 MiB
	MinMaxBodyBytes     = 1 << 10
	MaxMaxBodyBytes     = 64 << 20
	MaxSecrets          = 4 // enough for a rotation with a spare
	SecretPrefix        = "whsec_"
	minSecretBytes      = 24 // the Standard Webhooks spec: 24 to 64 bytes
	maxSecretBytes      = 64
)

// SecretSettings names the settings whose values are secret: the API shows
// them redacted. Header values often carry credentials (Authorization), so
// the whole headers object is secret.
var SecretSettings = []string{"secrets", "headers"}

// Config is the webhook destination's settings (hashtrail.SinkConfig.Settings).
type Config struct {
	// URL receives a POST per delivery; http or https.
	URL string `json:"url"`
	// Secrets sign every request (Standard Webhooks, whsec_<base64 key>),
	// one v1 signature per secret. Rotation: add the new secret, move the
	// receiver to it, then remove the old one.
	Secrets []string `json:"secrets"`
	// PerEvent sends each event in a request of its own (a JSON object)
	// rather than a batch as a JSON array.
	PerEvent bool `json:"per_event,omitempty"`
	// Headers are added to every request (e.g. Authorization for a proxy).
	// They may not replace the Standard Webhooks or content headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one request (default 30s).
	Timeout Duration `json:"timeout,omitzero"`
	// MaxBodyBytes caps a request body (default 4 MiB): a batch is split
	// into requests under it. An event larger than it on its own goes
	// alone in a request.
	MaxBodyBytes int `json:"max_body_bytes,omitempty"`
}

// reservedHeaders are set by the sink and cannot be configured.
var reservedHeaders = map[string]bool{
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
	"Content-Type": true, "Content-Length": true, "Content-Encoding": true,
	"Host": true, "Transfer-Encoding": true, "Connection": true,
}

// ParseConfig reads settings strictly (an unknown field is an error) and
// validates them. Errors are EINVALID naming the field as settings.<name>.
func ParseConfig(settings json.RawMessage) (*Config, error) {
	var c Config
	fields := map[string]any{
		"url": &c.URL, "secrets": &c.Secrets, "per_event": &c.PerEvent, "headers": &c.Headers,
		"timeout": &c.Timeout, "max_body_bytes": &c.MaxBodyBytes,
	}
	if err := sinkutil.DecodeFields(settings, fields); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks c, naming the first wrong setting.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return sinkutil.Invalid("url", "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return sinkutil.Invalid("url", "must be an absolute http or https URL")
	case u.User != nil:
		return sinkutil.Invalid("url", "must not carry credentials; use headers")
	case u.Fragment != "":
		return sinkutil.Invalid("url", "must not have a fragment")
	}
	if len(c.Secrets) == 0 {
		return sinkutil.Invalid("secrets", "needs at least one whsec_ secret")
	}
	if len(c.Secrets) > MaxSecrets {
		return sinkutil.Invalid("secrets", fmt.Sprintf("holds at most %d secrets", MaxSecrets))
	}
	for i, s := range c.Secrets {
		if _, err := DecodeSecret(s); err != nil {
			return sinkutil.Invalid(fmt.Sprintf("secrets[%d]", i), err.Error())
		}
	}
	for k, v := range c.Headers {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case k == "" || strings.ContainsAny(k, " \t\r\n:") || !validToken(k):
			return sinkutil.Invalid("headers", fmt.Sprintf("%q is not a header name", k))
		case reservedHeaders[ck]:
			return sinkutil.Invalid("headers."+k, "is set by the sink")
		case strings.ContainsAny(v, "\r\n\x00"):
			return sinkutil.Invalid("headers."+k, "must not contain CR, LF or NUL")
		}
	}
	if c.Timeout < 0 {
		return sinkutil.Invalid("timeout", "must not be negative")
	}
	if c.MaxBodyBytes != 0 && (c.MaxBodyBytes < MinMaxBodyBytes || c.MaxBodyBytes > MaxMaxBodyBytes) {
		return sinkutil.Invalid("max_body_bytes", fmt.Sprintf("must be between %d and %d", MinMaxBodyBytes, MaxMaxBodyBytes))
	}
	return nil
}

func validToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// DecodeSecret returns the key of a whsec_<base64> secret.
func DecodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("must be whsec_ followed by standard base64")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("key must be %d to %d bytes (it is %d)", minSecretBytes, maxSecretBytes, len(key))
	}
	return key, nil
}

func (c *Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return time.Duration(c.Timeout)
}

func (c *Config) maxBody() int {
	if c.MaxBodyBytes == 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

func (c *Config) requestTimeout() time.Duration { return c.timeout() }
