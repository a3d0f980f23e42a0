package syslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Type is the destination's name in hashtrail.SinkConfig.Type.
const Type = "syslog"

// Secrets lists the settings (JSON names) that hold secrets. The syslog
// sink has none: TLS keys are given as file paths.
var Secrets = []string{}

// The formats of an event in a message.
const (
	// FormatJSON puts the event, as the API answers it, in MSG.
	FormatJSON = "json"
	// FormatSD puts the event's fields in one structured-data element as
	// SD-PARAMs and the description in MSG.
	FormatSD = "sd"
	// FormatCEF puts an ArcSight CEF record in MSG.
	FormatCEF = "cef"
)

// DefaultEnterpriseID is the private enterprise number of the SD-ID
// hashtrail@<number>: 32473, the number RFC 5612 reserves for
// documentation. An installation that owns a number sets its own.
const DefaultEnterpriseID = "32473"

// facilities are RFC 5424's facility names (and their usual aliases).
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12,
	"audit": 13, "security": 13, "alert": 14, "clock": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Config is the sink's settings (hashtrail.SinkConfig.Settings).
type Config struct {
	// Address is the receiver, host:port (601 is the IANA port for syslog
	// over TCP, 6514 over TLS).
	Address string `json:"address"`
	// TLS, when set, speaks RFC 5425 (TLS, octet-counted frames).
	TLS *TLSConfig `json:"tls,omitempty"`
	// Format is json (default), sd or cef.
	Format string `json:"format,omitempty"`
	// Facility is a facility name (auth, authpriv, audit, local0..local7...)
	// or number 0-23; default authpriv (10).
	Facility string `json:"facility,omitempty"`
	// Hostname, AppName and ProcID fill the header (default: the machine's
	// name, "hashtrail", the process id).
	Hostname string `json:"hostname,omitempty"`
	AppName  string `json:"app_name,omitempty"`
	ProcID   string `json:"procid,omitempty"`
	// EnterpriseID is the private enterprise number in the SD-ID
	// hashtrail@<number> (DefaultEnterpriseID when empty); digits and dots.
	EnterpriseID string `json:"enterprise_id,omitempty"`
	// Timeout bounds connecting and writing one batch (Go duration,
	// default 10s).
	Timeout string `json:"timeout,omitempty"`
}

// TLSConfig is the TLS part of Config. Paths name PEM files.
type TLSConfig struct {
	// CAFile holds the roots that verify the receiver (default: the
	// system's).
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate, for receivers that
	// authenticate senders (RFC 5425 §4.2).
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// ServerName is the name checked in the receiver's certificate
	// (default: the host of Address).
	ServerName string `json:"server_name,omitempty"`
}

// ParseConfig decodes settings strictly (unknown members are refused) and
// validates them.
func ParseConfig(settings json.RawMessage) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, invalid("settings", "must be the syslog settings object: %v", err)
	}
	return c, c.Validate()
}

// Validate checks c, naming the wrong field (settings.<name>).
func (c *Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil || host == "" || port == "" {
		return invalid("settings.address", "must be host:port")
	}
	switch c.Format {
	case "", FormatJSON, FormatSD, FormatCEF:
	default:
		return invalid("settings.format", "must be json, sd or cef")
	}
	if _, err := c.facility(); err != nil {
		return invalid("settings.facility", "%v", err)
	}
	for _, f := range []struct{ name, v string }{{"hostname", c.Hostname}, {"app_name", c.AppName}, {"procid", c.ProcID}} {
		for i := 0; i < len(f.v); i++ {
			if f.v[i] < 33 || f.v[i] > 126 {
				return invalid("settings."+f.name, "must be printable ASCII without spaces")
			}
		}
	}
	if len(c.Hostname) > 255 {
		return invalid("settings.hostname", "must be at most 255 characters")
	}
	if len(c.AppName) > 48 {
		return invalid("settings.app_name", "must be at most 48 characters")
	}
	if len(c.ProcID) > 128 {
		return invalid("settings.procid", "must be at most 128 characters")
	}
	if c.EnterpriseID != "" {
		ok := c.EnterpriseID[0] != '.' && c.EnterpriseID[len(c.EnterpriseID)-1] != '.'
		for i := 0; i < len(c.EnterpriseID); i++ {
			ok = ok && (c.EnterpriseID[i] >= '0' && c.EnterpriseID[i] <= '9' || c.EnterpriseID[i] == '.')
		}
		if !ok || len("hashtrail@"+c.EnterpriseID) > 32 {
			return invalid("settings.enterprise_id", "must be a private enterprise number such as 32473")
		}
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			return invalid("settings.timeout", "must be a positive Go duration such as 10s")
		}
	}
	if t := c.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		return invalid("settings.tls.cert_file", "and key_file go together")
	}
	return nil
}

func (c *Config) facility() (int, error) {
	if c.Facility == "" {
		return facilities["authpriv"], nil
	}
	if n, err := strconv.Atoi(c.Facility); err == nil {
		if n < 0 || n > 23 {
			return 0, fmt.Errorf("must be 0 to 23")
		}
		return n, nil
	}
	n, ok := facilities[strings.ToLower(c.Facility)]
	if !ok {
		return 0, fmt.Errorf("unknown facility %q (use auth, authpriv, audit, local0..local7 or a number)", c.Facility)
	}
	return n, nil
}

func (c *Config) timeout() time.Duration {
	if d, err := time.ParseDuration(c.Timeout); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

func invalid(field, format string, args ...any) error {
	return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}})
}
