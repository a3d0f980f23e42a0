package nats

import (
	"fmt"
	"strings"

	"github.com/hashtrail/hashtrail"
)

// subject is a parsed subject template: one part per token, each a literal
// or a placeholder.
type subject []part

type part struct {
	literal string
	field   string // tenant, action, category, severity, outcome, actor_type
}

var placeholders = map[string]bool{
	"tenant": true, "action": true, "category": true, "severity": true,
	"outcome": true, "actor_type": true,
}

func parseSubject(tmpl string) (subject, error) {
	if tmpl == "" {
		return nil, fmt.Errorf("is empty")
	}
	var s subject
	for _, tok := range strings.Split(tmpl, ".") {
		switch {
		case tok == "":
			return nil, fmt.Errorf("has an empty token in %q", tmpl)
		case strings.HasPrefix(tok, "{") && strings.HasSuffix(tok, "}"):
			name := tok[1 : len(tok)-1]
			if !placeholders[name] {
				return nil, fmt.Errorf("has an unknown placeholder %s (use {tenant}, {action}, {category}, {severity}, {outcome}, {actor_type})", tok)
			}
			s = append(s, part{field: name})
		case strings.ContainsAny(tok, "{}"):
			return nil, fmt.Errorf("placeholder must be a whole token: %q", tok)
		case strings.ContainsAny(tok, "*> \t\r\n"):
			return nil, fmt.Errorf("must not hold wildcards or white space: %q", tok)
		default:
			s = append(s, part{literal: tok})
		}
	}
	return s, nil
}

// render writes the subject of e into b.
func (s subject) render(b *strings.Builder, e *hashtrail.Event) {
	b.Reset()
	for i, p := range s {
		if i > 0 {
			b.WriteByte('.')
		}
		switch p.field {
		case "":
			b.WriteString(p.literal)
		case "action":
			// One token per dotted part; an empty part (impossible for a
			// valid action) becomes "_" so no token is ever empty.
			for j, a := range strings.Split(e.Action, ".") {
				if j > 0 {
					b.WriteByte('.')
				}
				writeToken(b, a)
			}
		case "tenant":
			writeToken(b, e.Tenant)
		case "category":
			writeToken(b, string(e.Category))
		case "severity":
			writeToken(b, string(e.Severity))
		case "outcome":
			writeToken(b, string(e.Outcome))
		case "actor_type":
			t := ""
			if e.Actor != nil {
				t = string(e.Actor.Type)
			}
			writeToken(b, t)
		}
	}
}

// Token escapes v into one subject token: ASCII letters, digits, '_' and
// '-' stay; every other byte (the token separator '.', the wildcards '*'
// and '>', white space, '%' itself) becomes %XX, so the escaping is
// reversible and a value can never add tokens or wildcards. An empty value
// becomes "_".
func Token(v string) string {
	var b strings.Builder
	writeToken(&b, v)
	return b.String()
}

func writeToken(b *strings.Builder, v string) {
	if v == "" {
		b.WriteByte('_')
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}
