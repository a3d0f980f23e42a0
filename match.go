package hashtrail

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Match reports whether event e, read whole (with its personal values),
// is one that q selects: of q.Tenant (when set), within Since, Until and
// the seq bounds, and matching every term of AllTerms as Term documents.
// Order and Limit do not apply. It is the contract of Query in code: sinks
// and viewer tokens filter events in memory with it, and the conformance
// suite checks stores against it. A term a store would reject (an unknown
// field, an invalid IP) matches nothing.
func (q *Query) Match(e *Event) bool {
	if q.Tenant != "" && e.Tenant != q.Tenant ||
		!q.Since.IsZero() && e.Time.Before(q.Since.Time) ||
		!q.Until.IsZero() && !e.Time.Before(q.Until.Time) ||
		q.AfterSeq != nil && e.Seq <= *q.AfterSeq ||
		q.BeforeSeq != nil && e.Seq >= *q.BeforeSeq {
		return false
	}
	var doc *textDoc
	for _, t := range q.AllTerms() {
		if t.Field == TermText && doc == nil {
			doc = &textDoc{tokens: SearchTokens(SearchText(e))}
		}
		if matchTerm(t, e, doc) == t.Not {
			return false
		}
	}
	return true
}

// matchTerm reports whether e matches any value of t, ignoring t.Not.
func matchTerm(t Term, e *Event, doc *textDoc) bool {
	if t.Field == TermMeta {
		m, ok := metaMember(e.Metadata, t.Key)
		return ok && slices.ContainsFunc(t.Values, func(v string) bool { return metaEqual(m, v) })
	}
	if t.Field == TermText {
		return slices.ContainsFunc(t.Values, doc.has)
	}
	for _, v := range t.Values {
		if matchValue(t.Field, v, e) {
			return true
		}
	}
	return false
}

// matchValue reports whether e matches value v of field f.
func matchValue(f TermField, v string, e *Event) bool {
	p, prefix := strings.CutSuffix(v, "*")
	str := func(s string) bool { // an exact or prefix value against s
		return prefix && strings.HasPrefix(s, p) || !prefix && s == v
	}
	switch f {
	case TermAction:
		return v == "*" || str(e.Action)
	case TermActor:
		k := e.ActorKey()
		switch {
		case k == "":
			return false
		case v == "*":
			return true
		case strings.Contains(v, "@") && !strings.Contains(v, ":"):
			email := strings.ToLower(e.Actor.Email)
			return email != "" && (prefix && strings.HasPrefix(email, strings.ToLower(p)) || !prefix && email == strings.ToLower(v))
		}
		return str(k)
	case TermActorType:
		return e.Actor != nil && e.Actor.Type != "" && (v == "*" || string(e.Actor.Type) == v)
	case TermTarget:
		return slices.ContainsFunc(e.Targets, func(t Target) bool { return v == "*" || str(t.Key()) })
	case TermTargetType:
		return slices.ContainsFunc(e.Targets, func(t Target) bool { return v == "*" || t.Type == v })
	case TermCategory:
		return string(e.Category) == v
	case TermOutcome:
		return string(e.Outcome) == v
	case TermSeverity:
		return string(e.Severity) == v
	case TermIP:
		if e.Context == nil || e.Context.IP == "" {
			return false
		}
		a, err := netip.ParseAddr(e.Context.IP)
		if err != nil {
			return false
		}
		if v == "*" {
			return true
		}
		pf, err := ParseIPFilter(v)
		if err != nil {
			return false
		}
		a = netip.AddrFrom16(a.WithZone("").As16()) // as stores keep it: IPv4 mapped
		if pf.Addr().Is4() {
			return a.Is4In6() && pf.Contains(a.Unmap())
		}
		return pf.Contains(a)
	case TermCountry:
		if e.Context == nil || e.Context.Location == nil || e.Context.Location.Country == "" {
			return false
		}
		return v == "*" || strings.EqualFold(e.Context.Location.Country, v)
	case TermTag:
		return slices.ContainsFunc(e.Tags, func(tag string) bool { return v == "*" || str(tag) })
	case TermID:
		return v == "*" || str(e.ID)
	}
	return false
}

// metaMember returns the metadata member at the dotted path key.
func metaMember(md json.RawMessage, key string) (any, bool) {
	if len(md) == 0 {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(md))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	for part := range strings.SplitSeq(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// metaEqual reports whether metadata member m matches value v (TermMeta).
func metaEqual(m any, v string) bool {
	if v == "*" {
		return true
	}
	switch m := m.(type) {
	case string:
		if p, ok := strings.CutSuffix(v, "*"); ok {
			return strings.HasPrefix(m, p)
		}
		return m == v
	case json.Number:
		if strings.HasSuffix(v, "*") {
			return false
		}
		a, err1 := m.Float64()
		b, err2 := strconv.ParseFloat(v, 64)
		return err1 == nil && err2 == nil && !math.IsInf(b, 0) && a == b
	case bool:
		return v == strconv.FormatBool(m)
	case nil:
		return v == "null"
	}
	return false
}

// SearchText returns the free text of an event read whole (with its
// personal values), which TermText searches: description, actor name,
// actor email, impersonator name, target names, and the string and number
// values of the metadata at any depth (numbers as written), one a line.
// Stores index SearchTokens of it.
func SearchText(e *Event) string {
	var b strings.Builder
	add := func(s string) {
		if s != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
	}
	add(e.Description)
	if a := e.Actor; a != nil {
		add(a.Name)
		add(a.Email)
		if a.Impersonator != nil {
			add(a.Impersonator.Name)
		}
	}
	for _, t := range e.Targets {
		add(t.Name)
	}
	if len(e.Metadata) > 0 {
		d := json.NewDecoder(bytes.NewReader(e.Metadata))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			metaText(v, add)
		}
	}
	return b.String()
}

// metaText adds the string and number values in v, at any depth, members
// in name order.
func metaText(v any, add func(string)) {
	switch v := v.(type) {
	case string:
		add(v)
	case json.Number:
		add(v.String())
	case []any:
		for _, x := range v {
			metaText(x, add)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			metaText(v[k], add)
		}
	}
}

// textDoc is the words of an event's SearchText.
type textDoc struct{ tokens []string }

// has reports whether the doc holds free-text value v: its words in
// sequence, the last one a prefix when v ends in "*".
func (d *textDoc) has(v string) bool {
	p, prefix := strings.CutSuffix(v, "*")
	words := SearchTokens(p)
	if len(words) == 0 {
		return false
	}
	last := len(words) - 1
	for i := 0; i+len(words) <= len(d.tokens); i++ {
		ok := true
		for j, w := range words {
			tok := d.tokens[i+j]
			if j == last && prefix && !strings.HasPrefix(tok, w) || !(j == last && prefix) && tok != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
