package hashtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ConfigRedaction is the tenant document of redaction rules
// (RedactionRules), applied at ingest before the leaf is computed, so the
// stored (and proven) event never holds what they match.
const ConfigRedaction = "redaction"

// RedactedValue replaces a redacted string.
const RedactedValue = "[redacted]"

// RedactedTag marks a redacted event; a tag "redacted:<path>" names each
// redacted path (at most MaxRedactedTags of them, then "redacted:more").
const RedactedTag = "redacted"

// MaxRedactedTags caps the path tags of one event.
const MaxRedactedTags = 16

// RedactionRules is a tenant's redaction document. The zero value (no
// document) is the safe default: secret-named metadata members and every
// built-in value pattern are redacted.
type RedactionRules struct {
	// SecretNames redacts metadata members (at any depth) and changes
	// whose name looks secret (SecretName: password, api_key, token...);
	// nil means true.
	SecretNames *bool `json:"secret_names,omitempty"`
	// Fields are paths always redacted: "metadata.<member>" (dotted),
	// "description", "reason", "error", "context.user_agent".
	Fields []string `json:"fields,omitempty"`
	// Patterns are the built-in value patterns applied to metadata string
	// values, description, reason and error; nil means all of
	// BuiltinPatterns, [] none.
	Patterns []string `json:"patterns"`
	// Custom are extra value patterns (RE2 regular expressions).
	Custom []string `json:"custom,omitempty"`
}

// BuiltinPatterns names the built-in value patterns.
var BuiltinPatterns = []string{"github_token", "slack_token", "aws_access_key", "jwt", "private_key", "card_number"}

var builtinRegexps = map[string]*regexp.Regexp{
	"github_token":   regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
	"slack_token":    regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,250}\b`),
	"aws_access_key": regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`),
	"jwt":            regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b`),
	"private_key":    regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	// Card numbers: 13 to 19 digits, optionally grouped by spaces or
	// dashes; a match is redacted only if it passes the Luhn check.
	"card_number": regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`),
}

// Redactor applies compiled RedactionRules.
type Redactor struct {
	secretNames bool
	fields      []string
	patterns    []*regexp.Regexp
	card        bool
}

// Compile checks r and returns its Redactor; field errors name the member
// at fault ("patterns[1]").
func (r *RedactionRules) Compile() (*Redactor, error) {
	red := &Redactor{secretNames: r.SecretNames == nil || *r.SecretNames, fields: r.Fields}
	var errs []FieldError
	for i, f := range r.Fields {
		if !validRedactField(f) {
			errs = append(errs, FieldError{Field: fmt.Sprintf("fields[%d]", i), Message: "must be metadata.<member>, description, reason, error or context.user_agent"})
		}
	}
	pats := r.Patterns
	if pats == nil {
		pats = BuiltinPatterns
	}
	for i, p := range pats {
		re, ok := builtinRegexps[p]
		switch {
		case !ok:
			errs = append(errs, FieldError{Field: fmt.Sprintf("patterns[%d]", i), Message: "must be one of " + strings.Join(BuiltinPatterns, ", ")})
		case p == "card_number":
			red.card = true
		default:
			red.patterns = append(red.patterns, re)
		}
	}
	for i, c := range r.Custom {
		re, err := regexp.Compile(c)
		if err != nil || len(c) > 1000 {
			errs = append(errs, FieldError{Field: fmt.Sprintf("custom[%d]", i), Message: "must be an RE2 regular expression of at most 1000 bytes"})
			continue
		}
		red.patterns = append(red.patterns, re)
	}
	if len(errs) > 0 {
		return nil, &Error{Code: EINVALID, Message: "invalid redaction rules", Fields: errs}
	}
	return red, nil
}

func validRedactField(f string) bool {
	if m, ok := strings.CutPrefix(f, "metadata."); ok {
		return m != "" && !slices.Contains(strings.Split(m, "."), "")
	}
	return f == "description" || f == "reason" || f == "error" || f == "context.user_agent"
}

// DefaultRedactor is the Redactor of a tenant without a redaction document.
var DefaultRedactor, _ = (&RedactionRules{}).Compile()

