package splunk

import (
	"encoding/json"
	"fmt"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults and bounds of the settings.
const (
	DefaultSource          = "hashtrail"
	DefaultSourcetype      = "_json"
	DefaultTimeout         = 30 * time.Second
	DefaultAckTimeout      = 2 * time.Minute
	DefaultAckPollInterval = time.Second
	// DefaultMaxBodyBytes is under HEC's historic max_content_length of
	// 1,000,000 bytes (newer Splunk allows 800 MB).
	DefaultMaxBodyBytes = 1_000_000
	MinMaxBodyBytes     = 1 << 10
	MaxMaxBodyBytes     = 512 << 20
)

// SecretSettings names the settings whose values are secret: the API shows
// them redacted.
var SecretSettings = []string{"token"}

// The HEC endpoints, below the configured URL.
const (
	EventPath = "/services/collector/event"
	AckPath   = "/services/collector/ack"
)

// Config is the Splunk HEC destination's settings
// (hashtrail.SinkConfig.Settings).
type Config struct {
	// URL is the HTTP Event Collector's base URL, such as
	// https://splunk.example.com:8088 or
	// https://http-inputs-acme.splunkcloud.com; a URL ending in
	// /services/collector or /services/collector/event is taken as is.
	URL string `json:"url"`
	// Token is the HEC token (sent as Authorization: Splunk <token>).
	Token string `json:"token"`
	// Index, Source, Sourcetype and Host fill the event envelope. Source
	// defaults to hashtrail and Sourcetype to _json (search-time JSON field
	// extraction). Host defaults to the event's service.host, else the
	// token's default.
	Index      string `json:"index,omitempty"`
	Source     string `json:"source,omitempty"`
	Sourcetype string `json:"sourcetype,omitempty"`
	Host       string `json:"host,omitempty"`
	// Channel is the X-Splunk-Request-Channel GUID. Required by tokens with
	// indexer acknowledgement; with Ack and no Channel the sink makes one.
	Channel string `json:"channel,omitempty"`
	// Ack waits for indexer acknowledgement: a batch is reported delivered
	// only once /services/collector/ack says every request was indexed.
	Ack bool `json:"ack,omitempty"`
	// AckTimeout bounds the wait for acknowledgement (default 2m); past
	// it the batch is sent again. AckPollInterval is the longest pause
	// between polls (default 1s; polls start at 50ms and double).
	AckTimeout      Duration `json:"ack_timeout,omitzero"`
	AckPollInterval Duration `json:"ack_poll_interval,omitzero"`
	// Timeout bounds one request (default 30s).
	Timeout Duration `json:"timeout,omitzero"`
	// MaxBodyBytes caps a request body (default 1,000,000): a batch is
	// split into requests under it.
	MaxBodyBytes int `json:"max_body_bytes,omitempty"`
}

// ParseConfig reads settings strictly (an unknown field is an error) and
// validates them. Errors are EINVALID naming the field as settings.<name>.
func ParseConfig(settings json.RawMessage) (*Config, error) {
	var c Config
	fields := map[string]any{
		"url": &c.URL, "token": &c.Token, "index": &c.Index, "source": &c.Source,
		"sourcetype": &c.Sourcetype, "host": &c.Host, "channel": &c.Channel, "ack": &c.Ack,
		"ack_timeout": &c.AckTimeout, "ack_poll_interval": &c.AckPollInterval,
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

var guid = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Validate checks c, naming the first wrong setting.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return sinkutil.Invalid("url", "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return sinkutil.Invalid("url", "must be an absolute http or https URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return sinkutil.Invalid("url", "must have no credentials, query or fragment")
	}
	switch {
	case c.Token == "":
		return sinkutil.Invalid("token", "is required")
	case strings.ContainsAny(c.Token, " \t\r\n\x00"):
		return sinkutil.Invalid("token", "must not contain spaces or control characters")
	}
	for name, v := range map[string]string{"index": c.Index, "source": c.Source, "sourcetype": c.Sourcetype, "host": c.Host} {
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 1024 {
			return sinkutil.Invalid(name, "must be one line of at most 1024 bytes")
		}
	}
	if c.Channel != "" && !guid.MatchString(c.Channel) {
		return sinkutil.Invalid("channel", "must be a GUID such as 0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba")
	}
	for name, d := range map[string]Duration{"ack_timeout": c.AckTimeout, "ack_poll_interval": c.AckPollInterval, "timeout": c.Timeout} {
		if d < 0 {
			return sinkutil.Invalid(name, "must not be negative")
		}
	}
	if c.MaxBodyBytes != 0 && (c.MaxBodyBytes < MinMaxBodyBytes || c.MaxBodyBytes > MaxMaxBodyBytes) {
		return sinkutil.Invalid("max_body_bytes", fmt.Sprintf("must be between %d and %d", MinMaxBodyBytes, MaxMaxBodyBytes))
	}
	return nil
}

// base returns the URL below which the HEC endpoints are.
func (c *Config) base() string {
	b := strings.TrimRight(c.URL, "/")
	if v, ok := strings.CutSuffix(b, EventPath); ok {
		return v
	}
	return strings.TrimSuffix(b, "/services/collector")
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *Config) requestTimeout() time.Duration {
	return time.Duration(or(c.Timeout, Duration(DefaultTimeout)))
}
