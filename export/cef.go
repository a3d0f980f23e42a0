package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// CEF writes ArcSight Common Event Format, one event per line:
//
//	CEF:0|Hashtrail|Hashtrail|<version>|<action>|<name>|<severity>|<extensions>
//
// name is the description (or the catalog's), else the action; severity
// maps info 1, low 3, medium 5, high 8, critical 10. The header escapes \
// and | with a backslash; extension values escape \ and = and write CR and
// LF as \r and \n. The extension keys are listed in docs/exports.md.
//
// sink/syslog imports this encoder (AppendCEF) for its CEF message format.
type CEF struct {
	w   *bufio.Writer
	opt Options
	buf []byte
}

// NewCEF returns a CEF encoder writing to w.
func NewCEF(w io.Writer, opt Options) *CEF {
	return &CEF{w: bufio.NewWriter(w), opt: opt}
}

// Begin writes nothing.
func (c *CEF) Begin() error { return nil }

// Encode writes e's line.
func (c *CEF) Encode(e *hashtrail.Event) error {
	c.buf = AppendCEF(c.buf[:0], e, c.opt.version())
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return err
}

// Flush writes out the buffered rows.
func (c *CEF) Flush() error { return c.w.Flush() }

// End flushes the lines.
func (c *CEF) End() error { return c.w.Flush() }

// CEFSeverity is the CEF severity (0-10) of s.
func CEFSeverity(s hashtrail.Severity) int {
	return [...]int{0, 1, 3, 5, 8, 10}[severityRank(s)]
}

// AppendCEF appends e as one CEF record, without a line end, to b. version
// is the product version in the header.
func AppendCEF(b []byte, e *hashtrail.Event, version string) []byte {
	b = append(b, "CEF:0|Hashtrail|Hashtrail|"...)
	b = appendHeader(b, version)
	b = append(b, '|')
	b = appendHeader(b, e.Action)
	b = append(b, '|')
	name := describe(e)
	if name == "" {
		name = e.Action
	}
	b = appendHeader(b, name)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(CEFSeverity(e.Severity)), 10)
	b = append(b, '|')

	first := true
	ext := func(key, val string) {
		if val == "" {
			return
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, key...)
		b = append(b, '=')
		b = appendExtension(b, val)
	}
	// rt is when the log received the event, start when it happened
	// (the client's clock); an event not yet received has rt = time.
	if !e.ReceivedAt.IsZero() {
		ext("rt", strconv.FormatInt(e.ReceivedAt.UnixMilli(), 10))
		if !e.Time.IsZero() {
			ext("start", strconv.FormatInt(e.Time.UnixMilli(), 10))
		}
	} else {
		ext("rt", strconv.FormatInt(e.Time.UnixMilli(), 10))
	}
	ext("externalId", e.ID)
	ext("act", e.Action)
	ext("cat", string(e.Category))
	ext("outcome", string(e.Outcome))
	if a := e.Actor; a != nil {
		ext("suid", a.ID)
		ext("suser", a.Name)
		if a.Name == "" {
			ext("suser", a.Email)
		}
		ext("spriv", strings.Join(a.Roles, ","))
	}
	for _, t := range e.Targets {
		if t.Type == "user" {
			ext("duid", t.ID)
			ext("duser", t.Name)
			break
		}
	}
	if x := e.Context; x != nil {
		// src is an IPv4 field in CEF; an IPv6 address goes in c6a2.
		if ip, err := netip.ParseAddr(x.IP); err == nil && ip.Is6() && !ip.Is4In6() {
			ext("c6a2", ip.String())
			ext("c6a2Label", "Source IPv6 Address")
		} else if err == nil {
			ext("src", ip.Unmap().String())
		} else {
			ext("src", x.IP)
		}
		ext("requestClientApplication", x.UserAgent)
		ext("requestMethod", x.Method)
		ext("request", x.Path)
	}
	if s := e.Service; s != nil {
		ext("dvchost", s.Host)
		ext("deviceProcessName", s.Name)
	}
	ext("msg", e.Description)
	ext("reason", e.Reason)
	custom := func(key, label, val string) {
		if val != "" {
			ext(key+"Label", label)
			ext(key, val)
		}
	}
	custom("cs1", "tenant", e.Tenant)
	if e.Actor != nil {
		custom("cs2", "actorType", string(e.Actor.Type))
		custom("cs3", "actorEmail", e.Actor.Email)
	}
	if len(e.Targets) > 0 {
		keys := make([]string, len(e.Targets))
		for i, t := range e.Targets {
			keys[i] = t.Key()
		}
		custom("cs4", "targets", strings.Join(keys, " "))
	}
	custom("cs5", "error", e.Error)
	custom("cs6", "leafHash", e.LeafHash)
	custom("cn1", "seq", strconv.FormatInt(e.Seq, 10))
	if e.Context != nil {
		custom("flexString1", "sessionId", e.Context.SessionID)
	}
	if len(e.Metadata) > 0 {
		var m bytes.Buffer
		if json.Compact(&m, e.Metadata) == nil && m.String() != "null" {
			custom("flexString2", "metadata", m.String())
		}
	}
	return b
}

// appendHeader appends a CEF header field: \ and | escaped with a
// backslash; CEF has no escape for line ends in the header, so CR and LF
// become spaces.
func appendHeader(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|':
			b = append(b, '\\', c)
		case '\r', '\n':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendExtension appends a CEF extension value: \ and = escaped with a
// backslash, CR and LF written \r and \n.
func appendExtension(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '=':
			b = append(b, '\\', c)
		case '\r':
			b = append(b, '\\', 'r')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}