// Redact redacts e in place (replacing, never mutating, its shared slices
// and metadata) and returns the paths it redacted; it tags e as described
// at RedactedTag when there are any.
func (r *Redactor) Redact(e *Event) []string {
	if r == nil || !r.secretNames && len(r.fields) == 0 && len(r.patterns) == 0 && !r.card {
		return nil
	}
	var paths []string
	text := func(path string, s *string) {
		if *s == "" || *s == RedactedValue {
			return
		}
		if slices.Contains(r.fields, path) || r.matches(*s) {
			*s = RedactedValue
			paths = append(paths, path)
		}
	}
	text("description", &e.Description)
	text("reason", &e.Reason)
	text("error", &e.Error)
	if e.Context != nil && e.Context.UserAgent != "" && slices.Contains(r.fields, "context.user_agent") {
		c := *e.Context
		c.UserAgent = RedactedValue
		e.Context = &c
		paths = append(paths, "context.user_agent")
	}
	if len(e.Metadata) > 0 && !bytes.Equal(e.Metadata, []byte("null")) {
		var m any
		dec := json.NewDecoder(bytes.NewReader(e.Metadata))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			before := len(paths)
			m = r.redactValue("metadata", "", m, &paths)
			if len(paths) > before {
				if b, err := json.Marshal(m); err == nil {
					e.Metadata = b
				}
			}
		}
	}
	if r.secretNames && len(e.Changes) > 0 {
		var changes []Change
		for i, c := range e.Changes {
			if !c.Redacted && SecretName(lastPart(c.Field)) && (c.Old != nil || c.New != nil) {
				if changes == nil {
					changes = slices.Clone(e.Changes)
				}
				changes[i] = Change{Field: c.Field, Redacted: true}
				paths = append(paths, fmt.Sprintf("changes[%d]", i))
			}
		}
		if changes != nil {
			e.Changes = changes
		}
	}
	if len(paths) > 0 {
		slices.Sort(paths)
		tags := slices.Clone(e.Tags)
		if !slices.Contains(tags, RedactedTag) {
			tags = append(tags, RedactedTag)
		}
		for i, p := range paths {
			if i == MaxRedactedTags {
				tags = append(tags, RedactedTag+":more")
				break
			}
			tags = append(tags, RedactedTag+":"+p)
		}
		if len(tags) > 64 {
			tags = tags[:64]
		}
		e.Tags = tags
	}
	return paths
}

func lastPart(field string) string {
	if i := strings.LastIndexAny(field, "./"); i >= 0 {
		return field[i+1:]
	}
	return field
}

func (r *Redactor) redactValue(path, name string, v any, paths *[]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := path + "." + k
			if val != nil && (r.secretNames && SecretName(k) || slices.Contains(r.fields, p)) {
				if s, ok := val.(string); ok && s == RedactedValue {
					continue
				}
				x[k] = RedactedValue
				*paths = append(*paths, p)
				continue
			}
			x[k] = r.redactValue(p, k, val, paths)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = r.redactValue(fmt.Sprintf("%s[%d]", path, i), name, val, paths)
		}
		return x
	case string:
		if x != RedactedValue && r.matches(x) {
			*paths = append(*paths, path)
			return RedactedValue
		}
	}
	return v
}

// matches reports whether s holds a value a pattern matches.
func (r *Redactor) matches(s string) bool {
	for _, re := range r.patterns {
		if re.MatchString(s) {
			return true
		}
	}
	if r.card {
		for _, m := range builtinRegexps["card_number"].FindAllString(s, -1) {
			if luhn(m) {
				return true
			}
		}
	}
	return false
}

// luhn reports whether the digits of s pass the Luhn check.
func luhn(s string) bool {
	sum, n, double := 0, 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
		double = !double
	}
	return n >= 13 && sum%10 == 0
}

// RedactionDocument is a tenant's redaction rules with the version of the
// stored document (0: none stored, the defaults apply). A PUT names the
// version it replaces.
type RedactionDocument struct {
	Version int64          `json:"version"`
	Rules   RedactionRules `json:"rules"`
}

// RedactionService reads and replaces tenants' redaction rules.
type RedactionService interface {
	RedactionRules(ctx context.Context, tenant string) (*RedactionRules, int64, error)
	SetRedactionRules(ctx context.Context, tenant string, rules *RedactionRules, version int64) (int64, error)
}
