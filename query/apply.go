package query

import (
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Apply adds the conditions of s to q: every term but created: becomes a
// hashtrail.Term (severity comparisons expanded to the severities they
// select, countries upper-cased); created: narrows q.Since and q.Until
// (each bound kept if it is already narrower), so s ANDs with whatever q
// held. A search that Parse returned always applies.
func (s *Search) Apply(q *hashtrail.Query) {
	for _, t := range s.Terms {
		switch t.Field {
		case FieldCreated:
			since, until := createdBounds(t)
			if !since.IsZero() && (q.Since.IsZero() || since.After(q.Since.Time)) {
				q.Since = hashtrail.NewTime(since)
			}
			if !until.IsZero() && (q.Until.IsZero() || until.Before(q.Until.Time)) {
				q.Until = hashtrail.NewTime(until)
			}
		case FieldSeverity:
			vals := t.Values
			if t.Op != OpEq && len(t.Values) == 1 {
				vals = severities(t.Op, t.Values[0])
			}
			q.Terms = append(q.Terms, hashtrail.Term{Field: hashtrail.TermSeverity, Values: vals, Not: t.Not})
		case FieldCountry:
			vals := make([]string, len(t.Values))
			for i, v := range t.Values {
				vals[i] = strings.ToUpper(v)
			}
			q.Terms = append(q.Terms, hashtrail.Term{Field: hashtrail.TermCountry, Values: vals, Not: t.Not})
		default:
			f := hashtrail.TermField(t.Field)
			if t.Field == FieldText {
				f = hashtrail.TermText
			}
			q.Terms = append(q.Terms, hashtrail.Term{Field: f, Key: t.Key, Values: append([]string(nil), t.Values...), Not: t.Not})
		}
	}
}

// createdBounds returns the interval [since, until) a created: term
// selects; a zero time is no bound.
func createdBounds(t Term) (since, until time.Time) {
	if len(t.Values) == 0 {
		return
	}
	lo, hi, err := timeBounds(t.Values[0])
	if err != nil && t.Op != OpRange {
		return
	}
	switch t.Op {
	case OpGE:
		return lo, time.Time{}
	case OpGT:
		return hi, time.Time{}
	case OpLT:
		return time.Time{}, lo
	case OpLE:
		return time.Time{}, hi
	case OpRange:
		if len(t.Values) != 2 {
			return
		}
		if err == nil {
			since = lo
		}
		if _, h, err := timeBounds(t.Values[1]); err == nil {
			until = h
		}
		return since, until
	}
	return lo, hi
}

// FromTerms returns the search that Apply would turn into terms, so that
// terms can travel as search text (a client sends a Query's Terms as q).
// Free-text alternatives (a TermText with several values), which the
// syntax cannot write, are an error.
func FromTerms(terms []hashtrail.Term) (*Search, error) {
	s := &Search{}
	for _, t := range terms {
		if len(t.Values) == 0 {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "a %s term without values", t.Field)
		}
		st := Term{Not: t.Not, Field: string(t.Field), Key: t.Key, Values: append([]string(nil), t.Values...)}
		if t.Field == hashtrail.TermText {
			if len(t.Values) != 1 {
				return nil, hashtrail.Errorf(hashtrail.EINVALID, "free-text alternatives cannot be written as a search")
			}
			st.Field = FieldText
		}
		s.Terms = append(s.Terms, st)
	}
	return s, nil
}
