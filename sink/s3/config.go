package s3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Type is the destination's name in hashtrail.SinkConfig.Type.
const Type = "s3"

// Secrets lists the settings (JSON names) that hold secrets.
var Secrets = []string{"secret_access_key", "session_token"}

// The time windows an object covers.
const (
	WindowHour = "hour"
	WindowDay  = "day"
)

// Config is the sink's settings (hashtrail.SinkConfig.Settings).
type Config struct {
	// Endpoint is the S3 API's base URL: https://s3.eu-west-1.amazonaws.com,
	// or an S3-compatible server's (http://minio:9000).
	Endpoint string `json:"endpoint"`
	// Region signs requests (default us-east-1).
	Region string `json:"region,omitempty"`
	// Bucket must exist; the sink never creates it.
	Bucket string `json:"bucket"`
	// Prefix starts every key (default "hashtrail"); no leading or
	// trailing '/'.
	Prefix string `json:"prefix,omitempty"`
	// VirtualHosted addresses the bucket as <bucket>.<endpoint host>
	// (AWS's preferred style) instead of <endpoint>/<bucket> (path style,
	// the default, which S3-compatible servers expect).
	VirtualHosted bool `json:"virtual_hosted,omitempty"`
	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// credentials) sign requests with AWS Signature Version 4.
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token,omitempty"`
	// Window is the time window of one object, by received_at: hour
	// (default) or day.
	Window string `json:"window,omitempty"`
	// StorageClass is sent as x-amz-storage-class when set (STANDARD_IA,
	// GLACIER_IR...).
	StorageClass string `json:"storage_class,omitempty"`
	// CheckpointWait bounds the wait for a signed checkpoint covering an
	// object's last event (Go duration, default 10s); after it the batch
	// fails and is retried.
	CheckpointWait string `json:"checkpoint_wait,omitempty"`
	// Timeout bounds each request (Go duration, default 30s).
	Timeout string `json:"timeout,omitempty"`
}

// ParseConfig decodes settings strictly (unknown members are refused) and
// validates them.
func ParseConfig(settings json.RawMessage) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, invalid("settings", "must be the s3 settings object: %v", err)
	}
	return c, c.Validate()
}

// Validate checks c, naming the wrong field (settings.<name>).
func (c *Config) Validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return invalid("settings.endpoint", "must be an http(s) URL without a path, such as https://s3.eu-west-1.amazonaws.com")
	}
	if !validBucket(c.Bucket) {
		return invalid("settings.bucket", "must be a bucket name: 3 to 63 lowercase letters, digits, '.' and '-'")
	}
	if c.Prefix != "" {
		if strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") || strings.Contains(c.Prefix, "//") || len(c.Prefix) > 256 {
			return invalid("settings.prefix", "must not start or end with '/' nor hold '//'")
		}
		for _, seg := range strings.Split(c.Prefix, "/") {
			if seg == "." || seg == ".." {
				return invalid("settings.prefix", "must not hold . or .. segments")
			}
		}
		for i := 0; i < len(c.Prefix); i++ {
			if c.Prefix[i] < 0x20 || c.Prefix[i] == 0x7f {
				return invalid("settings.prefix", "must not hold control characters")
			}
		}
	}
	if c.Region != "" && strings.ContainsAny(c.Region, "/ \t\r\n") {
		return invalid("settings.region", "is not a region name")
	}
	if c.AccessKeyID == "" {
		return invalid("settings.access_key_id", "is required")
	}
	if c.SecretAccessKey == "" {
		return invalid("settings.secret_access_key", "is required")
	}
	switch c.Window {
	case "", WindowHour, WindowDay:
	default:
		return invalid("settings.window", "must be hour or day")
	}
	if strings.ContainsAny(c.StorageClass, " \t\r\n") {
		return invalid("settings.storage_class", "is not a storage class")
	}
	for _, d := range []struct{ name, v string }{{"checkpoint_wait", c.CheckpointWait}, {"timeout", c.Timeout}} {
		if d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(d.v); err != nil || v < 0 {
			return invalid("settings."+d.name, "must be a Go duration such as 10s")
		}
	}
	return nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-' && b[len(b)-1] != '.' && b[len(b)-1] != '-' && !strings.Contains(b, "..")
}

func (c *Config) region() string {
	if c.Region == "" {
		return "us-east-1"
	}
	return c.Region
}

func (c *Config) prefix() string {
	if c.Prefix == "" {
		return "hashtrail"
	}
	return c.Prefix
}

func (c *Config) duration(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	return def
}

func invalid(field, format string, args ...any) error {
	return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}})
}
