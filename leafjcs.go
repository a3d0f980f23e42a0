package hashtrail

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// This file writes the leaf and JCS(P_R) as RFC 8785 bytes in one pass,
// without building the JSON first and canonicalizing it afterwards. The
// result must be byte for byte what the reference, jsontext canonicalization
// of encoding/json's output (encodeLeafReference, commitJCSReference in the
// tests), produces; TestLeafJCS and FuzzLeafJCS check it.
//
// RFC 8785 asks for:
//   - object members sorted by the UTF-16 code units of their names (every
//     name written here literally is ASCII, so the code writes them in byte
//     order; names from maps are sorted with compareUTF16);
//   - strings with only '"', '\\' and control characters escaped, the latter
//     as \b \t \n \f \r or \u00xx with lowercase hex: what jsontext.AppendQuote
//     writes (it does not escape <, >, &, U+2028 or U+2029, as RFC 8785
//     requires), refusing invalid UTF-8;
//   - numbers as ECMAScript writes a double: an integer of magnitude at most
//     2^53 is its decimal digits; larger ones go through canonicalJSON;
//   - free JSON (metadata, changes' old and new, personal values) in its own
//     canonical form, spliced in as is when it already is canonical.

// jcsWriter appends RFC 8785 JSON to buf and keeps the first error.
type jcsWriter struct {
	buf []byte
	err error
}

// str writes s as a JSON string.
func (w *jcsWriter) str(s string) {
	var err error
	w.buf, err = jsontext.AppendQuote(w.buf, s)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("the string %.40q is not valid UTF-8", s)
	}
}

// name writes `"name":` for an ASCII name that needs no escaping, preceded
// by a comma unless it is the object's first member.
func (w *jcsWriter) name(first *bool, name string) {
	if *first {
		*first = false
	} else {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '"', ':')
}

// strMember writes the member name: s.
func (w *jcsWriter) strMember(first *bool, name, s string) {
	w.name(first, name)
	w.str(s)
}

// optStr writes the member name: s unless s is empty (omitempty).
func (w *jcsWriter) optStr(first *bool, name, s string) {
	if s != "" {
		w.strMember(first, name, s)
	}
}

// maxExactInt is 2^53: integers up to it in magnitude are doubles that
// ECMAScript writes as their plain decimal digits.
const maxExactInt = 1 << 53

// int writes n as an RFC 8785 number.
func (w *jcsWriter) int(n int64) {
	if n >= -maxExactInt && n <= maxExactInt {
		w.buf = strconv.AppendInt(w.buf, n, 10)
		return
	}
	canon, err := canonicalJSON(strconv.AppendInt(nil, n, 10))
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("the number %d: %w", n, err)
		}
		return
	}
	w.buf = append(w.buf, canon...)
}

// time writes t as a TimeLayout string, or null when zero (as Time.MarshalJSON).
func (w *jcsWriter) time(t Time) {
	if t.IsZero() {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = append(w.buf, '"')
	w.buf = t.Time.UTC().AppendFormat(w.buf, TimeLayout)
	w.buf = append(w.buf, '"')
}

// strs writes a list of strings.
func (w *jcsWriter) strs(list []string) {
	w.buf = append(w.buf, '[')
	for i, s := range list {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.str(s)
	}
	w.buf = append(w.buf, ']')
}

// raw writes a JSON value in its canonical form.
func (w *jcsWriter) raw(v []byte, what string) {
	if isCanonicalScalar(v) {
		w.buf = append(w.buf, v...)
		return
	}
	canon, err := canonicalJSON(v)
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("%s: %w", what, err)
		}
		return
	}
	w.buf = append(w.buf, canon...)
}

