package query

import (
	"strings"
)

// String returns the search in canonical form; see Format.
func (s *Search) String() string { return Format(s) }

// Format writes a search in canonical form: terms in order, separated by
// one space, qualifiers in lower case, values quoted only where they must
// be. Parse(Format(s)) gives s back for any s that Parse returned.
func Format(s *Search) string {
	var b strings.Builder
	for i, t := range s.Terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.Not {
			b.WriteByte('-')
		}
		if t.Field == FieldText {
			v := ""
			if len(t.Values) > 0 {
				v = t.Values[0]
			}
			writeValue(&b, v, true)
			continue
		}
		b.WriteString(qualName(t.Field, t.Key))
		b.WriteByte(':')
		switch {
		case t.Op == OpRange && len(t.Values) == 2:
			b.WriteString(t.Values[0] + ".." + t.Values[1])
		case t.Op != OpEq:
			b.WriteString(t.Op)
			b.WriteString(strings.Join(t.Values, ","))
		default:
			for j, v := range t.Values {
				if j > 0 {
					b.WriteByte(',')
				}
				writeValue(&b, v, false)
			}
		}
	}
	return b.String()
}

// writeValue writes v, quoted if reading it bare would give something
// else. Free text (text) is quoted also where it would read as a negation
// or a qualifier.
func writeValue(b *strings.Builder, v string, text bool) {
	if !needsQuotes(v, text) {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := range len(v) {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

func needsQuotes(v string, text bool) bool {
	if v == "" || v[0] == '"' {
		return true
	}
	if text && (v[0] == '-' || strings.ContainsRune(v, ':')) {
		return true
	}
	for i := range len(v) {
		if isSpace(v[i]) || v[i] == '"' || !text && v[i] == ',' {
			return true
		}
	}
	return false
}
