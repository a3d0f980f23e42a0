package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// parser reads one search.
type parser struct {
	s     string
	i     int // byte offset of the next character
	terms []Term
}

func (p *parser) fail(off int, format string, args ...any) error {
	return &posError{s: p.s, off: off, msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isQualChar reports whether c may appear in a qualifier name.
func isQualChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func (p *parser) parse() error {
	if len(p.s) > MaxLength {
		return p.fail(MaxLength, "the search is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(p.s) {
		for i := 0; i < len(p.s); {
			r, n := utf8.DecodeRuneInString(p.s[i:])
			if r == utf8.RuneError && n == 1 {
				return p.fail(i, "the search is not valid UTF-8")
			}
			i += n
		}
	}
	for {
		for p.i < len(p.s) && isSpace(p.s[p.i]) {
			p.i++
		}
		if p.i >= len(p.s) {
			return nil
		}
		if len(p.terms) == MaxTerms {
			return p.fail(p.i, "the search has more than %d terms", MaxTerms)
		}
		t, err := p.term()
		if err != nil {
			return err
		}
		p.terms = append(p.terms, t)
	}
}

// value is one value as read, with its offset for errors.
type value struct {
	s   string
	off int
}

// term reads one term at p.i.
func (p *parser) term() (Term, error) {
	start := p.i
	var t Term
	if p.s[p.i] == '-' {
		t.Not = true
		p.i++
		if p.i >= len(p.s) || isSpace(p.s[p.i]) {
			return t, p.fail(start, `"-" must be followed by the term it negates, with no space`)
		}
		if p.s[p.i] == '-' {
			return t, p.fail(p.i, `a term is negated by one "-"`)
		}
	}
	if p.s[p.i] == '"' {
		off := p.i
		v, err := p.quoted()
		if err != nil {
			return t, err
		}
		if err := p.endOfTerm(); err != nil {
			return t, err
		}
		t.Field, t.Values = FieldText, []string{v}
		return t, checkText(p, value{v, off})
	}
	j := p.i
	for j < len(p.s) && isQualChar(p.s[j]) {
		j++
	}
	if j > p.i && j < len(p.s) && p.s[j] == ':' {
		return p.qualified(t, p.i, p.s[p.i:j], j+1)
	}
	// A bare word: up to the next space.
	off := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) {
		if p.s[p.i] == '"' {
			return t, p.fail(p.i, `a quote inside a word; put the whole phrase in quotes`)
		}
		p.i++
	}
	w := p.s[off:p.i]
	t.Field, t.Values = FieldText, []string{w}
	return t, checkText(p, value{w, off})
}

// endOfTerm checks that a term ends at p.i.
func (p *parser) endOfTerm() error {
	if p.i < len(p.s) && !isSpace(p.s[p.i]) {
		return p.fail(p.i, "a space must follow a quoted phrase or value")
	}
	return nil
}

// quoted reads a "..." string at p.i with \" and \\ escapes.
func (p *parser) quoted() (string, error) {
	open := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '"':
			p.i++
			return b.String(), nil
		case '\\':
			if p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\') {
				b.WriteByte(p.s[p.i+1])
				p.i += 2
				continue
			}
			return "", p.fail(p.i, `a backslash in quotes escapes only \" or \\`)
		}
		b.WriteByte(c)
		p.i++
	}
	return "", p.fail(open, "unterminated quote")
}

// qualified reads the values of the qualifier name (at off) that start at
// byte v, and checks them.
func (p *parser) qualified(t Term, off int, name string, v int) (Term, error) {
	field, key, err := p.qualifier(off, name)
	if err != nil {
		return t, err
	}
	t.Field, t.Key = field, key
	p.i = v
	var vals []value
	for {
		if p.i >= len(p.s) || isSpace(p.s[p.i]) || p.s[p.i] == ',' {
			what := "a value"
			if len(vals) > 0 {
				what = "another value after the comma"
			}
			return t, p.fail(p.i, "%s: empty value; give %s (or quote an empty one: \"\")", qualName(field, key), what)
		}
		voff := p.i
		var s string
		if p.s[p.i] == '"' {
			if s, err = p.quoted(); err != nil {
				return t, err
			}
		} else {
			for p.i < len(p.s) && !isSpace(p.s[p.i]) && p.s[p.i] != ',' {
				if p.s[p.i] == '"' {
					return t, p.fail(p.i, "a quote inside a value; quote the whole value")
				}
				p.i++
			}
			s = p.s[voff:p.i]
		}
		vals = append(vals, value{s, voff})
		if len(vals) > MaxValues {
			return t, p.fail(voff, "%s: more than %d values", qualName(field, key), MaxValues)
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if err := p.endOfTerm(); err != nil {
			return t, err
		}
		break
	}
	return t, p.check(&t, off, vals)
}

// qualifier resolves a qualifier name.
func (p *parser) qualifier(off int, name string) (field, key string, err error) {
	lower := strings.ToLower(name)
	if k, ok := strings.CutPrefix(lower, "meta."); ok && k != "" {
		key = name[len("meta."):]
		for part := range strings.SplitSeq(key, ".") {
			if part == "" {
				return "", "", p.fail(off, "meta.%s: empty member name in the path", key)
			}
		}
		return FieldMeta, key, nil
	}
	for _, q := range qualifiers {
		if lower == q {
			return q, "", nil
		}
	}
	if lower == "meta" {
		return "", "", p.fail(off, `meta needs a member name: meta.KEY:value, such as meta.plan:pro`)
	}
	msg := fmt.Sprintf("unknown qualifier %q", name)
	if s := suggest(lower); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += "; to search for it as text, quote it"
	}
	return "", "", p.fail(off, "%s", msg)
}

// qualName is the qualifier as written in messages.
func qualName(field, key string) string {
	if field == FieldMeta {
		return "meta." + key
	}
	return field
}

// suggest returns the qualifier closest to name, if close enough.
func suggest(name string) string {
	best, dist := "", 3
	for _, q := range append(qualifiers, "meta") {
		if d := editDistance(name, q); d < dist {
			best, dist = q, d
		}
	}
	if best == "" && strings.HasPrefix(name, "metadata.") {
		return "meta." + strings.TrimPrefix(name, "metadata.")
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