// isCanonicalScalar reports, cheaply, whether v is a JSON value that is
// already in RFC 8785 form without any work: a string that needs no escape
// (valid UTF-8, no '"' or '\\' inside, no control character), true, false,
// null, or an integer of at most 15 digits without a leading zero. It
// answers false for anything else, canonical or not.
func isCanonicalScalar(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return false
		}
		s := v[1 : len(v)-1]
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' {
				return false
			}
			if c >= utf8.RuneSelf {
				return utf8.Valid(s[i:]) && noEscapes(s[i:])
			}
		}
		return true
	case 't':
		return string(v) == "true"
	case 'f':
		return string(v) == "false"
	case 'n':
		return string(v) == "null"
	}
	d := v
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && (len(d) > 1 || len(v) > 1)) {
		return false // "-0" is written 0
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// noEscapes reports whether s holds no '"', '\\' or control character.
func noEscapes(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 sorts
// member names. Byte order of UTF-8 is code point order, which differs only
// between a supplementary character (a surrogate pair, 0xD800..0xDFFF) and
// one in U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
			return int(a[i]) - int(b[i])
		}
		// Compare the code units of the rest, from the start of the rune
		// where they differ.
		j := i
		for j > 0 && !utf8.RuneStart(a[j]) {
			j--
		}
		return slices.Compare(utf16.Encode([]rune(a[j:])), utf16.Encode([]rune(b[j:])))
	}
	return len(a) - len(b)
}

// rawObject writes an object of raw JSON values, sorted by name.
func (w *jcsWriter) rawObject(m map[string]json.RawMessage, what string) {
	sortedObject(w, m, func(v json.RawMessage) { w.raw(v, what) })
}

// sortedObject writes an object with m's members in RFC 8785 order, each
// value written by value.
func sortedObject[V any](w *jcsWriter, m map[string]V, value func(V)) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, compareUTF16)
	w.buf = append(w.buf, '{')
	for i, k := range names {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.str(k)
		w.buf = append(w.buf, ':')
		value(m[k])
	}
	w.buf = append(w.buf, '}')
}

// commitJCS returns JCS(P_R) for Commit.
func commitJCS(values map[string]json.RawMessage) ([]byte, error) {
	w := jcsWriter{buf: make([]byte, 0, 64*len(values)+2)}
	w.rawObject(values, "a value")
	if w.err != nil {
		return nil, w.err
	}
	return w.buf, nil
}

// encodeLeaf writes the leaf of an event without personal values.
func encodeLeaf(p *Event, commitments map[string]string) ([]byte, error) {
	w := jcsWriter{buf: make([]byte, 0, 512+len(p.Metadata))}
	f := true
	w.buf = append(w.buf, '{')
	w.strMember(&f, "action", p.Action)
	if a := p.Actor; a != nil {
		w.name(&f, "actor")
		w.actor(a)
	}
	w.strMember(&f, "category", string(p.Category))
	if len(p.Changes) > 0 {
		w.name(&f, "changes")
		w.buf = append(w.buf, '[')
		for i := range p.Changes {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.change(&p.Changes[i], i)
		}
		w.buf = append(w.buf, ']')
	}
	if c := p.Context; c != nil {
		w.name(&f, "context")
		w.context(c)
	}
	w.optStr(&f, "description", p.Description)
	w.optStr(&f, "error", p.Error)
	w.strMember(&f, "id", p.ID)
	if len(p.Metadata) > 0 {
		w.name(&f, "metadata")
		w.raw(p.Metadata, "metadata")
	}
	w.strMember(&f, "outcome", string(p.Outcome))
	if o := p.Output; o != nil {
		w.name(&f, "output")
		g := true
		w.buf = append(w.buf, '{')
		w.strMember(&g, "command", o.Command)
		if o.ExitCode != nil {
			w.name(&g, "exit_code")
			w.int(int64(*o.ExitCode))
		}
		w.optStr(&g, "stderr", o.Stderr)
		w.optStr(&g, "stdout", o.Stdout)
		w.buf = append(w.buf, '}')
	}
	if len(commitments) > 0 {
		w.name(&f, "pii")
		sortedObject(&w, commitments, w.str)
	}
	w.optStr(&f, "reason", p.Reason)
	w.name(&f, "received_at")
	w.time(p.ReceivedAt)
	w.name(&f, "seq")
	w.int(p.Seq)
	if s := p.Service; s != nil {
		w.name(&f, "service")
		g := true
		w.buf = append(w.buf, '{')
		w.optStr(&g, "environment", s.Environment)
		w.optStr(&g, "host", s.Host)
		w.optStr(&g, "name", s.Name)
		w.optStr(&g, "version", s.Version)
		w.buf = append(w.buf, '}')
	}
	w.strMember(&f, "severity", string(p.Severity))
	if len(p.Tags) > 0 {
		w.name(&f, "tags")
		w.strs(p.Tags)
	}
	if len(p.Targets) > 0 {
		w.name(&f, "targets")
		w.buf = append(w.buf, '[')
		for i, t := range p.Targets {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			g := true
			w.buf = append(w.buf, '{')
			w.strMember(&g, "id", t.ID)
			w.optStr(&g, "name", t.Name)
			w.strMember(&g, "type", t.Type)
			w.buf = append(w.buf, '}')
		}
		w.buf = append(w.buf, ']')
	}
	w.strMember(&f, "tenant", p.Tenant)
	w.name(&f, "time")
	w.time(p.Time)
	w.name(&f, "v")
	w.int(LeafVersion)
	w.buf = append(w.buf, '}')
	if w.err != nil {
		return nil, Errorf(EINVALID, "leaf: the event cannot be canonicalized: %s", w.err)
	}
	return w.buf, nil
}

