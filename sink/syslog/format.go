package syslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashtrail/hashtrail"
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

// CEFSeverity returns the CEF severity (0-10) of an event's severity:
// info 1, low 3, medium 5, high 8, critical 10.
func CEFSeverity(s hashtrail.Severity) int {
	switch s {
	case hashtrail.SeverityCritical:
		return 10
	case hashtrail.SeverityHigh:
		return 8
	case hashtrail.SeverityMedium:
		return 5
	case hashtrail.SeverityLow:
		return 3
	}
	return 1
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

// appendCEF appends the event as an ArcSight CEF record:
//
//	CEF:0|Hashtrail|Hashtrail|<version>|<action>|<name>|<severity>|<extension>
//
// Header fields escape '\' and '|' and turn line breaks into spaces;
// extension values escape '\' and '=' and write CR and LF as \r and \n
// (CEF's rules). The name is the description, else the action.
func (f *Formatter) appendCEF(b []byte, e *hashtrail.Event) []byte {
	name := e.Description
	if name == "" {
		name = e.Action
	}
	b = append(b, "CEF:0|Hashtrail|Hashtrail|"...)
	b = appendCEFHeader(b, f.version)
	b = append(b, '|')
	b = appendCEFHeader(b, e.Action)
	b = append(b, '|')
	b = appendCEFHeader(b, name)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(CEFSeverity(e.Severity)), 10)
	b = append(b, '|')

	first := true
	ext := func(key, value string) {
		if value == "" {
			return
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, key...)
		b = append(b, '=')
		b = appendCEFValue(b, value)
	}
	ms := func(t hashtrail.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	ext("rt", ms(e.ReceivedAt))
	ext("start", ms(e.Time))
	ext("externalId", e.ID)
	ext("act", e.Action)
	ext("cat", string(e.Category))
	ext("outcome", string(e.Outcome))
	ext("reason", e.Reason)
	ext("msg", e.Description)
	if a := e.Actor; a != nil {
		ext("suid", a.ID)
		user := a.Email
		if user == "" {
			user = a.Name
		}
		ext("suser", user)
		ext("spriv", strings.Join(a.Roles, ","))
	}
	for _, t := range e.Targets {
		if t.Type == "user" {
			ext("duid", t.ID)
			ext("duser", t.Name)
			break
		}
	}
	if c := e.Context; c != nil {
		if ip, err := netip.ParseAddr(c.IP); err == nil && ip.Unmap().Is4() {
			ext("src", ip.Unmap().String())
		} else if err == nil {
			ext("c6a2", ip.String())
			ext("c6a2Label", "Source IPv6 Address")
		}
		ext("requestClientApplication", c.UserAgent)
		ext("requestMethod", c.Method)
		ext("request", c.Path)
	}
	if s := e.Service; s != nil {
		ext("dvchost", s.Host)
		ext("deviceProcessName", s.Name)
	}
	ext("cs1Label", "tenant")
	ext("cs1", e.Tenant)
	ext("cn1Label", "seq")
	ext("cn1", strconv.FormatInt(e.Seq, 10))
	if len(e.Targets) > 0 {
		keys := make([]string, len(e.Targets))
		for i, t := range e.Targets {
			keys[i] = t.Key()
		}
		ext("cs2Label", "targets")
		ext("cs2", strings.Join(keys, ","))
	}
	if e.LeafHash != "" {
		ext("cs3Label", "leafHash")
		ext("cs3", e.LeafHash)
	}
	if e.Error != "" {
		ext("cs4Label", "error")
		ext("cs4", e.Error)
	}
	if e.Context != nil && e.Context.SessionID != "" {
		ext("cs5Label", "sessionId")
		ext("cs5", e.Context.SessionID)
	}
	if len(e.Metadata) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, e.Metadata) == nil && buf.String() != "null" {
			ext("cs6Label", "metadata")
			ext("cs6", buf.String())
		}
	}
	return b
}

func appendCEFHeader(b []byte, v string) []byte {
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		switch {
		case r == '\\' || r == '|':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			b = append(b, ' ')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

func appendCEFValue(b []byte, v string) []byte {
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		switch {
		case r == '\\' || r == '=':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			b = append(b, ' ')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}
