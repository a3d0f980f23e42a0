package syslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// Formatter writes events as RFC 5424 messages (without the transport's
// framing). It is safe for concurrent use.
type Formatter struct {
	facility int
	hostname string
	appName  string
	procID   string
	sdID     string
	format   string
	version  string
}

// NewFormatter returns the formatter of c; version is the product version
// in CEF headers.
func NewFormatter(c *Config, hostname, procID, version string) *Formatter {
	fac, _ := c.facility()
	f := &Formatter{facility: fac, format: c.Format, version: version}
	if f.format == "" {
		f.format = FormatJSON
	}
	if c.Hostname != "" {
		hostname = c.Hostname
	}
	if c.ProcID != "" {
		procID = c.ProcID
	}
	app := c.AppName
	if app == "" {
		app = "hashtrail"
	}
	pen := c.EnterpriseID
	if pen == "" {
		pen = DefaultEnterpriseID
	}
	f.hostname = headerField(hostname, 255)
	f.appName = headerField(app, 48)
	f.procID = headerField(procID, 128)
	f.sdID = "hashtrail@" + pen
	return f
}

// Severity returns the syslog severity (RFC 5424 §6.2.1) of an event's
// severity: critical 2, high 3 (error), medium 4 (warning), low 5
// (notice), info and anything else 6 (informational).
func Severity(s hashtrail.Severity) int {
	switch s {
	case hashtrail.SeverityCritical:
		return 2
	case hashtrail.SeverityHigh:
		return 3
	case hashtrail.SeverityMedium:
		return 4
	case hashtrail.SeverityLow:
		return 5
	}
	return 6
}

// Append appends the RFC 5424 message of e to b:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
//
// PRI is facility*8 + Severity(e.Severity); TIMESTAMP is the event's time
// (microseconds, UTC); MSGID is the action cut to 32 printable ASCII
// characters. The message holds no CR or LF in any format.
func (f *Formatter) Append(b []byte, e *hashtrail.Event) ([]byte, error) {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(f.facility*8+Severity(e.Severity)), 10)
	b = append(b, ">1 "...)
	switch {
	case !e.Time.IsZero():
		b = append(b, e.Time.String()...)
	case !e.ReceivedAt.IsZero():
		b = append(b, e.ReceivedAt.String()...)
	default:
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = append(b, f.hostname...)
	b = append(b, ' ')
	b = append(b, f.appName...)
	b = append(b, ' ')
	b = append(b, f.procID...)
	b = append(b, ' ')
	b = append(b, headerField(e.Action, 32)...)
	b = append(b, ' ')
	switch f.format {
	case FormatSD:
		var err error
		b, err = f.appendSD(b, e)
		if err != nil {
			return nil, err
		}
		if e.Description != "" {
			b = append(b, ' ')
			b = AppendEscapedText(b, e.Description)
		}
	case FormatCEF:
		b = f.appendMeta(b, e)
		b = append(b, ' ')
		b = f.appendCEF(b, e)
	default:
		b = f.appendMeta(b, e)
		b = append(b, ' ')
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("syslog: encoding event %s/%s: %w", e.Tenant, e.ID, err)
		}
		// encoding/json escapes every control character, U+2028 and
		// U+2029 inside strings, and writes no white space between tokens:
		// the JSON holds no line break.
		b = append(b, body...)
	}
	return b, nil
}

// appendMeta appends [hashtrail@PEN tenant=".." id=".." seq=".."], which
// every format carries so receivers can route and dedupe without parsing
// MSG.
func (f *Formatter) appendMeta(b []byte, e *hashtrail.Event) []byte {
	b = append(b, '[')
	b = append(b, f.sdID...)
	b = appendParam(b, "tenant", e.Tenant)
	b = appendParam(b, "id", e.ID)
	b = appendParam(b, "seq", strconv.FormatInt(e.Seq, 10))
	return append(b, ']')
}

// headerField makes v a header field: printable US-ASCII (33-126), other
// bytes replaced by '_', cut to max bytes, "-" (NILVALUE) when empty.
func headerField(v string, max int) string {
	if v == "" {
		return "-"
	}
	if len(v) > max {
		v = v[:max]
	}
	var out []byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 33 || c > 126 {
			if out == nil {
				out = []byte(v)
			}
			out[i] = '_'
		}
	}
	if out != nil {
		return string(out)
	}
	return v
}