func (w *jcsWriter) actor(a *Actor) {
	f := true
	w.buf = append(w.buf, '{')
	if au := a.Auth; au != nil {
		w.name(&f, "auth")
		g := true
		w.buf = append(w.buf, '{')
		w.optStr(&g, "credential_id", au.CredentialID)
		w.optStr(&g, "method", au.Method)
		if au.MFA != nil {
			w.name(&g, "mfa")
			w.buf = strconv.AppendBool(w.buf, *au.MFA)
		}
		w.optStr(&g, "provider", au.Provider)
		w.buf = append(w.buf, '}')
	}
	w.optStr(&f, "email", a.Email)
	w.optStr(&f, "id", a.ID)
	if im := a.Impersonator; im != nil {
		w.name(&f, "impersonator")
		g := true
		w.buf = append(w.buf, '{')
		w.optStr(&g, "id", im.ID)
		w.optStr(&g, "name", im.Name)
		w.strMember(&g, "type", string(im.Type))
		w.buf = append(w.buf, '}')
	}
	w.optStr(&f, "name", a.Name)
	if len(a.Roles) > 0 {
		w.name(&f, "roles")
		w.strs(a.Roles)
	}
	w.strMember(&f, "type", string(a.Type))
	w.buf = append(w.buf, '}')
}

func (w *jcsWriter) context(c *Context) {
	f := true
	w.buf = append(w.buf, '{')
	w.optStr(&f, "ip", c.IP)
	if c.Location != nil {
		w.name(&f, "location")
		w.location(c.Location)
	}
	w.optStr(&f, "method", c.Method)
	w.optStr(&f, "path", c.Path)
	w.optStr(&f, "request_id", c.RequestID)
	w.optStr(&f, "session_id", c.SessionID)
	w.optStr(&f, "source", c.Source)
	w.optStr(&f, "trace_id", c.TraceID)
	w.optStr(&f, "user_agent", c.UserAgent)
	w.buf = append(w.buf, '}')
}

func (w *jcsWriter) change(c *Change, i int) {
	f := true
	w.buf = append(w.buf, '{')
	w.strMember(&f, "field", c.Field)
	if len(c.New) > 0 {
		w.name(&f, "new")
		w.raw(c.New, "changes["+strconv.Itoa(i)+"].new")
	}
	if len(c.Old) > 0 {
		w.name(&f, "old")
		w.raw(c.Old, "changes["+strconv.Itoa(i)+"].old")
	}
	if c.Redacted {
		w.name(&f, "redacted")
		w.buf = append(w.buf, "true"...)
	}
	w.buf = append(w.buf, '}')
}

func (w *jcsWriter) location(l *Location) {
	g := true
	w.buf = append(w.buf, '{')
	w.optStr(&g, "city", l.City)
	w.optStr(&g, "country", l.Country)
	w.optStr(&g, "region", l.Region)
	w.buf = append(w.buf, '}')
}
