package datadog

import (
	"encoding/json"
	"fmt"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults and Datadog's documented limits of the logs intake.
const (
	DefaultSite     = "datadoghq.com"
	DefaultSource   = "hashtrail"
	DefaultService  = "hashtrail"
	DefaultTimeout  = 30 * time.Second
	LogsPath        = "/api/v2/logs"
	MaxEntries      = 1000      // entries per payload
	MaxPayloadBytes = 5_000_000 // uncompressed bytes per payload
	MaxEntryBytes   = 1_000_000 // bytes per log entry
)

// Sites are the Datadog sites known when this was written; any other
// host name is accepted too, for sites that come later.
var Sites = []string{"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "ddog-gov.com"}

// SecretSettings names the settings whose values are secret: the API shows
// them redacted.
var SecretSettings = []string{"api_key"}

// Config is the Datadog logs destination's settings
// (hashtrail.SinkConfig.Settings).
type Config struct {
	// Site is the Datadog site (default datadoghq.com): logs go to
	// https://http-intake.logs.<site>/api/v2/logs.
	Site string `json:"site,omitempty"`
	// URL replaces the intake's base URL (a proxy, or a test receiver);
	// /api/v2/logs is appended unless it ends so. Not with Site.
	URL string `json:"url,omitempty"`
	// APIKey is sent as DD-API-KEY.
	APIKey string `json:"api_key"`
	// Source is ddsource (default hashtrail). Service defaults to the
	// event's service.name, else hashtrail; Hostname to the event's
	// service.host. Set, they apply to every entry.
	Source   string `json:"ddsource,omitempty"`
	Service  string `json:"service,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Tags are added to every entry's ddtags (key:value), after
	// tenant:<tenant>.
	Tags []string `json:"tags,omitempty"`
	// Gzip compresses payloads (Content-Encoding: gzip); recommended.
	Gzip bool `json:"gzip,omitempty"`
	// Timeout bounds one request (default 30s).
	Timeout Duration `json:"timeout,omitzero"`
}

// ParseConfig reads settings strictly (an unknown field is an error) and
// validates them. Errors are EINVALID naming the field as settings.<name>.
func ParseConfig(settings json.RawMessage) (*Config, error) {
	var c Config
	fields := map[string]any{
		"site": &c.Site, "url": &c.URL, "api_key": &c.APIKey, "ddsource": &c.Source,
		"service": &c.Service, "hostname": &c.Hostname, "tags": &c.Tags, "gzip": &c.Gzip,
		"timeout": &c.Timeout,
	}
	if err := sinkutil.DecodeFields(settings, fields); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

var hostname = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// Validate checks c, naming the first wrong setting.
func (c *Config) Validate() error {
	if c.Site != "" && c.URL != "" {
		return sinkutil.Invalid("url", "is not allowed with site")
	}
	if c.Site != "" && !hostname.MatchString(c.Site) {
		return sinkutil.Invalid("site", "must be a Datadog site such as datadoghq.com or datadoghq.eu")
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return sinkutil.Invalid("url", "must be an absolute http or https URL")
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			return sinkutil.Invalid("url", "must have no credentials, query or fragment")
		}
	}
	switch {
	case c.APIKey == "":
		return sinkutil.Invalid("api_key", "is required")
	case strings.ContainsAny(c.APIKey, " \t\r\n\x00"):
		return sinkutil.Invalid("api_key", "must not contain spaces or control characters")
	}
	for name, v := range map[string]string{"ddsource": c.Source, "service": c.Service, "hostname": c.Hostname} {
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 255 {
			return sinkutil.Invalid(name, "must be one line of at most 255 bytes")
		}
	}
	for i, t := range c.Tags {
		if t == "" || strings.ContainsAny(t, ", \t\r\n\x00") || len(t) > 200 {
			return sinkutil.Invalid(fmt.Sprintf("tags[%d]", i), "must be a tag such as env:prod (no commas or spaces, at most 200 bytes)")
		}
	}
	if c.Timeout < 0 {
		return sinkutil.Invalid("timeout", "must not be negative")
	}
	return nil
}

// endpoint returns the URL logs are posted to.
func (c *Config) endpoint() string {
	if c.URL == "" {
		return "https://http-intake.logs." + or(c.Site, DefaultSite) + LogsPath
	}
	b := strings.TrimRight(c.URL, "/")
	if strings.HasSuffix(b, LogsPath) {
		return b
	}
	return b + LogsPath
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