// SDName makes v an SD-NAME (PARAM-NAME): printable US-ASCII without '=',
// space, ']' and '"', other bytes replaced by '_', at most 32 bytes.
func SDName(v string) string {
	if len(v) > 32 {
		v = v[:32]
	}
	out := []byte(v)
	for i, c := range out {
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			out[i] = '_'
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}

// appendParam appends ` name="value"` with the value escaped.
func appendParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, SDName(name)...)
	b = append(b, '=', '"')
	b = AppendSDValue(b, value)
	return append(b, '"')
}

// AppendSDValue appends v as a PARAM-VALUE: '"', '\' and ']' are escaped
// with a backslash (RFC 5424 §6.3.3), and control characters and Unicode
// line separators are written as \n, \r, \t or \uXXXX (a backslash that
// is not doubled), so no value can end the element or the line.
func AppendSDValue(b []byte, v string) []byte {
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		switch r {
		case '"', '\\', ']':
			b = append(b, '\\', byte(r))
		default:
			b = appendRune(b, r)
		}
	}
	return b
}

// AppendEscapedText appends free text for MSG: '\' doubled, control
// characters and Unicode line separators written as \n, \r, \t or
// \uXXXX, so a line-oriented receiver sees one line and the text can be
// unescaped exactly.
func AppendEscapedText(b []byte, v string) []byte {
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		if r == '\\' {
			b = append(b, '\\', '\\')
			continue
		}
		b = appendRune(b, r)
	}
	return b
}

// appendRune appends r, escaping control characters and line separators.
func appendRune(b []byte, r rune) []byte {
	switch {
	case r == '\n':
		return append(b, '\\', 'n')
	case r == '\r':
		return append(b, '\\', 'r')
	case r == '\t':
		return append(b, '\\', 't')
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
		return fmt.Appendf(b, `\u%04x`, r)
	}
	return utf8.AppendRune(b, r)
}

// appendSD appends the sd format's element: the meta parameters, then
// every field of the event as the API answers it, flattened to dotted
// names (actor.email, targets.0.id, pii./actor.commitment); metadata,
// changes and output are one parameter each holding their JSON.
func (f *Formatter) appendSD(b []byte, e *hashtrail.Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("syslog: encoding event %s/%s: %w", e.Tenant, e.ID, err)
	}
	b = append(b, '[')
	b = append(b, f.sdID...)
	b = appendParam(b, "tenant", e.Tenant)
	b = appendParam(b, "id", e.ID)
	b = appendParam(b, "seq", strconv.FormatInt(e.Seq, 10))
	err = flatten(body, "", func(name, value string) {
		switch name {
		case "tenant", "id", "seq", "description":
			return // above, or in MSG
		}
		b = appendParam(b, name, value)
	})
	if err != nil {
		return nil, err
	}
	return append(b, ']'), nil
}

// flatten calls emit for each scalar of the JSON value raw, in document
// order, named by its dotted path. Top-level metadata, changes and output
// are emitted whole, as compact JSON; nulls are skipped.
func flatten(raw json.RawMessage, path string, emit func(name, value string)) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '{', '[':
		if path == "metadata" || path == "changes" || path == "output" {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return err
			}
			emit(path, buf.String())
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return err
		}
		for i := 0; dec.More(); i++ {
			name := strconv.Itoa(i)
			if raw[0] == '{' {
				t, err := dec.Token()
				if err != nil {
					return err
				}
				name = t.(string)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if path != "" {
				name = path + "." + name
			}
			if err := flatten(v, name, emit); err != nil {
				return err
			}
		}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		emit(path, s)
	case 'n':
	default:
		emit(path, string(raw))
	}
	return nil
}

// appendCEF appends the event's ArcSight CEF record (export.AppendCEF, the
// one CEF encoder; see docs/exports.md), as MSG text: CEF already writes CR
// and LF as \r and \n in extensions and as spaces in the header, and here
// any other control character, U+2028 and U+2029 become spaces and invalid
// UTF-8 becomes U+FFFD, so the record is one line of valid UTF-8.
func (f *Formatter) appendCEF(b []byte, e *hashtrail.Event) []byte {
	start := len(b)
	b = export.AppendCEF(b, e, f.version)
	rec := string(b[start:])
	b = b[:start]
	for _, r := range strings.ToValidUTF8(rec, "\uFFFD") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			r = ' '
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}
